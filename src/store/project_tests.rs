use super::*;
use crate::store::scan::exact_top_k;
use crate::store::Metric;

/// `rows` seeded vectors of `dim` that lie in a subspace of `rank` directions (plus
/// `noise` in every direction).
fn points(rows: usize, dim: usize, rank: usize, noise: f32, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let axes: Vec<f32> = (0..rank * dim).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let mut data = Vec::with_capacity(rows * dim);
    for _ in 0..rows {
        let weights: Vec<f32> = (0..rank).map(|_| rng.gen_range(-1.0..1.0)).collect();
        for d in 0..dim {
            let along: f32 = (0..rank).map(|a| weights[a] * axes[a * dim + d]).sum();
            data.push(along + noise * rng.gen_range(-1.0f32..1.0));
        }
    }
    data
}

fn rows_of(candidates: Vec<Candidate>) -> Vec<u32> {
    candidates.into_iter().map(|c| c.row).collect()
}

#[test]
fn bounds_never_exceed_the_exact_distance() {
    let (rows, dim) = (2_000, 3 * DIMS);
    let data = points(rows, dim, 150, 0.2, 5);
    let projection = Projection::fit_rows(&data, dim).unwrap();
    let mut tight = 0;
    for q in 0..10 {
        let query = &points(1, dim, 150, 0.2, 200 + q)[..];
        for c in projection.candidates(query, rows, &|_| true, true) {
            let r = c.row as usize;
            let exact = vecmath::l2_squared(query, &data[r * dim..(r + 1) * dim]);
            assert!(
                c.bound <= exact,
                "row {r}: bound {} > exact {exact}",
                c.bound
            );
            tight += usize::from(c.bound > 0.5 * exact);
        }
    }
    assert!(tight > 0, "the bounds are not all trivial");
}

#[test]
fn only_float_collections_of_the_right_size_project() {
    assert!(eligible(4 * DIMS, 708, false));
    assert!(eligible(FLAT_MAX, 708, false));
    assert!(!eligible(FLAT_MAX + 1, 708, false));
    assert!(!eligible(4 * DIMS - 1, 708, false));
    assert!(!eligible(5_000, 708, true));
    assert!(!eligible(5_000, 2 * DIMS, false));
    let dim = 2 * DIMS + 1;
    assert!(Projection::fit(&points(4 * DIMS - 1, dim, 4, 0.0, 1), dim, 64).is_none());
    assert!(Projection::fit(&points(4 * DIMS, dim, 4, 0.0, 1), dim, 64).is_some());
}

#[test]
fn within_its_subspace_the_projection_finds_the_exact_neighbours() {
    // Rank 20 < DIMS: projected distances are the exact ones (up to rounding).
    let (rows, dim) = (1_000, 200);
    let data = points(rows, dim, 20, 0.0, 2);
    let projection = Projection::fit_rows(&data, dim).unwrap();
    assert_eq!(projection.rows(), rows);
    for q in 0..20 {
        let query = &points(1, dim, 20, 0.0, 100 + q)[..];
        let exact: Vec<u32> = exact_top_k(query, &data, dim, Metric::L2, 10, &|_| true)
            .into_iter()
            .map(|(r, _)| r)
            .collect();
        let found: Vec<u32> = rows_of(projection.candidates(query, 10, &|_| true, true));
        // Rounding may swap near ties, so compare as sets.
        let mut a = exact.clone();
        let mut b = found.clone();
        a.sort_unstable();
        b.sort_unstable();
        assert_eq!(a, b, "query {q}");
    }
}

#[test]
fn candidates_honour_the_filter_and_the_count() {
    let (rows, dim) = (700, 3 * DIMS);
    let data = points(rows, dim, 100, 0.1, 3);
    let projection = Projection::fit_rows(&data, dim).unwrap();
    let query = &data[5 * dim..6 * dim];
    let odd = rows_of(projection.candidates(query, 40, &|r| r % 2 == 1, true));
    assert_eq!(odd.len(), 40);
    assert!(odd.iter().all(|r| r % 2 == 1));
    let all = rows_of(projection.candidates(query, rows + 50, &|_| true, true));
    assert_eq!(all.len(), rows, "every row once, no padding row");
    assert_eq!(all[0], 5, "a stored row is its own nearest");
    assert!(projection.candidates(query, 0, &|_| true, true).is_empty());
    assert!(projection.candidates(query, 5, &|_| false, true).is_empty());
}

#[test]
fn the_fit_is_a_function_of_the_rows() {
    let (rows, dim) = (3_000, 3 * DIMS);
    let data = points(rows, dim, 100, 0.05, 4);
    let (a, b) = (
        Projection::fit_rows(&data, dim).unwrap(),
        Projection::fit_rows(&data, dim).unwrap(),
    );
    assert_eq!(a.basis, b.basis);
    assert_eq!(a.blocks, b.blocks);
    // The basis is orthonormal.
    for i in 0..DIMS {
        for j in 0..DIMS {
            let d: f32 = (0..dim)
                .map(|d| a.basis[d * DIMS + i] * a.basis[d * DIMS + j])
                .sum();
            let want = if i == j { 1.0 } else { 0.0 };
            assert!((d - want).abs() < 1e-4, "basis {i}.{j} = {d}");
        }
    }
}

