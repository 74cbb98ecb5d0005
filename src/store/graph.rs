//! The HNSW graph: built by hnsw_rs, persisted and searched in genovec's own flat layout.
//!
//! hnsw_rs is the builder only (this is the one module that uses it). Its own search is slow
//! and its dump format is neither atomic nor checked, so after a build the graph is copied
//! into [`GraphLayout`]: flat, padded layer-0 adjacency plus small upper-layer lists. The
//! layout is stored in the collection file in the same transaction as the data it indexes,
//! and searched here against the collection's contiguous vectors.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

use hnsw_rs::prelude::{Distance, Hnsw};
use serde::{Deserialize, Serialize};

use super::metric::Metric;

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

/// hnsw_rs's `DistL2` (the square root of the summed squares) over genovec's SIMD kernel:
/// hnsw_rs's own is a scalar loop, and the build spends nearly all its time in distances.
#[derive(Clone, Copy, Default)]
struct SimdL2;

impl Distance<f32> for SimdL2 {
    fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        crate::vecmath::l2_squared(a, b).sqrt()
    }
}

/// Builds a graph over `data` (`n * dim`, row i = node i) with hnsw_rs and flattens it.
///
/// Both metrics build with L2 distance: cosine vectors are unit-normalised, where L2 order
/// equals cosine order, and this avoids `DistDot`'s panic on rounding (1 - dot < 0).
pub fn build(ids: &[u64], data: &[f32], dim: usize, params: &GraphParams) -> GraphLayout {
    let n = ids.len();
    assert_eq!(data.len(), n * dim, "one vector per id");
    if n == 0 {
        return empty_layout(params);
    }
    let hnsw = Hnsw::<f32, SimdL2>::new(params.m, n, 16, params.ef_construction, SimdL2);
    // One insertion after another, in row order: hnsw_rs draws levels from a fixed seed, so
    // the same rows always give the same graph, and so the same answers. Parallel insertion
    // links nodes in whatever order the threads reach them.
    crate::progress::phase("graph build", Some(n as u64));
    for row in data.chunks_exact(dim).zip(0..n) {
        hnsw.insert_slice(row);
        if row.1 % 256 == 255 {
            crate::progress::advance(row.1 as u64 + 1);
        }
    }
    crate::progress::advance(n as u64);
    flatten(&hnsw, ids, params)
}

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

/// Copies hnsw_rs's linked structure into the flat layout.
fn flatten(hnsw: &Hnsw<f32, SimdL2>, ids: &[u64], params: &GraphParams) -> GraphLayout {
    let n = ids.len();
    let mut layout = empty_layout(params);
    layout.ids = ids.to_vec();
    layout.adj0 = vec![NO_NODE; n * layout.m0 as usize];
    layout.levels = vec![0; n];
    layout.upper_slot = vec![NO_NODE; n];
    let indexation = hnsw.get_point_indexation();
    for point in indexation {
        let node = point.get_origin_id();
        let level = point.get_point_id().0;
        let lists: Vec<Vec<u32>> = point
            .get_neighborhood_id()
            .iter()
            .take(level as usize + 1)
            .map(|layer| layer.iter().map(|nb| nb.get_origin_id() as u32).collect())
            .collect();
        put_node(&mut layout, node, level, &lists);
    }
    layout.top_level = hnsw.get_max_level_observed();
    layout.entry = (0..n as u32)
        .find(|&i| layout.levels[i as usize] == layout.top_level)
        .unwrap_or(0);
    layout
}

fn put_node(layout: &mut GraphLayout, node: usize, level: u8, lists: &[Vec<u32>]) {
    layout.levels[node] = level;
    let m0 = layout.m0 as usize;
    if let Some(list0) = lists.first() {
        for (slot, &nb) in layout.adj0[node * m0..(node + 1) * m0]
            .iter_mut()
            .zip(list0)
        {
            *slot = nb;
        }
    }
    if level == 0 {
        return;
    }
    layout.upper_slot[node] = layout.upper_ranges.len() as u32;
    for l in 1..=level as usize {
        let start = layout.upper_adj.len() as u32;
        layout
            .upper_adj
            .extend(lists.get(l).map(Vec::as_slice).unwrap_or(&[]));
        layout
            .upper_ranges
            .push([start, layout.upper_adj.len() as u32]);
    }
}

/// A (distance, node) pair ordered by distance, then node, with a total order on floats.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Scored(f32, u32);

impl Eq for Scored {}
impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}
impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Visited marks reused across searches on one thread; a generation counter avoids clearing.
struct Visited {
    marks: Vec<u32>,
    generation: u32,
    /// The unvisited neighbours of the node being expanded.
    fresh: Vec<u32>,
}

