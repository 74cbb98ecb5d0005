//! Inverted lists over the projected rows of `project.rs`: the rows are clustered by
//! k-means in the projected space, and each cluster's rows are laid out together, so that a
//! query scans only the lists whose centroids are nearest to it; and the selection of the
//! smallest keys of the slots a query scanned.
//!
//! Like the projection, the lists are a function of the projected rows alone (seeded
//! starting centroids from an evenly spaced sample and a fixed number of iterations), so
//! every process that opens the file builds the same ones.

use std::ops::Range;

use ndarray::{s, Array2, ArrayView2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::vecmath::{self, BLOCK_ROWS};

/// Rows per list, on average: a list is a few blocks, so the padding of its last block
/// stays a small share of what it scans.
pub const ROWS_PER_LIST: usize = 256;

/// Rows the centroids are fitted on (evenly spaced over the rows); every row is then
/// assigned to its nearest centroid.
const SAMPLE: usize = 16_384;

/// Lloyd iterations: the lists need not be optimal, only compact, since a query probes
/// several of them and the probe count is calibrated.
const ITERATIONS: usize = 10;

/// Rows assigned per matrix product, which bounds the product's memory.
const CHUNK: usize = 4_096;

/// The slot of the padding at the end of each list's last block.
pub const PAD: u32 = u32::MAX;

/// Rows grouped by their nearest centroid in the projected space.
pub struct Lists {
    /// The centroids in the block layout of [`vecmath::dot_blocks`], padded to whole blocks.
    centroids: Vec<f32>,
    /// Each centroid's squared norm (infinite for the padding).
    norms: Vec<f32>,
    /// List `l` holds slots `starts[l]..starts[l + 1]`, whole blocks.
    starts: Vec<usize>,
    /// The row in each slot, [`PAD`] for the padding.
    order: Vec<u32>,
}

impl Lists {
    /// The lists of `projected` (rows x dims, centred): about one per [`ROWS_PER_LIST`] rows.
    pub fn fit(projected: ArrayView2<f32>) -> Self {
        let rows = projected.nrows();
        let count = (rows / ROWS_PER_LIST).max(1);
        let step = rows.div_ceil(SAMPLE).max(1);
        let sample = projected.slice(s![..;step, ..]);
        let centroids = kmeans(sample, count);
        let assigned = assign(projected, &centroids);
        Self::from_assignment(&centroids, &assigned)
    }

    fn from_assignment(centroids: &Array2<f32>, assigned: &[u32]) -> Self {
        let count = centroids.nrows();
        let mut members: Vec<Vec<u32>> = vec![Vec::new(); count];
        for (row, &list) in (0..).zip(assigned) {
            members[list as usize].push(row);
        }
        let mut starts = Vec::with_capacity(count + 1);
        let mut order = Vec::with_capacity(assigned.len() + count * BLOCK_ROWS);
        for list in &members {
            starts.push(order.len());
            order.extend_from_slice(list);
            order.resize(order.len().next_multiple_of(BLOCK_ROWS), PAD);
        }
        starts.push(order.len());
        let (blocks, norms) = to_blocks(centroids);
        Lists {
            centroids: blocks,
            norms,
            starts,
            order,
        }
    }

    /// Lists.
    pub fn count(&self) -> usize {
        self.starts.len() - 1
    }

    /// Slots in all, padding included.
    pub fn slots(&self) -> usize {
        self.order.len()
    }

    /// The row in each slot ([`PAD`] for the padding).
    pub fn order(&self) -> &[u32] {
        &self.order
    }

    /// List `list`'s slots.
    pub fn range(&self, list: usize) -> Range<usize> {
        self.starts[list]..self.starts[list + 1]
    }

    /// The `probe` lists whose centroids are nearest to `query` (projected and centred),
    /// nearest first (so that a scan meets its best keys early and keeps fewer); all of
    /// them, in slot order, when `probe` covers every list.
    pub fn nearest(&self, query: &[f32], probe: usize) -> Vec<usize> {
        if probe >= self.count() {
            return (0..self.count()).collect();
        }
        let mut dots = vec![0f32; self.norms.len()];
        vecmath::dot_blocks(query, &self.centroids, &mut dots);
        let mut keyed: Vec<(f32, usize)> = (0..self.count())
            .map(|l| (self.norms[l] - 2.0 * dots[l], l))
            .collect();
        let by_distance =
            |a: &(f32, usize), b: &(f32, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
        keyed.select_nth_unstable_by(probe - 1, by_distance);
        keyed[..probe].sort_unstable_by(by_distance);
        keyed[..probe].iter().map(|k| k.1).collect()
    }
}

/// The `count` smallest keys of the slots in `ranges` whose rows (`order`) are accepted,
/// as (key, slot) packed in one integer each (see [`ordered_bits`]), ascending; ties break
/// by slot, whatever the order of the ranges.
///
/// Keys that do not lose to the current threshold go to a pool; when the pool holds
/// `2 * count`, it keeps its `count` smallest and the threshold becomes the largest of them.
/// This costs a comparison per key and a linear selection per `count` keys kept, where a
/// heap paid a logarithmic, mispredicted sift for every key it took.
pub fn smallest(
    keys: &[f32],
    ranges: &[Range<usize>],
    order: &[u32],
    count: usize,
    accept: &dyn Fn(u32) -> bool,
) -> Vec<u64> {
    let pack = |key: f32, slot: usize| (u64::from(ordered_bits(key)) << 32) | slot as u64;
    let mut pool: Vec<u64> = Vec::with_capacity(2 * count);
    // A key equal to the threshold's may still win on its slot, so it enters the pool; the
    // padding's keys are infinite and never do.
    let mut worst = f32::INFINITY;
    for slot in ranges.iter().flat_map(|r| r.clone()) {
        let key = keys[slot];
        if key > worst || key == f32::INFINITY || !accept(order[slot]) {
            continue;
        }
        pool.push(pack(key, slot));
        if pool.len() == 2 * count {
            pool.select_nth_unstable(count - 1);
            pool.truncate(count);
            let kept = pool[count - 1] as u32;
            worst = keys[kept as usize] + 0.0;
        }
    }
    pool.sort_unstable();
    pool.truncate(count);
    pool
}

/// An f32's bits, mapped so that unsigned order is the floats' total order.
fn ordered_bits(x: f32) -> u32 {
    // -0.0 and 0.0 compare equal as floats, so they must pack equal too.
    let bits = (x + 0.0).to_bits();
    if bits >> 31 == 1 {
        !bits
    } else {
        bits | 1 << 31
    }
}

/// `count` centroids of `sample` by Lloyd's iterations from distinct rows drawn with a fixed
/// seed. A centroid that loses every row keeps its place.
fn kmeans(sample: ArrayView2<f32>, count: usize) -> Array2<f32> {
    let count = count.min(sample.nrows()).max(1);
    let mut rng = ChaCha8Rng::seed_from_u64(0x1157);
    let mut first = rand::seq::index::sample(&mut rng, sample.nrows(), count).into_vec();
    first.sort_unstable();
    let mut centroids = sample.select(Axis(0), &first);
    for _ in 0..ITERATIONS {
        let assigned = assign(sample, &centroids);
        let mut sums = Array2::<f64>::zeros(centroids.dim());
        let mut sizes = vec![0usize; count];
        for (row, &list) in sample.outer_iter().zip(&assigned) {
            let l = list as usize;
            sizes[l] += 1;
            sums.row_mut(l)
                .iter_mut()
                .zip(row)
                .for_each(|(s, &x)| *s += f64::from(x));
        }
        for (l, mut centroid) in centroids.outer_iter_mut().enumerate() {
            if sizes[l] > 0 {
                let n = sizes[l] as f64;
                centroid
                    .iter_mut()
                    .zip(sums.row(l))
                    .for_each(|(c, &s)| *c = (s / n) as f32);
            }
        }
    }
    centroids
}

/// Each row's nearest centroid; ties go to the first.
fn assign(rows: ArrayView2<f32>, centroids: &Array2<f32>) -> Vec<u32> {
    let norms: Vec<f32> = centroids.outer_iter().map(|c| c.dot(&c)).collect();
    let mut assigned = Vec::with_capacity(rows.nrows());
    for chunk in rows.axis_chunks_iter(Axis(0), CHUNK) {
        let dots = chunk.dot(&centroids.t());
        for row in dots.outer_iter() {
            let mut best = (f32::INFINITY, 0u32);
            for (l, (&d, &norm)) in (0..).zip(row.iter().zip(&norms)) {
                let key = norm - 2.0 * d;
                if key < best.0 {
                    best = (key, l);
                }
            }
            assigned.push(best.1);
        }
    }
    assigned
}

/// `centroids` in the block layout of [`vecmath::dot_blocks`], with their squared norms
/// (infinite for the padding, so that no query picks it).
fn to_blocks(centroids: &Array2<f32>) -> (Vec<f32>, Vec<f32>) {
    let (count, dims) = centroids.dim();
    let padded = count.next_multiple_of(BLOCK_ROWS);
    let mut blocks = vec![0f32; padded * dims];
    let mut norms = vec![f32::INFINITY; padded];
    for (c, centroid) in centroids.outer_iter().enumerate() {
        let (block, lane) = (c / BLOCK_ROWS, c % BLOCK_ROWS);
        for (d, &x) in centroid.iter().enumerate() {
            blocks[(block * dims + d) * BLOCK_ROWS + lane] = x;
        }
        norms[c] = centroid.dot(&centroid);
    }
    (blocks, norms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    /// `per` points around each of `centres` well separated centres in `dims` dimensions.
    fn clusters(centres: usize, per: usize, dims: usize) -> Array2<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let centre: Vec<Vec<f32>> = (0..centres)
            .map(|_| (0..dims).map(|_| rng.gen_range(-10.0..10.0)).collect())
            .collect();
        Array2::from_shape_fn((centres * per, dims), |(r, d)| {
            centre[r % centres][d] + rng.gen_range(-0.1f32..0.1)
        })
    }

    #[test]
    fn every_row_has_one_slot_and_lists_are_whole_blocks() {
        let data = clusters(7, 300, 16);
        let lists = Lists::fit(data.view());
        assert_eq!(lists.count(), 2_100 / ROWS_PER_LIST);
        let mut seen: Vec<u32> = lists
            .order()
            .iter()
            .copied()
            .filter(|&r| r != PAD)
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..2_100).collect::<Vec<u32>>());
        for l in 0..lists.count() {
            let range = lists.range(l);
            assert_eq!(range.start % BLOCK_ROWS, 0);
            assert_eq!(range.end % BLOCK_ROWS, 0);
        }
        assert_eq!(lists.slots(), lists.range(lists.count() - 1).end);
    }

    #[test]
    fn a_query_probes_the_list_of_its_cluster_first() {
        let data = clusters(8, 256, 64);
        let lists = Lists::fit(data.view());
        for r in (0..data.nrows()).step_by(97) {
            let query: Vec<f32> = data.row(r).to_vec();
            let nearest = lists.nearest(&query, 1);
            let slots = lists.range(nearest[0]);
            assert!(
                lists.order()[slots].contains(&(r as u32)),
                "row {r} is not in its nearest list"
            );
        }
        assert_eq!(
            lists.nearest(&data.row(0).to_vec(), 99).len(),
            lists.count()
        );
    }

    #[test]
    fn the_lists_are_a_function_of_the_rows() {
        let data = clusters(5, 400, 32);
        let (a, b) = (Lists::fit(data.view()), Lists::fit(data.view()));
        assert_eq!(a.order, b.order);
        assert_eq!(a.starts, b.starts);
        assert_eq!(a.centroids, b.centroids);
    }
}
