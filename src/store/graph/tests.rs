use super::*;
use crate::store::metric::Metric;
use crate::store::scan::exact_top_k;
use rand::{Rng, SeedableRng};

fn random_unit_vectors(n: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut data: Vec<f32> = (0..n * dim).map(|_| rng.gen_range(-1.0..1.0)).collect();
    data.chunks_exact_mut(dim)
        .for_each(crate::vecmath::normalize);
    data
}

/// Searches `layout` over float rows with the cosine (or given) metric.
#[allow(clippy::too_many_arguments)]
fn search_floats(
    layout: &GraphLayout,
    data: &[f32],
    dim: usize,
    metric: Metric,
    q: &[f32],
    k: usize,
    ef: usize,
    accept: &dyn Fn(u32) -> bool,
) -> Vec<(u32, f32)> {
    let scorer = Scorer::Float {
        query: q,
        rows: data,
        dim,
        metric,
    };
    GraphSearch {
        layout,
        scorer: &scorer,
    }
    .search(k, ef, accept)
}

/// recall@10 of the graph at the default ef, against exact search, over `queries`.
fn recall_at_10(layout: &GraphLayout, data: &[f32], dim: usize, queries: &[f32]) -> f64 {
    let (k, mut hit) = (10, 0);
    for q in queries.chunks_exact(dim) {
        let truth = exact_top_k(q, data, dim, Metric::Cosine, k, &|_| true);
        let ef = GraphParams::default().ef_search;
        let got = search_floats(layout, data, dim, Metric::Cosine, q, k, ef, &|_| true);
        hit += got
            .iter()
            .filter(|g| truth.iter().any(|t| t.0 == g.0))
            .count();
    }
    hit as f64 / (queries.len() / dim * k) as f64
}

#[test]
fn built_layout_is_valid_and_finds_itself() {
    let (n, dim) = (500, 16);
    let data = random_unit_vectors(n, dim, 7);
    let ids: Vec<u64> = (0..n as u64).map(|i| i * 3).collect();
    let layout = build(&ids, &data, dim, &GraphParams::default());
    layout.validate(n).unwrap();
    for node in [0u32, 17, 499] {
        let q = &data[node as usize * dim..(node as usize + 1) * dim];
        let hits = search_floats(&layout, &data, dim, Metric::Cosine, q, 1, 32, &|_| true);
        assert_eq!(hits[0].0, node, "a vector's nearest neighbour is itself");
    }
}

#[test]
fn recall_against_exact_search_on_seeded_data() {
    let (n, dim, seed) = (3000, 32, 42);
    println!("seed {seed}");
    let data = random_unit_vectors(n, dim, seed);
    let ids: Vec<u64> = (0..n as u64).collect();
    let layout = build(&ids, &data, dim, &GraphParams::default());
    let recall = recall_at_10(
        &layout,
        &data,
        dim,
        &random_unit_vectors(200, dim, seed + 1),
    );
    assert!(recall >= 0.95, "recall@10 {recall} < 0.95 (seed {seed})");
}

#[test]
fn filter_excludes_rejected_nodes() {
    let (n, dim) = (400, 8);
    let data = random_unit_vectors(n, dim, 3);
    let ids: Vec<u64> = (0..n as u64).collect();
    let layout = build(&ids, &data, dim, &GraphParams::default());
    let odd = |node: u32| node % 2 == 1;
    let hits = search_floats(
        &layout,
        &data,
        dim,
        Metric::Cosine,
        &data[..dim],
        10,
        64,
        &odd,
    );
    assert_eq!(hits.len(), 10);
    assert!(hits.iter().all(|h| h.0 % 2 == 1));
    assert!(
        hits.windows(2).all(|w| w[0].1 <= w[1].1),
        "sorted ascending"
    );
}

#[test]
fn empty_graph_returns_nothing() {
    let layout = build(&[], &[], 4, &GraphParams::default());
    let hits = search_floats(&layout, &[], 4, Metric::L2, &[0.0; 4], 3, 10, &|_| true);
    assert!(hits.is_empty());
}

#[test]
fn validate_rejects_out_of_range_neighbours() {
    let data = random_unit_vectors(50, 4, 1);
    let ids: Vec<u64> = (0..50).collect();
    let mut layout = build(&ids, &data, 4, &GraphParams::default());
    layout.adj0[0] = 999;
    assert!(layout.validate(50).is_err());
}

#[test]
fn the_same_rows_always_give_the_same_graph() {
    let (n, dim) = (2000, 12);
    let data = random_unit_vectors(n, dim, 5);
    let ids: Vec<u64> = (0..n as u64).collect();
    let params = GraphParams::default();
    let first = build(&ids, &data, dim, &params);
    for _ in 0..3 {
        assert_eq!(build(&ids, &data, dim, &params), first);
    }
}

#[test]
fn one_thread_and_two_build_the_same_graph() {
    // Past the first batches of one node, so several nodes are placed per parallel batch.
    let (n, dim) = (3000, 12);
    let data = random_unit_vectors(n, dim, 9);
    let ids: Vec<u64> = (0..n as u64).collect();
    let params = GraphParams::default();
    let on = |threads| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| build(&ids, &data, dim, &params))
    };
    let one = on(1);
    assert_eq!(on(2), one);
    assert_eq!(on(3), one);
}

#[test]
fn layer_zero_links_are_capped_and_point_elsewhere() {
    let (n, dim) = (2500, 8);
    let data = random_unit_vectors(n, dim, 11);
    let ids: Vec<u64> = (0..n as u64).collect();
    let layout = build(&ids, &data, dim, &GraphParams::default());
    for node in 0..n as u32 {
        let links = layout.neighbours0(node);
        assert!(!links.is_empty(), "node {node} has no links");
        assert!(!links.contains(&node), "node {node} links to itself");
        let mut sorted = links.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(
            sorted.len(),
            links.len(),
            "node {node} links twice to one node"
        );
    }
    assert!(layout.top_level >= 1, "2,500 nodes at M = 16 reach level 1");
}

#[test]
fn an_extended_graph_keeps_its_nodes_and_finds_the_new_rows() {
    let (n, dim) = (3000, 32);
    let data = random_unit_vectors(n, dim, 21);
    let ids: Vec<u64> = (0..n as u64).collect();
    let params = GraphParams::default();
    let half = build(&ids[..n / 2], &data[..n / 2 * dim], dim, &params);
    let full = extend(Some(&half), &ids, &data, dim, &params);
    full.validate(n).unwrap();
    assert_eq!(
        full.levels[..n / 2],
        half.levels[..],
        "old nodes keep their levels"
    );
    let recall = recall_at_10(&full, &data, dim, &random_unit_vectors(200, dim, 22));
    assert!(recall >= 0.95, "recall@10 {recall} < 0.95 after extending");
}

#[test]
fn a_base_over_other_rows_is_not_extended() {
    let (n, dim) = (600, 8);
    let data = random_unit_vectors(n, dim, 23);
    let ids: Vec<u64> = (0..n as u64).collect();
    let params = GraphParams::default();
    let shifted: Vec<u64> = (1..=300).collect();
    let stale = build(&shifted, &data[..300 * dim], dim, &params);
    assert_eq!(
        extend(Some(&stale), &ids, &data, dim, &params),
        build(&ids, &data, dim, &params)
    );
}
