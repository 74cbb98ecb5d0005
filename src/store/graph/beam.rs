//! Best-first beam search over one layer of a graph: the inner loop of both the builder and
//! the searcher, so the graph is built by the same walk that later answers queries.

use std::cell::RefCell;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// A (distance, node) pair ordered by distance, then node, with a total order on floats.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scored(pub f32, pub u32);

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

/// One layer of a graph as a beam search sees it, with the query already fixed.
pub trait Layer {
    /// Number of nodes the graph may hold (the bound on node ids).
    fn capacity(&self) -> usize;
    /// The links of `node` on this layer.
    fn links(&self, node: u32) -> &[u32];
    /// Distance from the query to `node`.
    fn distance(&self, node: u32) -> f32;
    /// Hints that `node`'s vector is about to be read.
    fn prefetch_vector(&self, node: u32);
    /// Hints that `node`'s links are about to be read.
    fn prefetch_links(&self, node: u32);
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

/// The `ef` accepted nodes nearest to the query reachable from `entry`, ascending.
///
/// Rejected nodes are still walked through, so a filter narrows the results without cutting
/// the graph.
pub fn beam_search(
    layer: &impl Layer,
    entry: Scored,
    ef: usize,
    accept: &dyn Fn(u32) -> bool,
) -> Vec<Scored> {
    VISITED.with(|v| search(layer, entry, ef, accept, &mut v.borrow_mut()))
}

fn search(
    layer: &impl Layer,
    entry: Scored,
    ef: usize,
    accept: &dyn Fn(u32) -> bool,
    visited: &mut Visited,
) -> Vec<Scored> {
    visited.start(layer.capacity());
    visited.insert(entry.1);
    let mut candidates = BinaryHeap::from([Reverse(entry)]);
    let mut results: BinaryHeap<Scored> = BinaryHeap::with_capacity(ef + 1);
    if accept(entry.1) {
        results.push(entry);
    }
    let mut fresh = std::mem::take(&mut visited.fresh);
    while let Some(Reverse(current)) = candidates.pop() {
        if results.len() >= ef && current.0 > results.peek().map_or(f32::INFINITY, |w| w.0) {
            break;
        }
        // The search waits on memory, not arithmetic: ask for the vectors about to be
        // scored, and the next expansion's links, before scoring any of them.
        if let Some(Reverse(next)) = candidates.peek() {
            layer.prefetch_links(next.1);
        }
        fresh.clear();
        fresh.extend(
            layer
                .links(current.1)
                .iter()
                .filter(|&&nb| visited.insert(nb)),
        );
        fresh.iter().for_each(|&nb| layer.prefetch_vector(nb));
        for &nb in &fresh {
            let d = layer.distance(nb);
            let worst = results.peek().map_or(f32::INFINITY, |w| w.0);
            if results.len() < ef || d < worst {
                candidates.push(Reverse(Scored(d, nb)));
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

/// Greedy descent on one layer: moves to a nearer linked node until none is nearer.
pub fn greedy(layer: &impl Layer, mut best: Scored) -> Scored {
    loop {
        let mut moved = false;
        for &nb in layer.links(best.1) {
            let d = layer.distance(nb);
            if d < best.0 {
                best = Scored(d, nb);
                moved = true;
            }
        }
        if !moved {
            return best;
        }
    }
}
