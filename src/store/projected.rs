//! How a collection searches (graph, projection or an exact scan of the tail alone), and
//! the search by projection of `project.rs` over a collection's rows.

use serde::Serialize;

use super::collection::{Collection, Hit};
use super::project::{self, Projection, DIMS};
use crate::Result;

/// How a collection finds its candidates, as `info` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum SearchMethod {
    /// No graph yet: every record is in the tail, scanned exactly.
    Exact,
    /// The HNSW graph (beam width `ef`), then the tail.
    Graph,
    /// The graph rows by projection onto `directions` principal directions, grouped in
    /// `lists` inverted lists of which the `probed` nearest are scanned (every list for a
    /// filtered search), then the best `widen * max(ef, k)` candidates ranked exactly, then
    /// the tail (see README, "Search").
    Projection {
        /// Principal directions.
        directions: usize,
        /// Candidates ranked exactly per max(ef, k).
        widen: usize,
        /// Inverted lists.
        lists: usize,
        /// Lists scanned by an unfiltered query.
        probed: usize,
    },
}

impl std::fmt::Display for SearchMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SearchMethod::Exact => write!(f, "exact scan"),
            SearchMethod::Graph => write!(f, "graph"),
            SearchMethod::Projection {
                directions,
                widen,
                lists,
                probed,
            } => write!(
                f,
                "projection onto {directions} directions, the nearest {probed} of {lists} lists \
                 scanned, {widen} x max(ef, k) candidates ranked exactly"
            ),
        }
    }
}

impl Collection {
    /// How this collection searches. A collection that may search by projection fits it
    /// here if no search has yet (what its first search would do).
    pub fn search_method(&self) -> Result<SearchMethod> {
        if self.graph.is_none() {
            return Ok(SearchMethod::Exact);
        }
        Ok(match self.projection()? {
            Some(p) => {
                let (lists, probed) = p.lists();
                SearchMethod::Projection {
                    directions: DIMS,
                    widen: p.widen(),
                    lists,
                    probed,
                }
            }
            None => SearchMethod::Graph,
        })
    }

    /// The projection of the graph rows, when the collection searches by one (see
    /// `project.rs`): fitted at the first search after an open or a graph change. A
    /// collection opened for queries first waits until its vectors are all read, so that
    /// its answers are the same as after a full open.
    pub(super) fn projection(&self) -> Result<Option<&Projection>> {
        let Some(graph) = &self.graph else {
            return Ok(None);
        };
        let (n, dim) = (graph.len(), self.config.dim);
        if !project::eligible(n, dim, self.vectors.quant.is_some()) {
            return Ok(None);
        }
        let data = match &self.pending {
            Some(pending) => &pending.wait()?.floats,
            None => &self.vectors.data,
        };
        let fit = || Projection::fit(&data[..n * dim], dim, self.config.graph.ef_search);
        Ok(self.flat.get_or_init(fit).as_ref())
    }

    /// The graph rows' best accepted candidates by projected estimate (a calibrated multiple
    /// of `max(ef, k)`, see [`Projection::candidate_count`]; from every list when
    /// `every_list`, see [`Projection::candidates`]), ranked
    /// by their exact distances together with the exactly scanned tail. A candidate whose
    /// lower bound is already past the k-th exact distance found so far cannot be among the
    /// `k`, and is skipped: the result is that of scoring every candidate.
    pub(super) fn projected_search(
        &self,
        projection: &Projection,
        query: &[f32],
        k: usize,
        ef: usize,
        accept: &dyn Fn(u32) -> bool,
        every_list: bool,
    ) -> Result<Vec<Hit>> {
        let scorer = self.scorer(self.view()?, query, None);
        let metric = self.config.metric;
        let mut best: Vec<(u32, f32)> = Vec::with_capacity(k + 1);
        let count = projection.candidate_count(k, ef);
        let candidates = projection.candidates(query, count, accept, every_list);
        for (i, c) in candidates.iter().enumerate() {
            if let Some(next) = candidates.get(i + 1) {
                scorer.prefetch_row(next.row);
            }
            if best.len() == k && metric.from_squared_l2(c.bound) > best[k - 1].1 {
                continue;
            }
            let found = (c.row, scorer.distance(c.row));
            let at =
                best.partition_point(|b| b.1.total_cmp(&found.1).then(b.0.cmp(&found.0)).is_lt());
            best.insert(at, found);
            best.truncate(k);
        }
        best.extend(scorer.top_k(projection.rows(), k, accept));
        Ok(self.to_hits(best, k))
    }
}
