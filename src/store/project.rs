//! The candidate search of collections of up to [`FLAT_MAX`] graph rows: every graph row
//! projected onto the rows' [`DIMS`] leading principal directions, grouped into inverted
//! lists (`lists.rs`), and the lists nearest to a query scanned; the best candidates are
//! then ranked by their exact distances (`query.rs`).
//!
//! At 708 dimensions a projected distance costs a twentieth of an exact one, so a scan of
//! the projected rows is several times faster than a graph walk over a few thousand rows,
//! and it finds more of the true neighbours than the walk's beam does. The projection is
//! derived data, like the graph: a function of the graph rows alone (a fixed sample, a
//! seeded start and a fixed number of iterations), so every process that opens the file
//! fits the same one, and a query's answer never depends on other queries.

use ndarray::{s, Array2, ArrayView2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use std::ops::Range;

use super::lists::{smallest, Lists, PAD};
use super::metric::Metric;
use super::scan::exact_top_k;
use crate::vecmath::{self, BLOCK_ROWS};

/// The most graph rows a projected scan serves; beyond, the graph is walked.
pub const FLAT_MAX: usize = 65_536;

/// Dimensions of the projection: one block of rows, so that projecting a query is one call
/// of [`vecmath::dot_blocks`].
pub const DIMS: usize = BLOCK_ROWS;

/// Rows the principal directions are estimated from (evenly spaced over the graph rows).
const SAMPLE: usize = 2_048;

/// The factors tried by [`Projection::calibrate`].
const WIDEN: [usize; 3] = [1, 2, 4];

/// Rows searched among the others to calibrate, and the neighbours each should find.
const PROBES: usize = 32;
const PROBE_K: usize = 10;

/// The share of the probes' true neighbours the candidates must hold: at most 3 of 320 may
/// be missed. At 0.97 a 500 bp classification against 1,497 records scanned 3 of 5 lists
/// rather than 5 and ran 1.1-1.6x faster, but a test set's queries (not rows of the
/// collection) then shared only 94.96% of their top 10 with Milvus's HNSW on
/// prom_core_tata, where 0.99 of recall is what a user expects by default.
const TARGET_RECALL: f64 = 0.99;

/// The shares of the lists a query may scan, as divisors of the list count: the
/// calibration picks the cheapest share and widening that hold [`TARGET_RECALL`].
const PROBE_DIVISORS: [usize; 5] = [16, 8, 4, 2, 1];

/// The cost of one dimension of an exact distance against one of a projected one: an exact
/// distance reads its row from memory, where the projected rows stay in the cache (one
/// thread, 251 bp classification: 128 x 708 exact dimensions took 10 us, 5,000 x 64
/// projected 16 us).
const EXACT_COST: f64 = 2.5;

/// Subspace iterations: enough to settle the leading directions; any orthonormal basis
/// gives valid candidates, since they are ranked by exact distance afterwards.
const ITERATIONS: usize = 12;

/// Whether a collection with `rows` graph rows of dimension `dim` searches by projection:
/// float vectors (a quantized collection keeps only its codes in memory), enough rows for
/// the directions to mean something, and a dimension the projection shrinks.
pub fn eligible(rows: usize, dim: usize, quantized: bool) -> bool {
    !quantized && (4 * DIMS..=FLAT_MAX).contains(&rows) && dim > 2 * DIMS
}

/// The graph rows, projected.
pub struct Projection {
    /// The principal directions, `DIMS` orthonormal vectors, as the columns of a
    /// `dim x DIMS` matrix: one block of [`vecmath::dot_blocks`], which projects a query.
    basis: Vec<f32>,
    /// Each direction's product with the rows' mean, so that a projection is centred.
    mean_dot: Vec<f32>,
    /// The inverted lists: which row each slot holds.
    lists: Lists,
    /// The projected rows, slot by slot, in the block layout of [`vecmath::dot_blocks`].
    blocks: Vec<f32>,
    /// Each slot's squared distance to the rows' mean, in full (infinite for the padding at
    /// the end of each list).
    norms: Vec<f32>,
    /// The part of each slot's `norms` outside the projection (the squared norm of its
    /// residual), for lower bounds.
    residuals: Vec<f32>,
    rows: usize,
    /// Candidates ranked exactly per result wanted: one of [`WIDEN`] (see [`Self::calibrate`]).
    widen: usize,
    /// Lists scanned for an unfiltered query wanting `calibrated` candidates (see
    /// [`Self::calibrate`]); a query wanting n times as many scans n times as many lists.
    probe: usize,
    calibrated: usize,
}

impl Projection {
    /// Fits the projection of `data` (row-major, `dim` wide) for searches of beam width `ef`
    /// by default, or `None` when it is not [`eligible`] (float rows are assumed) or finds
    /// too few of the true neighbours ([`Self::calibrate`]).
    pub fn fit(data: &[f32], dim: usize, ef: usize) -> Option<Self> {
        let mut projection = Self::fit_rows(data, dim)?;
        (projection.widen, projection.probe) = projection.calibrate(data, dim, ef)?;
        projection.calibrated = projection.candidate_count(PROBE_K, ef);
        Some(projection)
    }

    fn fit_rows(data: &[f32], dim: usize) -> Option<Self> {
        let rows = data.len().checked_div(dim)?;
        if !eligible(rows, dim, false) {
            return None;
        }
        let all = ArrayView2::from_shape((rows, dim), &data[..rows * dim]).ok()?;
        let mean = all.mean_axis(Axis(0))?;
        let step = rows.div_ceil(SAMPLE);
        let mut sample = all.slice(s![..;step, ..]).to_owned();
        sample -= &mean;
        let covariance = sample.t().dot(&sample);
        let basis = principal_directions(&covariance);
        let mean_dot: Vec<f32> = basis.outer_iter().map(|b| b.dot(&mean)).collect();
        let mut projected = all.dot(&basis.t());
        projected
            .outer_iter_mut()
            .for_each(|mut row| row.iter_mut().zip(&mean_dot).for_each(|(x, m)| *x -= m));
        let lists = Lists::fit(projected.view());
        let slots = lists.slots();
        let mut blocks = vec![0f32; slots * DIMS];
        let mut norms = vec![f32::INFINITY; slots];
        let mut residuals = vec![0f32; slots];
        let mean = mean.to_vec();
        for (slot, &row) in lists.order().iter().enumerate() {
            if row == PAD {
                continue;
            }
            let r = row as usize;
            let (block, lane) = (slot / BLOCK_ROWS, slot % BLOCK_ROWS);
            let mut inside = 0f32;
            for (d, &x) in projected.row(r).iter().enumerate() {
                blocks[(block * DIMS + d) * BLOCK_ROWS + lane] = x;
                inside += x * x;
            }
            norms[slot] = vecmath::l2_squared(&data[r * dim..(r + 1) * dim], &mean);
            residuals[slot] = (norms[slot] - inside).max(0.0);
        }
        let probe = lists.count();
        Some(Projection {
            basis: basis.t().iter().copied().collect(),
            mean_dot,
            lists,
            blocks,
            norms,
            residuals,
            rows,
            widen: 1,
            probe,
            calibrated: 1,
        })
    }

    /// The factor of [`WIDEN`] by which the candidates of a search must outnumber max(`ef`,
    /// k), and the lists scanned, that find [`TARGET_RECALL`] of the 10 nearest neighbours of
    /// [`PROBES`] evenly spaced rows (each searched among the others) at the least cost (see
    /// [`Self::cost`]), or `None` when no choice does, not even every list with the largest
    /// factor (the rows' spread is not in a few directions, and the graph does better).
    fn calibrate(&self, data: &[f32], dim: usize, ef: usize) -> Option<(usize, usize)> {
        let per_slot = ef.max(PROBE_K);
        let probes = self.probe_choices();
        let mut found = vec![[0usize; WIDEN.len()]; probes.len()];
        let mut total = 0;
        let rows = &data[..self.rows * dim];
        let most = WIDEN[WIDEN.len() - 1] * per_slot;
        for probe in (0..self.rows).step_by(self.rows / PROBES).take(PROBES) {
            let query = &rows[probe * dim..(probe + 1) * dim];
            let others = |r: u32| r as usize != probe;
            let exact = exact_top_k(query, rows, dim, Metric::L2, PROBE_K, &others);
            for (lists, found) in probes.iter().zip(&mut found) {
                let candidates = self.probing(query, most, &others, *lists);
                for (count, widen) in found.iter_mut().zip(WIDEN) {
                    let first = &candidates[..candidates.len().min(widen * per_slot)];
                    *count += exact
                        .iter()
                        .filter(|e| first.iter().any(|c| c.row == e.0))
                        .count();
                }
            }
            total += exact.len();
        }
        let enough = |count: usize| count as f64 >= TARGET_RECALL * total as f64;
        let choices = probes.iter().zip(&found).flat_map(|(&lists, found)| {
            (WIDEN.into_iter().zip(found))
                .filter(|&(_, &count)| enough(count))
                .map(move |(widen, _)| (widen, lists))
        });
        let cost = |&(widen, lists): &(usize, usize)| self.cost(lists, widen * per_slot, dim);
        choices.min_by(|a, b| cost(a).total_cmp(&cost(b)))
    }

    /// The list counts a query may scan: the shares of [`PROBE_DIVISORS`], ascending.
    fn probe_choices(&self) -> Vec<usize> {
        let count = self.lists.count();
        let mut choices: Vec<usize> = PROBE_DIVISORS.iter().map(|d| count.div_ceil(*d)).collect();
        choices.dedup();
        choices
    }

    /// The estimated cost of a search that scans `lists` lists and ranks `candidates` rows
    /// of `dim` exactly, in projected multiply-adds.
    fn cost(&self, lists: usize, candidates: usize, dim: usize) -> f64 {
        let scanned = self.rows as f64 * lists as f64 / self.lists.count() as f64;
        scanned * DIMS as f64 + EXACT_COST * (candidates * dim) as f64
    }

    /// Candidates ranked exactly per max(ef, k).
    pub fn widen(&self) -> usize {
        self.widen
    }

    /// Inverted lists, and how many an unfiltered query scans.
    pub fn lists(&self) -> (usize, usize) {
        (self.lists.count(), self.probe)
    }

    /// How many candidates a search for `k` results with beam width `ef` ranks exactly.
    pub fn candidate_count(&self, k: usize, ef: usize) -> usize {
        self.widen * ef.max(k)
    }

    /// Rows projected.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Up to `count` accepted rows nearest to `query` (in stored form) by estimated
    /// distance, ascending, from the calibrated share of the lists (more for a larger
    /// `count`), or from every list when `every_list` (a filtered search: the rows it accepts
    /// may all sit in far lists). Ties break by slot, a function of the rows.
    pub fn candidates(
        &self,
        query: &[f32],
        count: usize,
        accept: &dyn Fn(u32) -> bool,
        every_list: bool,
    ) -> Vec<Candidate> {
        self.probing(query, count, accept, self.lists_for(count, every_list))
    }

    /// Lists scanned for `count` candidates: the calibrated share, times how many times the
    /// calibrated count `count` is, or every list when `every_list`.
    fn lists_for(&self, count: usize, every_list: bool) -> usize {
        if every_list {
            return self.lists.count();
        }
        let scale = count.div_ceil(self.calibrated).max(1);
        self.probe.saturating_mul(scale).min(self.lists.count())
    }

    /// [`Self::candidates`] from the `lists` lists nearest to the query.
    fn probing(
        &self,
        query: &[f32],
        count: usize,
        accept: &dyn Fn(u32) -> bool,
        lists: usize,
    ) -> Vec<Candidate> {
        if count == 0 {
            return Vec::new();
        }
        let mut projected = vec![0f32; DIMS];
        vecmath::dot_blocks(query, &self.basis, &mut projected);
        projected
            .iter_mut()
            .zip(&self.mean_dot)
            .for_each(|(p, m)| *p -= m);
        let ranges: Vec<Range<usize>> = (self.lists.nearest(&projected, lists).into_iter())
            .map(|l| self.lists.range(l))
            .filter(|r| !r.is_empty())
            .collect();
        KEYS.with_borrow_mut(|keys| {
            // Only the scanned lists' keys are written, and only they are read: the buffer
            // saves the allocation, and nothing of an earlier query is read from it.
            keys.resize(self.norms.len(), 0.0);
            for range in &ranges {
                let (keys, norms) = (&mut keys[range.clone()], &self.norms[range.clone()]);
                let blocks = &self.blocks[range.start * DIMS..range.end * DIMS];
                vecmath::dot_blocks(&projected, blocks, keys);
                // |q - x|^2 = |q|^2 + |x|^2 - 2 q.x, with q.x estimated by its projection;
                // |q|^2 is the same for every row.
                keys.iter_mut()
                    .zip(norms)
                    .for_each(|(k, &norm)| *k = norm - 2.0 * *k);
            }
            let best = smallest(keys, &ranges, self.lists.order(), count, accept);
            let q_norm: f32 = projected.iter().map(|x| x * x).sum();
            best.into_iter()
                .map(|packed| self.candidate(packed as u32 as usize, keys, q_norm))
                .collect()
        })
    }

    /// The row in `slot`, whose key is in `keys`, with a lower bound of its exact distance.
    fn candidate(&self, slot: usize, keys: &[f32], q_norm: f32) -> Candidate {
        // |q - x|^2 >= |projected (q - x)|^2 = |q|^2 + key - residual; the slack covers the
        // rounding of the sums.
        let slack = 1e-4 * (self.norms[slot] + q_norm);
        Candidate {
            row: self.lists.order()[slot],
            bound: (q_norm + keys[slot] - self.residuals[slot] - slack).max(0.0),
        }
    }
}

thread_local! {
    /// One query's keys, kept between the queries of a thread.
    static KEYS: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A row found by [`Projection::candidates`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// The row.
    pub row: u32,
    /// A lower bound of its squared Euclidean distance to the query.
    pub bound: f32,
}

/// The `DIMS` leading eigenvectors (as rows) of a symmetric matrix, by subspace iteration
/// from a seeded random start, orthonormalised at every step.
fn principal_directions(matrix: &Array2<f32>) -> Array2<f32> {
    let dim = matrix.nrows();
    let mut rng = ChaCha8Rng::seed_from_u64(0x9e0_7ec);
    let mut basis = Array2::from_shape_fn((DIMS, dim), |_| rng.gen_range(-1.0f32..1.0));
    orthonormalise(&mut basis);
    for _ in 0..ITERATIONS {
        basis = basis.dot(matrix);
        orthonormalise(&mut basis);
    }
    basis
}

/// Modified Gram-Schmidt over the rows, in f64. A row with nothing left after removing
/// the ones before it (the rows span fewer than `DIMS` directions) becomes zero, which
/// adds nothing to any projected distance.
fn orthonormalise(rows: &mut Array2<f32>) {
    let mut done: Vec<Vec<f64>> = Vec::with_capacity(rows.nrows());
    for mut row in rows.outer_iter_mut() {
        let mut v: Vec<f64> = row.iter().map(|&x| x as f64).collect();
        let scale = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        for u in &done {
            let along: f64 = v.iter().zip(u).map(|(a, b)| a * b).sum();
            v.iter_mut().zip(u).for_each(|(a, b)| *a -= along * b);
        }
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm <= 1e-9 * scale.max(f64::MIN_POSITIVE) {
            v.fill(0.0);
        } else {
            v.iter_mut().for_each(|x| *x /= norm);
        }
        row.iter_mut().zip(&v).for_each(|(r, &x)| *r = x as f32);
        done.push(v);
    }
}

#[cfg(test)]
#[path = "project_tests.rs"]
mod tests;
