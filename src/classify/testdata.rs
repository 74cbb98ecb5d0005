//! Synthetic data for the classify tests.

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `per` points around each centre, jittered uniformly by ±`spread` per coordinate.
pub fn clusters(
    centres: &[(&[f64], u32)],
    per: usize,
    spread: f64,
    seed: u64,
) -> (Array2<f64>, Vec<u32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let dim = centres[0].0.len();
    let (mut data, mut y) = (Vec::new(), Vec::new());
    for _ in 0..per {
        for (centre, label) in centres {
            data.extend(centre.iter().map(|c| c + rng.gen_range(-spread..=spread)));
            y.push(*label);
        }
    }
    (Array2::from_shape_vec((y.len(), dim), data).unwrap(), y)
}

/// Fraction of rows whose argmax probability is the label.
pub fn train_accuracy(probs: &[Vec<f64>], y: &[u32]) -> f64 {
    let hits = probs
        .iter()
        .zip(y)
        .filter(|(p, &l)| crate::classify::argmax(p).0 == l as usize)
        .count();
    hits as f64 / y.len() as f64
}