#[test]
fn identical_rows_give_a_finite_projection() {
    let dim = 3 * DIMS;
    let data: Vec<f32> = (0..500).flat_map(|_| (0..dim).map(|d| d as f32)).collect();
    let projection = Projection::fit_rows(&data, dim).unwrap();
    assert!(projection.blocks.iter().all(|x| x.is_finite()));
    let found = rows_of(projection.candidates(&data[..dim], 3, &|_| true, true));
    assert_eq!(found, vec![0, 1, 2], "ties break by row");
}

#[test]
fn calibration_widens_or_refuses_by_what_the_projection_finds() {
    // Spread in fewer directions than the projection keeps: the candidates hold every
    // neighbour, no widening needed.
    let dim = 3 * DIMS;
    let easy = Projection::fit(&points(2_000, dim, 20, 0.001, 6), dim, 64).unwrap();
    assert_eq!(easy.candidate_count(10, 64), 64);
    assert_eq!(easy.candidate_count(100, 64), 100);
    // Spread evenly over many directions: the projection sees a sliver of each distance.
    let dim = 8 * DIMS;
    let hard = points(3_000, dim, dim, 0.0, 7);
    assert!(Projection::fit(&hard, dim, 64).is_none());
    // Leading directions plus noise in every other: widening makes up for what the
    // projection misses.
    let mut mixed = points(3_000, dim, 16, 0.0, 8);
    mixed.iter_mut().zip(&hard).for_each(|(m, n)| *m += 0.3 * n);
    let widened = Projection::fit(&mixed, dim, 64).unwrap();
    assert!(widened.widen() > 1, "widen {}", widened.widen());
    assert_eq!(widened.candidate_count(10, 32), 32 * widened.widen());
}

/// `rows` points around `centres` seeded centres in a `rank`-direction subspace of `dim`,
/// with `noise` in every direction, and `queries` more from the same distribution.
fn clustered(rows: usize, queries: usize, dim: usize, centres: usize) -> (Vec<f32>, Vec<f32>) {
    let rank = 24;
    let centre = points(centres, dim, rank, 0.0, 11);
    let spread = points(rows + queries, dim, rank, 0.05, 12);
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let mut data: Vec<f32> = Vec::with_capacity((rows + queries) * dim);
    for r in 0..rows + queries {
        let c = rng.gen_range(0..centres);
        let around = &spread[r * dim..(r + 1) * dim];
        data.extend((0..dim).map(|d| 3.0 * centre[c * dim + d] + 0.3 * around[d]));
    }
    let queries = data.split_off(rows * dim);
    (data, queries)
}

#[test]
fn clustered_rows_scan_a_share_of_the_lists_and_keep_the_recall() {
    let (rows, dim) = (6_000, 3 * DIMS);
    let (data, queries) = clustered(rows, 50, dim, 40);
    let projection = Projection::fit(&data, dim, 64).unwrap();
    let (lists, probed) = projection.lists();
    assert_eq!(lists, rows / super::super::lists::ROWS_PER_LIST);
    assert!(probed < lists, "{probed} of {lists} lists scanned");
    let count = projection.candidate_count(10, 64);
    let recall = |count: usize| {
        let (mut found, mut total) = (0, 0);
        for query in queries.chunks(dim) {
            let exact = exact_top_k(query, &data, dim, Metric::L2, 10, &|_| true);
            let candidates = rows_of(projection.candidates(query, count, &|_| true, false));
            found += exact.iter().filter(|e| candidates.contains(&e.0)).count();
            total += exact.len();
        }
        found as f64 / total as f64
    };
    let calibrated = recall(count);
    assert!(calibrated >= 0.95, "recall of the candidates {calibrated}");
    // A larger ef scans more lists, as a larger beam walks more of the graph.
    assert_eq!(projection.lists_for(count, false), probed);
    assert_eq!(
        projection.lists_for(count + 1, false),
        (2 * probed).min(lists)
    );
    assert_eq!(projection.lists_for(count, true), lists);
    assert!(recall(4 * count) >= calibrated);
}

#[test]
fn a_filtered_search_scans_every_list() {
    let (rows, dim) = (6_000, 3 * DIMS);
    let (data, _) = clustered(rows, 0, dim, 40);
    let projection = Projection::fit(&data, dim, 64).unwrap();
    assert!(projection.lists().1 < projection.lists().0);
    // Only the rows far from the query (beyond the median distance) are accepted: they sit
    // in lists an unfiltered query does not scan.
    let query = &data[..dim];
    let distance = |r: u32| vecmath::l2_squared(query, &data[r as usize * dim..][..dim]);
    let mut all: Vec<f32> = (0..rows as u32).map(distance).collect();
    all.sort_unstable_by(f32::total_cmp);
    let median = all[rows / 2];
    let far = |r: u32| distance(r) > median;
    let exact = exact_top_k(query, &data, dim, Metric::L2, 10, &far);
    let filtered = rows_of(projection.candidates(query, 128, &far, true));
    let hits = exact.iter().filter(|e| filtered.contains(&e.0)).count();
    assert!(hits >= 9, "{hits} of the 10 nearest accepted rows found");
    let probed = rows_of(projection.candidates(query, 128, &far, false));
    assert!(probed.len() < filtered.len() || probed != filtered);
}