impl Visited {
    fn start(&mut self, n: usize) {
        if self.marks.len() < n || self.generation == u32::MAX {
            self.marks = vec![0; n.max(self.marks.len())];
            self.generation = 0;
        }
        self.generation += 1;
    }

    /// Marks `node`; true when it was not yet visited in this search.
    fn insert(&mut self, node: u32) -> bool {
        let slot = &mut self.marks[node as usize];
        let fresh = *slot != self.generation;
        *slot = self.generation;
        fresh
    }
}

thread_local! {
    static VISITED: RefCell<Visited> =
        const { RefCell::new(Visited { marks: Vec::new(), generation: 0, fresh: Vec::new() }) };
}

/// Searches a layout against its vectors.
pub struct GraphSearch<'a> {
    /// The graph.
    pub layout: &'a GraphLayout,
    /// Node vectors, `len * dim`, row i = node i.
    pub vectors: &'a [f32],
    /// Vector dimension.
    pub dim: usize,
    /// Distance used for ranking.
    pub metric: Metric,
}

impl GraphSearch<'_> {
    fn row(&self, node: u32) -> &[f32] {
        let start = node as usize * self.dim;
        &self.vectors[start..start + self.dim]
    }

    fn distance(&self, query: &[f32], node: u32) -> f32 {
        self.metric.distance(query, self.row(node))
    }

    /// Up to `k` accepted nodes nearest to `query`, ascending by distance.
    ///
    /// Rejected nodes (deleted, or outside a label filter) are still traversed, so a filter
    /// narrows the results without cutting the graph.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        accept: &dyn Fn(u32) -> bool,
    ) -> Vec<(u32, f32)> {
        if self.layout.is_empty() || k == 0 {
            return Vec::new();
        }
        let entry = self.descend(query);
        let mut found = VISITED
            .with(|v| self.search_layer0(query, entry, ef.max(k), accept, &mut v.borrow_mut()));
        found.truncate(k);
        found.into_iter().map(|s| (s.1, s.0)).collect()
    }

    /// Greedy descent through the upper layers to the best layer-1 node.
    fn descend(&self, query: &[f32]) -> Scored {
        let mut best = Scored(self.distance(query, self.layout.entry), self.layout.entry);
        for level in (1..=self.layout.top_level).rev() {
            loop {
                let mut moved = false;
                for &nb in self.layout.neighbours_upper(best.1, level) {
                    let d = self.distance(query, nb);
                    if d < best.0 {
                        best = Scored(d, nb);
                        moved = true;
                    }
                }
                if !moved {
                    break;
                }
            }
        }
        best
    }

    fn search_layer0(
        &self,
        query: &[f32],
        entry: Scored,
        ef: usize,
        accept: &dyn Fn(u32) -> bool,
        visited: &mut Visited,
    ) -> Vec<Scored> {
        visited.start(self.layout.len());
        visited.insert(entry.1);
        let mut candidates = BinaryHeap::from([std::cmp::Reverse(entry)]);
        let mut results: BinaryHeap<Scored> = BinaryHeap::with_capacity(ef + 1);
        if accept(entry.1) {
            results.push(entry);
        }
        let mut fresh = std::mem::take(&mut visited.fresh);
        while let Some(std::cmp::Reverse(current)) = candidates.pop() {
            if results.len() >= ef && current.0 > results.peek().map_or(f32::INFINITY, |w| w.0) {
                break;
            }
            // The search waits on memory, not arithmetic: ask for the vectors about to be
            // scored, and the next expansion's adjacency row, before scoring any of them.
            if let Some(std::cmp::Reverse(next)) = candidates.peek() {
                crate::vecmath::prefetch(self.layout.slots0(next.1));
            }
            fresh.clear();
            fresh.extend(
                self.layout
                    .neighbours0(current.1)
                    .iter()
                    .filter(|&&nb| visited.insert(nb)),
            );
            fresh
                .iter()
                .for_each(|&nb| crate::vecmath::prefetch(self.row(nb)));
            for &nb in &fresh {
                let d = self.distance(query, nb);
                let worst = results.peek().map_or(f32::INFINITY, |w| w.0);
                if results.len() < ef || d < worst {
                    candidates.push(std::cmp::Reverse(Scored(d, nb)));
                    if accept(nb) {
                        results.push(Scored(d, nb));
                        if results.len() > ef {
                            results.pop();
                        }
                    }
                }
            }
        }
        visited.fresh = fresh;
        results.into_sorted_vec()
    }
}

#[cfg(test)]
mod tests;
