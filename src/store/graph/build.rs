//! genovec's HNSW builder: deterministic, and parallel over rayon's threads.
//!
//! Nodes are inserted in row order, in batches. Each node of a batch searches the graph as it
//! stood before the batch (in parallel: the graph is only read) and picks its links with
//! HNSW's neighbour heuristic; then the reverse links are added, each existing node's list
//! re-pruned once for all the batch's new arrivals (in parallel too: each list is computed
//! from the old graph alone). Batch boundaries depend only on the row count, so the same rows
//! give the same graph on any number of threads, and so the same answers run after run.
//! A batch is small next to the graph (1/64 of it, at most 256 nodes), so that members of a
//! batch not seeing each other costs no measurable recall.

use rayon::prelude::*;

use super::beam::{beam_search, greedy, Layer, Scored};
use super::{GraphLayout, GraphParams, NO_NODE};
use crate::vecmath::{l2_squared, prefetch};

/// Node levels are a hash of this seed and the node's row, so a graph depends only on its rows
/// and parameters, and a node keeps its level when the graph is extended.
const LEVEL_SEED: u64 = 0x0067_656e_6f76_6563;
/// No node goes above this level (a million nodes at M = 16 reach about 5).
const MAX_LEVEL: u8 = 16;
/// A batch is at most this many nodes, and at most 1/`BATCH_FRACTION` of the graph.
const MAX_BATCH: usize = 256;
const BATCH_FRACTION: usize = 64;

/// The graph while it grows. Links are squared-L2 based: cosine vectors are unit-normalised,
/// where L2 order equals cosine order.
struct Builder<'a> {
    data: &'a [f32],
    dim: usize,
    params: GraphParams,
    m0: usize,
    levels: Vec<u8>,
    /// Layer-0 links, `n * m0`, padded with `NO_NODE` (the stored layout's own format).
    adj0: Vec<u32>,
    /// Links on levels 1..=level of each node (empty for level-0 nodes).
    upper: Vec<Vec<Vec<u32>>>,
    /// Entry node and its level, once the graph holds a node.
    entry: Option<(u32, u8)>,
}

/// One layer of the growing graph, seen from one query row.
struct BuildLayer<'b, 'a> {
    graph: &'b Builder<'a>,
    level: u8,
    query: &'b [f32],
}

impl Layer for BuildLayer<'_, '_> {
    fn capacity(&self) -> usize {
        self.graph.levels.len()
    }
    fn links(&self, node: u32) -> &[u32] {
        self.graph.links(node, self.level)
    }
    fn distance(&self, node: u32) -> f32 {
        l2_squared(self.query, self.graph.row(node))
    }
    fn prefetch_vector(&self, node: u32) {
        prefetch(self.graph.row(node));
    }
    fn prefetch_links(&self, node: u32) {
        if self.level == 0 {
            prefetch(self.graph.slots0(node));
        }
    }
}

/// Builds the graph over `data` (`n * dim`, row i = node i) on rayon's threads.
pub fn build(ids: &[u64], data: &[f32], dim: usize, params: &GraphParams) -> GraphLayout {
    extend(None, ids, data, dim, params)
}

/// Extends `base` (a graph over a prefix of these rows, built with the same parameters) with
/// the rows after it; without a usable base, builds from scratch. Appending rows then costs
/// only their own insertion, not a rebuild of the whole graph.
pub fn extend(
    base: Option<&GraphLayout>,
    ids: &[u64],
    data: &[f32],
    dim: usize,
    params: &GraphParams,
) -> GraphLayout {
    let n = ids.len();
    assert_eq!(data.len(), n * dim, "one vector per id");
    let base = base
        .filter(|b| b.m0 as usize == 2 * params.m && b.len() <= n && b.ids[..] == ids[..b.len()]);
    let mut builder = Builder::new(data, dim, *params, n);
    let mut start = 0;
    if let Some(base) = base {
        builder.adopt(base);
        start = base.len();
    }
    crate::progress::phase("graph build", Some((n - start) as u64));
    let first = start;
    while start < n {
        let end = builder.batch_end(start);
        builder.insert_batch(start as u32..end as u32);
        crate::progress::advance((end - first) as u64);
        start = end;
    }
    builder.into_layout(ids)
}

