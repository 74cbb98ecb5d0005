//! Near-duplicates across sets: nearest-neighbour search over composition vectors finds the
//! candidates, and the edit distance between the sequences (in both orientations) decides.
//!
//! The graph search keeps the work near-linear: 100,000 x 100,000 sequences cost one graph
//! build and 100,000 searches of `neighbours` candidates each, not 10^10 comparisons. A pair
//! the composition vectors do not rank among a test sequence's nearest is missed; near-
//! identical sequences have near-identical k-mer spectra, so this is rare.

use rayon::prelude::*;
use triple_accel::levenshtein::levenshtein_simd_k;

use super::QcOptions;
use crate::embed;
use crate::progress;
use crate::seq::{reverse_complement, SeqRecord};
use crate::store::{build_graph, GraphLayout, GraphParams, GraphSearch, Metric, Scorer};
use crate::Result;

/// The method as the report states it (`{k}`: neighbours examined).
pub const METHOD: &str = "candidates: the {k} nearest training records of each test record by \
    composition vector (k-mer spectra k=1..5, reverse-complement canonical; HNSW search); \
    verified: identity = 1 - Levenshtein distance / shorter length, the better of both \
    orientations";

/// A verified near-duplicate pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    /// Index of the test record.
    pub test: usize,
    /// Index of the training record.
    pub train: usize,
    /// 1 − edits / shorter length.
    pub identity: f64,
}

/// A set's composition vectors and the neighbour graph over them, built once and searched by
/// the set itself (near-duplicates within) and by another set (across).
pub struct Index<'a> {
    records: &'a [SeqRecord],
    rows: Vec<f32>,
    dim: usize,
    layout: GraphLayout,
}

impl<'a> Index<'a> {
    /// Embeds `records` and builds the graph over them.
    pub fn build(records: &'a [SeqRecord]) -> Result<Self> {
        let embedder = embed::from_spec("composition")?;
        progress::phase("embed", None);
        let rows = embed_prepared(embedder.as_ref(), records)?;
        progress::phase("build the neighbour graph", None);
        let ids: Vec<u64> = (0..records.len() as u64).collect();
        let dim = embedder.dim();
        let layout = build_graph(&ids, &rows, dim, &GraphParams::default());
        Ok(Index {
            records,
            rows,
            dim,
            layout,
        })
    }

    /// Every (query, indexed record) pair at or above the threshold among each query's
    /// nearest indexed records, ordered by query, then record. The queries are another
    /// index's records (or this one's), so their vectors are not computed again.
    pub fn pairs(&self, queries: &Index, opts: QcOptions) -> Result<Vec<Pair>> {
        let (vectors, queries) = (&queries.rows, queries.records);
        if self.records.is_empty() || queries.is_empty() {
            return Ok(Vec::new());
        }
        progress::phase("search and verify", Some(queries.len() as u64));
        let dim = self.dim;
        let mut pairs: Vec<Pair> = (0..queries.len())
            .into_par_iter()
            .flat_map_iter(|q| {
                let query = &vectors[q * dim..(q + 1) * dim];
                let seq = queries[q].seq.as_bytes();
                self.nearest(query, opts.neighbours)
                    .into_iter()
                    .filter_map(move |r| {
                        let other = self.records[r].seq.as_bytes();
                        identity(seq, other, opts.identity).map(|identity| Pair {
                            test: q,
                            train: r,
                            identity,
                        })
                    })
            })
            .collect();
        progress::finish();
        pairs.sort_by_key(|p| (p.test, p.train));
        Ok(pairs)
    }

    /// The `k` indexed records nearest to a prepared query vector.
    fn nearest(&self, query: &[f32], k: usize) -> Vec<usize> {
        let scorer = Scorer::Float {
            query,
            rows: &self.rows,
            dim: self.dim,
            metric: Metric::Cosine,
        };
        let search = GraphSearch {
            layout: &self.layout,
            scorer: &scorer,
        };
        let k = k.max(1);
        let found = search.search(k, k.max(64), &|_| true);
        found.into_iter().map(|(node, _)| node as usize).collect()
    }
}

/// Rows of unit-norm composition vectors, as a cosine collection stores them.
fn embed_prepared(embedder: &dyn embed::Embedder, records: &[SeqRecord]) -> Result<Vec<f32>> {
    let seqs: Vec<&[u8]> = records.iter().map(|r| r.seq.as_bytes()).collect();
    let mut out = Vec::with_capacity(records.len() * embedder.dim());
    for chunk in seqs.chunks(4096) {
        for mut v in embedder.embed_batch(chunk)? {
            Metric::Cosine.prepare(&mut v);
            out.extend(v);
        }
    }
    Ok(out)
}

/// The identity of two sequences when it reaches `least`, the better of both orientations.
pub fn identity(a: &[u8], b: &[u8], least: f64) -> Option<f64> {
    let shorter = a.len().min(b.len());
    if shorter == 0 {
        return None;
    }
    // The most edits the threshold allows; the length difference alone costs edits too.
    let budget = ((1.0 - least) * shorter as f64 + 1e-9).floor() as u32;
    let forward = levenshtein_simd_k(a, b, budget);
    let reverse = levenshtein_simd_k(&reverse_complement(a), b, budget);
    let edits = match (forward, reverse) {
        (Some(f), Some(r)) => f.min(r),
        (Some(e), None) | (None, Some(e)) => e,
        (None, None) => return None,
    };
    Some(1.0 - edits as f64 / shorter as f64)
}
