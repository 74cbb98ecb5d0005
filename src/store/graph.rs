//! The HNSW graph in genovec's flat layout: built by [`build`], stored in the collection file
//! in the same transaction as the data it indexes, and searched here against the collection's
//! contiguous vectors.
//!
//! [`GraphLayout`] is flat, padded layer-0 adjacency plus small upper-layer lists; the builder
//! grows it in place and the searcher walks it with the same beam search.

mod beam;
mod build;

use serde::{Deserialize, Serialize};

use self::beam::{Layer, Scored};
use super::score::Scorer;

/// Marks an unused slot in the padded layer-0 adjacency.
const NO_NODE: u32 = u32::MAX;

/// Construction and search parameters of the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphParams {
    /// Links per node on upper layers; layer 0 keeps up to `2 * m`.
    pub m: usize,
    /// Beam width while building.
    pub ef_construction: usize,
    /// Default beam width while searching (raised to k when smaller).
    pub ef_search: usize,
}

impl Default for GraphParams {
    fn default() -> Self {
        GraphParams {
            m: 16,
            ef_construction: 200,
            ef_search: 64,
        }
    }
}

/// A built graph over nodes `0..n`, where node `i` is the i-th vector it was built from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphLayout {
    /// Record id of each node; ascending.
    pub ids: Vec<u64>,
    /// Node where every search starts (one of the top-level nodes).
    pub entry: u32,
    /// Highest level of any node.
    pub top_level: u8,
    /// Layer-0 slots per node (`2 * m`).
    pub m0: u32,
    /// Layer-0 neighbours, `n * m0`, padded with `u32::MAX`.
    pub adj0: Vec<u32>,
    /// Level of each node.
    pub levels: Vec<u8>,
    /// For a node with level >= 1, index of its level-1 range in `upper_ranges`; levels
    /// follow consecutively. `u32::MAX` for level-0 nodes.
    pub upper_slot: Vec<u32>,
    /// `[start, end)` into `upper_adj` for each (node, level >= 1).
    pub upper_ranges: Vec<[u32; 2]>,
    /// Upper-layer neighbour lists, concatenated.
    pub upper_adj: Vec<u32>,
}

impl GraphLayout {
    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True for a graph with no nodes.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Node's padded layer-0 slots.
    fn slots0(&self, node: u32) -> &[u32] {
        let start = node as usize * self.m0 as usize;
        &self.adj0[start..start + self.m0 as usize]
    }

    fn neighbours0(&self, node: u32) -> &[u32] {
        let row = self.slots0(node);
        let used = row.iter().position(|&x| x == NO_NODE).unwrap_or(row.len());
        &row[..used]
    }

    fn neighbours_upper(&self, node: u32, level: u8) -> &[u32] {
        let slot = self.upper_slot[node as usize];
        if slot == NO_NODE || level > self.levels[node as usize] {
            return &[];
        }
        let [start, end] = self.upper_ranges[slot as usize + level as usize - 1];
        &self.upper_adj[start as usize..end as usize]
    }

    /// Checks the internal invariants; a layout read from disk must pass before use.
    pub fn validate(&self, dim_vectors: usize) -> Result<(), String> {
        let n = self.len();
        let ok = self.adj0.len() == n * self.m0 as usize
            && self.levels.len() == n
            && self.upper_slot.len() == n
            && (n == 0 || (self.entry as usize) < n)
            && dim_vectors == n
            && self.adj0.iter().all(|&x| x == NO_NODE || (x as usize) < n)
            && self.upper_adj.iter().all(|&x| (x as usize) < n)
            && self
                .upper_ranges
                .iter()
                .all(|r| r[0] <= r[1] && r[1] as usize <= self.upper_adj.len());
        if ok {
            Ok(())
        } else {
            Err(format!(
                "graph layout of {n} nodes is inconsistent with {dim_vectors} vectors"
            ))
        }
    }
}

/// Builds a graph over `data` (`n * dim`, row i = node i); see [`build`](self::build::build).
pub use self::build::{build, extend};

fn empty_layout(params: &GraphParams) -> GraphLayout {
    GraphLayout {
        ids: vec![],
        entry: 0,
        top_level: 0,
        m0: 2 * params.m as u32,
        adj0: vec![],
        levels: vec![],
        upper_slot: vec![],
        upper_ranges: vec![],
        upper_adj: vec![],
    }
}

/// Searches a layout for one query, scored against the layout's rows.
pub struct GraphSearch<'a> {
    /// The graph.
    pub layout: &'a GraphLayout,
    /// The query and the node rows (row i = node i).
    pub scorer: &'a Scorer<'a>,
}

impl GraphSearch<'_> {
    /// Up to `k` accepted nodes nearest to the query, ascending by distance.
    ///
    /// Rejected nodes (deleted, or outside a label filter) are still traversed, so a filter
    /// narrows the results without cutting the graph.
    pub fn search(&self, k: usize, ef: usize, accept: &dyn Fn(u32) -> bool) -> Vec<(u32, f32)> {
        if self.layout.is_empty() || k == 0 {
            return Vec::new();
        }
        let layer = |level| SearchLayer {
            search: self,
            level,
        };
        let entry = self.layout.entry;
        let mut best = Scored(self.scorer.distance(entry), entry);
        for level in (1..=self.layout.top_level).rev() {
            best = beam::greedy(&layer(level), best);
        }
        let mut found = beam::beam_search(&layer(0), best, ef.max(k), accept);
        found.truncate(k);
        found.into_iter().map(|s| (s.1, s.0)).collect()
    }
}

/// One layer of a stored graph, seen from one query.
struct SearchLayer<'s, 'a> {
    search: &'s GraphSearch<'a>,
    level: u8,
}

impl Layer for SearchLayer<'_, '_> {
    fn capacity(&self) -> usize {
        self.search.layout.len()
    }
    fn links(&self, node: u32) -> &[u32] {
        match self.level {
            0 => self.search.layout.neighbours0(node),
            level => self.search.layout.neighbours_upper(node, level),
        }
    }
    fn distance(&self, node: u32) -> f32 {
        self.search.scorer.distance(node)
    }
    fn prefetch_vector(&self, node: u32) {
        self.search.scorer.prefetch(node);
    }
    fn prefetch_links(&self, node: u32) {
        if self.level == 0 {
            crate::vecmath::prefetch(self.search.layout.slots0(node));
        }
    }
}

#[cfg(test)]
mod tests;