impl<'a> Builder<'a> {
    fn new(data: &'a [f32], dim: usize, params: GraphParams, n: usize) -> Self {
        let m0 = 2 * params.m;
        let levels = (0..n as u64)
            .map(|row| level_of(row, params.m))
            .collect::<Vec<u8>>();
        let upper = levels
            .iter()
            .map(|&l| vec![Vec::new(); l as usize])
            .collect();
        Builder {
            data,
            dim,
            params,
            m0,
            levels,
            adj0: vec![NO_NODE; n * m0],
            upper,
            entry: None,
        }
    }

    /// Takes over `base`'s nodes (the first `base.len()` rows) with their levels and links.
    fn adopt(&mut self, base: &GraphLayout) {
        let n = base.len();
        self.adj0[..n * self.m0].copy_from_slice(&base.adj0);
        self.levels[..n].copy_from_slice(&base.levels);
        for node in 0..n as u32 {
            let level = base.levels[node as usize];
            self.upper[node as usize] = (1..=level)
                .map(|l| base.neighbours_upper(node, l).to_vec())
                .collect();
        }
        if n > 0 {
            self.entry = Some((base.entry, base.top_level));
        }
    }

    fn row(&self, node: u32) -> &[f32] {
        let start = node as usize * self.dim;
        &self.data[start..start + self.dim]
    }

    fn slots0(&self, node: u32) -> &[u32] {
        let start = node as usize * self.m0;
        &self.adj0[start..start + self.m0]
    }

    fn links(&self, node: u32, level: u8) -> &[u32] {
        if level == 0 {
            let row = self.slots0(node);
            &row[..row.iter().position(|&x| x == NO_NODE).unwrap_or(row.len())]
        } else {
            &self.upper[node as usize][level as usize - 1]
        }
    }

    fn distance(&self, a: u32, b: u32) -> f32 {
        l2_squared(self.row(a), self.row(b))
    }

    /// The end of the batch starting at `start`. A node that raises the top level is inserted
    /// alone, so that the nodes after it descend from it as the new entry.
    fn batch_end(&self, start: usize) -> usize {
        let top = self.entry.map(|e| e.1);
        if top.is_none_or(|top| self.levels[start] > top) {
            return start + 1;
        }
        let top = top.unwrap_or(0);
        let size = (start / BATCH_FRACTION).clamp(1, MAX_BATCH);
        let end = (start + size).min(self.levels.len());
        (start + 1..end)
            .find(|&i| self.levels[i] > top)
            .unwrap_or(end)
    }

    fn insert_batch(&mut self, batch: std::ops::Range<u32>) {
        let chosen: Vec<Vec<Vec<u32>>> = batch
            .clone()
            .into_par_iter()
            .map(|node| self.choose_links(node))
            .collect();
        let mut reverse: Vec<(u8, u32, u32)> = Vec::new();
        for (node, lists) in batch.clone().zip(&chosen) {
            for (level, list) in lists.iter().enumerate() {
                reverse.extend(list.iter().map(|&to| (level as u8, to, node)));
            }
        }
        // Grouped by (level, target), arrivals in row order: each group is one re-prune.
        reverse.sort_unstable();
        let groups: Vec<&[(u8, u32, u32)]> =
            reverse.chunk_by(|a, b| a.0 == b.0 && a.1 == b.1).collect();
        let relinked: Vec<Vec<u32>> = groups
            .par_iter()
            .map(|group| {
                let arrivals: Vec<u32> = group.iter().map(|r| r.2).collect();
                self.relink(group[0].1, group[0].0, &arrivals)
            })
            .collect();
        for (node, lists) in batch.clone().zip(chosen) {
            for (level, list) in lists.into_iter().enumerate() {
                self.set_links(node, level as u8, list);
            }
        }
        for (group, list) in groups.iter().zip(relinked) {
            self.set_links(group[0].1, group[0].0, list);
        }
        for node in batch {
            let level = self.levels[node as usize];
            if self.entry.is_none_or(|e| level > e.1) {
                self.entry = Some((node, level));
            }
        }
    }

