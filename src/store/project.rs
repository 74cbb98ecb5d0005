//! The candidate search of collections of up to [`FLAT_MAX`] graph rows: every graph row
//! projected onto the rows' [`DIMS`] leading principal directions and scanned in full for
//! each query; the best candidates are then ranked by their exact distances (`query.rs`).
//!
//! At 708 dimensions a projected distance costs a twentieth of an exact one, so a scan of
//! every projected row is several times faster than a graph walk over a few thousand rows,
//! and it finds more of the true neighbours than the walk's beam does. The projection is
//! derived data, like the graph: a function of the graph rows alone (a fixed sample, a
//! seeded start and a fixed number of iterations), so every process that opens the file
//! fits the same one, and a query's answer never depends on other queries.

use std::collections::BinaryHeap;

use ndarray::{s, Array2, ArrayView2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::scan::OrdF32;
use crate::vecmath::{self, BLOCK_ROWS};

/// The most graph rows a projected scan serves; beyond, the graph is walked.
pub const FLAT_MAX: usize = 65_536;

/// Dimensions of the projection.
pub const DIMS: usize = 32;

/// Rows the principal directions are estimated from (evenly spaced over the graph rows).
const SAMPLE: usize = 2_048;

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
    /// The principal directions: `DIMS` orthonormal rows of the vector dimension.
    basis: Vec<f32>,
    /// Each direction's product with the rows' mean, so that a projection is centred.
    mean_dot: Vec<f32>,
    /// The projected rows in the block layout of [`vecmath::dot_blocks`].
    blocks: Vec<f32>,
    /// Each projected row's squared norm (infinite for the padding of the last block).
    norms: Vec<f32>,
    rows: usize,
}

impl Projection {
    /// Fits the projection of `data` (row-major, `dim` wide), or `None` when it is not
    /// [`eligible`] (float rows are assumed).
    pub fn fit(data: &[f32], dim: usize) -> Option<Self> {
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
        let projected = all.dot(&basis.t());
        let padded = rows.div_ceil(BLOCK_ROWS) * BLOCK_ROWS;
        let mut blocks = vec![0f32; padded * DIMS];
        let mut norms = vec![f32::INFINITY; padded];
        for (r, row) in projected.outer_iter().enumerate() {
            let (block, lane) = (r / BLOCK_ROWS, r % BLOCK_ROWS);
            let mut norm = 0f32;
            for (d, (&x, &m)) in row.iter().zip(&mean_dot).enumerate() {
                let centred = x - m;
                blocks[(block * DIMS + d) * BLOCK_ROWS + lane] = centred;
                norm += centred * centred;
            }
            norms[r] = norm;
        }
        Some(Projection {
            basis: basis.iter().copied().collect(),
            mean_dot,
            blocks,
            norms,
            rows,
        })
    }

    /// Rows projected.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Up to `count` accepted rows nearest to `query` (in stored form) by projected
    /// distance, ascending; ties break by row.
    pub fn candidates(&self, query: &[f32], count: usize, accept: &dyn Fn(u32) -> bool) -> Vec<u32> {
        if count == 0 {
            return Vec::new();
        }
        let dim = query.len();
        let projected: Vec<f32> = self
            .basis
            .chunks_exact(dim)
            .zip(&self.mean_dot)
            .map(|(b, m)| vecmath::dot(query, b) - m)
            .collect();
        let mut dots = vec![0f32; self.norms.len()];
        vecmath::dot_blocks(&projected, &self.blocks, &mut dots);
        // |q - x|^2 = |q|^2 + |x|^2 - 2 q.x, and |q|^2 is the same for every row.
        let mut heap: BinaryHeap<(OrdF32, u32)> = BinaryHeap::with_capacity(count + 1);
        for (row, (&norm, &dot)) in self.norms[..self.rows].iter().zip(&dots).enumerate() {
            let d = OrdF32(norm - 2.0 * dot);
            let row = row as u32;
            if heap.len() == count && (d, row) >= *heap.peek().expect("count > 0") {
                continue;
            }
            if !accept(row) {
                continue;
            }
            if heap.len() == count {
                heap.pop();
            }
            heap.push((d, row));
        }
        heap.into_sorted_vec().into_iter().map(|(_, r)| r).collect()
    }
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
