//! Waiting for Milvus to settle after a write. Milvus answers first from the growing segment
//! that took the inserts, then hands the rows over to a sealed segment once its index is
//! built, seconds later and on its own schedule. Each stage can return different approximate
//! neighbours for the same query, so a command that returned before the hand-over would leave
//! answers that change with the time they are asked. So every search skips growing segments
//! (rows are found once they are sealed and indexed), and `index` waits here, after its flush,
//! until that has happened, before it trains and returns: a classifier tuned on the
//! neighbours Milvus gives, and answers that depend only on what is stored.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use milvus::proto::common::SegmentState;
use milvus::query::SearchOptions;
use milvus::value::Value;

use super::client::{remote, MilvusCollection};
use super::schema::VECTOR;
use crate::Result;

/// How often the segments and the probe are checked.
const POLL: Duration = Duration::from_secs(1);
/// How long the probe must answer the same once settled, in case a hand-over is under way.
const STEADY: Duration = Duration::from_secs(2);
/// Neighbours asked for by the probe.
const PROBE_K: usize = 100;
/// Queries in the probe.
const PROBE_QUERIES: usize = 16;

/// Random directions, the same on every call. Far from the stored vectors, an HNSW search
/// misses many of the exact nearest ones, so its answer tells an indexed segment from one
/// Milvus still scans row by row (which the stored vectors themselves would not).
fn probe_queries(dim: usize) -> Vec<Vec<f32>> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x5e771e);
    (0..PROBE_QUERIES)
        .map(|_| (0..dim).map(|_| rng.gen_range(-1.0f32..1.0)).collect())
        .collect()
}

/// A probe's answer: each query's neighbour ids and scores (as bits, to compare exactly).
type Answer = Vec<(i64, u32)>;

impl MilvusCollection {
    /// Waits until Milvus serves every stored row from an indexed segment: every flushed
    /// segment is loaded, and a search (of sealed segments, as every search is) for the probe
    /// answers the same for `STEADY`. Returns whether that happened within `limit`; the
    /// caller reports it when not.
    pub fn settle(&self, limit: Duration) -> Result<bool> {
        let probe = probe_queries(self.config.dim);
        let probe = probe.as_slice();
        let start = Instant::now();
        let mut steady: Option<(Instant, Answer)> = None;
        while start.elapsed() < limit {
            let settled = match self.indexed_and_loaded()? {
                // Searches skip growing segments: an answer means the sealed ones are served.
                true => self.probe(probe).ok(),
                false => None,
            };
            match (settled, &steady) {
                (Some(answer), Some((since, last))) if *last == answer => {
                    if since.elapsed() >= STEADY {
                        return Ok(true);
                    }
                }
                (Some(answer), _) => steady = Some((Instant::now(), answer)),
                (None, _) => steady = None,
            }
            std::thread::sleep(POLL);
        }
        Ok(false)
    }

    fn probe(&self, probe: &[Vec<f32>]) -> Result<Answer> {
        let options = SearchOptions::new()
            .limit(PROBE_K)
            .anns_field(vec![VECTOR.to_string()])
            .add_param("metric_type", "COSINE")
            .add_param("ef", self.config.graph.ef_search.max(PROBE_K).to_string())
            .add_param("ignore_growing", "true");
        let data: Vec<Value> = probe.iter().map(|q| Value::from(q.clone())).collect();
        let results = self
            .rt
            .block_on(self.client.search(&self.uri.name, data, Some(options)))
            .map_err(|e| remote(&self.uri, e))?;
        Ok(results
            .into_iter()
            .flat_map(|r| {
                let scores: Vec<u32> = r.score.iter().map(|s| s.to_bits()).collect();
                r.id.iter()
                    .map(|id| match id {
                        Value::Long(id) => *id,
                        _ => -1,
                    })
                    .zip(scores)
                    .collect::<Vec<_>>()
            })
            .collect())
    }
    /// Whether every flushed segment (and no other) is loaded, and nothing is still waiting
    /// to be flushed.
    fn indexed_and_loaded(&self) -> Result<bool> {
        let name = self.uri.name.as_str();
        let (persistent, loaded) = self
            .rt
            .block_on(async {
                let p = self.client.list_persistent_segments(name).await?;
                let l = self.client.list_loaded_segments(name).await?;
                Ok::<_, milvus::error::Error>((p, l))
            })
            .map_err(|e| remote(&self.uri, e))?;
        let mut flushed = HashSet::new();
        for s in &persistent {
            match s.state {
                SegmentState::Flushed if s.num_rows > 0 => {
                    flushed.insert(s.segment_id);
                }
                SegmentState::Flushed | SegmentState::Dropped => {}
                _ => return Ok(false),
            }
        }
        // Milvus loads a flushed segment once its index is built (or at once when it is too
        // small to be indexed, and then scans it), so loaded means searchable as it will stay.
        let loaded: HashSet<i64> = loaded
            .iter()
            .filter(|s| s.num_rows > 0)
            .map(|s| s.segment_id)
            .collect();
        Ok(loaded == flushed)
    }
}