    /// The links `node` takes on each level from 0 to min(its level, the top level).
    fn choose_links(&self, node: u32) -> Vec<Vec<u32>> {
        let Some((entry, top)) = self.entry else {
            return Vec::new();
        };
        let query = self.row(node);
        let layer = |level| BuildLayer {
            graph: self,
            level,
            query,
        };
        let level = self.levels[node as usize];
        let mut best = Scored(l2_squared(query, self.row(entry)), entry);
        for l in (level + 1..=top).rev() {
            best = greedy(&layer(l), best);
        }
        let mut lists = vec![Vec::new(); level.min(top) as usize + 1];
        for l in (0..=level.min(top)).rev() {
            let found = beam_search(&layer(l), best, self.params.ef_construction, &|_| true);
            best = found[0];
            lists[l as usize] = self.select(&found, self.params.m);
        }
        lists
    }

    /// HNSW's neighbour heuristic: walking `sorted` (ascending by distance to the node), keep a
    /// candidate only when it is nearer to the node than to every candidate already kept, so
    /// the links spread in different directions.
    fn select(&self, sorted: &[Scored], keep: usize) -> Vec<u32> {
        if sorted.len() <= keep {
            return sorted.iter().map(|s| s.1).collect();
        }
        let mut kept: Vec<u32> = Vec::with_capacity(keep);
        for candidate in sorted {
            if kept.len() == keep {
                break;
            }
            if kept
                .iter()
                .all(|&k| self.distance(candidate.1, k) >= candidate.0)
            {
                kept.push(candidate.1);
            }
        }
        kept
    }

    /// `node`'s links on `level` after `arrivals` link to it, re-pruned when over capacity.
    fn relink(&self, node: u32, level: u8, arrivals: &[u32]) -> Vec<u32> {
        let capacity = if level == 0 { self.m0 } else { self.params.m };
        let mut links = self.links(node, level).to_vec();
        links.extend_from_slice(arrivals);
        if links.len() <= capacity {
            return links;
        }
        let mut scored: Vec<Scored> = links
            .iter()
            .map(|&l| Scored(self.distance(node, l), l))
            .collect();
        scored.sort_unstable();
        self.select(&scored, capacity)
    }

    fn set_links(&mut self, node: u32, level: u8, list: Vec<u32>) {
        if level == 0 {
            let start = node as usize * self.m0;
            let row = &mut self.adj0[start..start + self.m0];
            row.fill(NO_NODE);
            row[..list.len()].copy_from_slice(&list);
        } else {
            self.upper[node as usize][level as usize - 1] = list;
        }
    }

    fn into_layout(self, ids: &[u64]) -> GraphLayout {
        let mut layout = super::empty_layout(&self.params);
        let n = ids.len();
        layout.ids = ids.to_vec();
        layout.upper_slot = vec![NO_NODE; n];
        for (node, lists) in self.upper.iter().enumerate() {
            if lists.is_empty() {
                continue;
            }
            layout.upper_slot[node] = layout.upper_ranges.len() as u32;
            for list in lists {
                let start = layout.upper_adj.len() as u32;
                layout.upper_adj.extend_from_slice(list);
                layout
                    .upper_ranges
                    .push([start, layout.upper_adj.len() as u32]);
            }
        }
        layout.adj0 = self.adj0;
        layout.levels = self.levels;
        (layout.entry, layout.top_level) = self.entry.unwrap_or((0, 0));
        layout
    }
}

/// HNSW's level distribution, P(level >= l) = M^-l, drawn from a hash of the row.
fn level_of(row: u64, m: usize) -> u8 {
    // splitmix64: a well-mixed 64-bit hash, enough for a uniform draw.
    let mut z = LEVEL_SEED.wrapping_add(row.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    // 53 random bits to a uniform draw in (0, 1].
    let u = ((z >> 11) + 1) as f64 / (1u64 << 53) as f64;
    let scale = 1.0 / (m.max(2) as f64).ln();
    ((-u.ln() * scale) as usize).min(MAX_LEVEL as usize) as u8
}
