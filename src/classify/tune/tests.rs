use super::*;
use crate::classify::testdata::clusters;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn rows(x: &Array2<f64>) -> Vec<Vec<f32>> {
    x.rows()
        .into_iter()
        .map(|r| r.iter().map(|&v| v as f32).collect())
        .collect()
}

fn input<'a>(
    emb: &'a [Vec<f32>],
    x: &'a Array2<f64>,
    y: &'a [u32],
    n_classes: usize,
) -> TuneInput<'a> {
    TuneInput {
        embeddings: emb,
        design: x,
        y,
        n_classes,
        vote: Vote::Distance,
        seed: 11,
        max_iter: 100,
    }
}

#[test]
fn cosine_distance_hand_cases() {
    assert!(cosine_distance(&[1.0, 0.0], &[2.0, 0.0]).abs() < 1e-6);
    assert!((cosine_distance(&[1.0, 0.0], &[0.0, 3.0]) - 1.0).abs() < 1e-6);
    assert!((cosine_distance(&[1.0, 1.0], &[-1.0, -1.0]) - 2.0).abs() < 1e-6);
    assert_eq!(cosine_distance(&[0.0, 0.0], &[1.0, 0.0]), 1.0);
}

#[test]
fn nearest_lists_the_closest_fit_rows_in_order() {
    let emb = vec![
        vec![1.0, 0.0],
        vec![1.0, 0.2],
        vec![0.0, 1.0],
        vec![1.0, 0.05],
    ];
    let x = Array2::zeros((4, 1));
    let y = [0, 1, 2, 3];
    let n = nearest(&input(&emb, &x, &y, 4), &[0, 1, 2], &[3], 2);
    assert_eq!(n[0].iter().map(|p| p.0).collect::<Vec<_>>(), vec![0, 1]);
    assert!(n[0][0].1 <= n[0][1].1);
}

/// XOR: four clusters by direction; no linear boundary, trivial for kNN.
#[test]
fn prefers_knn_on_an_xor_problem() {
    let (x, y) = clusters(
        &[
            (&[3.0, 3.0], 0),
            (&[-3.0, -3.0], 0),
            (&[3.0, -3.0], 1),
            (&[-3.0, 3.0], 1),
        ],
        60,
        1.0,
        5,
    );
    let emb = rows(&x);
    let result = tune(&input(&emb, &x, &y, 2)).unwrap();
    assert!(result.params.weight_knn >= 0.5, "{result:?}");
    assert_eq!(result.val_accuracy, 1.0);
    assert_eq!(
        result.grid_size,
        K_GRID.len() * C_GRID.len() * (WEIGHT_STEPS + 1)
    );
    assert_eq!(
        (result.params.vote, result.params.threshold),
        (Vote::Distance, None)
    );
}

/// A linear boundary with 25% label noise: a 1- or 3-neighbour vote alone would overfit.
#[test]
fn avoids_a_tiny_k_vote_on_a_noisy_linear_problem() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let (mut data, mut y) = (Vec::new(), Vec::new());
    for _ in 0..800 {
        let (a, b) = (rng.gen_range(-2.0..2.0), rng.gen_range(-2.0..2.0));
        data.extend([a, b]);
        y.push(u32::from((a > 0.0) != (rng.gen::<f64>() < 0.25)));
    }
    let x = Array2::from_shape_vec((800, 2), data).unwrap();
    let emb: Vec<Vec<f32>> = x
        .rows()
        .into_iter()
        .map(|r| vec![r[0] as f32, r[1] as f32, 3.0])
        .collect();
    let result = tune(&input(&emb, &x, &y, 2)).unwrap();
    assert!(
        result.params.k >= 5 || result.params.weight_knn <= 0.5,
        "{result:?}"
    );
    assert!(result.val_accuracy >= 0.65, "{result:?}");
}

#[test]
fn is_deterministic_and_limits_k_to_the_fit_size() {
    let (x, y) = clusters(
        &[(&[1.0, 0.0], 0), (&[0.0, 1.0], 1), (&[-1.0, 0.0], 2)],
        4,
        0.2,
        3,
    );
    let emb = rows(&x);
    let a = tune(&input(&emb, &x, &y, 3)).unwrap();
    let b = tune(&input(&emb, &x, &y, 3)).unwrap();
    assert_eq!(a.params, b.params);
    // 12 rows: 9 fit rows (3 per class), so k ∈ {1, 3, 5, 9}.
    assert_eq!(a.grid_size, 4 * C_GRID.len() * (WEIGHT_STEPS + 1));
    assert!(a.params.k <= 9);
}

#[test]
fn rejects_unusable_input() {
    let (x, y) = clusters(&[(&[1.0, 0.0], 0), (&[0.0, 1.0], 1)], 1, 0.1, 3);
    let emb = rows(&x);
    assert!(
        tune(&input(&emb, &x, &y, 2)).is_err(),
        "singleton classes leave no validation rows"
    );
    assert!(tune(&input(&emb[..1], &x, &y, 2)).is_err());
    assert!(tune(&input(&emb, &x, &y, 1)).is_err());
    let ragged = vec![vec![1.0, 0.0], vec![1.0]];
    assert!(tune(&input(&ragged, &x, &y, 2)).is_err());
}
