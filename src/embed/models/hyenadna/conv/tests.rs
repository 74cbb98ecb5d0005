use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;

fn random(n: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect()
}

/// A filter with random taps that decay like trained ones, plus its skip term.
fn conv(max_len: usize, d: usize, rng: &mut ChaCha8Rng) -> LongConv {
    let taps: Vec<f32> = random(max_len * d, rng)
        .into_iter()
        .enumerate()
        .map(|(i, x)| x * (-3.0 * (i / d) as f32 / max_len as f32).exp())
        .collect();
    LongConv::new(taps, random(d, rng), max_len)
}

fn max_abs(a: &[f32]) -> f32 {
    a.iter().fold(0.0, |m, x| m.max(x.abs()))
}

#[test]
fn direct_and_fft_agree_on_random_data() {
    let mut rng = ChaCha8Rng::seed_from_u64(20240614);
    let (max_len, d) = (1026, 8);
    let conv = conv(max_len, d, &mut rng);
    for len in [1, 2, 3, 7, 64, 99, 100, 255, 256, 257, 601, 1025, 1026] {
        let v = random(3 * len * d, &mut rng);
        let (direct, fft) = (conv.direct(&v, 3, len), conv.fft(&v, 3, len));
        let diff = crate::vecmath::max_abs_diff(&direct, &fft);
        println!(
            "T = {len}: max |direct - fft| = {diff:.2e} (max |y| {:.2})",
            max_abs(&direct)
        );
        assert!(
            diff <= 2e-6 * max_abs(&direct).max(1.0),
            "T = {len}: {diff}"
        );
    }
}

#[test]
fn direct_matches_the_definition() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (max_len, d, len) = (16, 3, 5);
    let conv = conv(max_len, d, &mut rng);
    let v = random(2 * len * d, &mut rng);
    let y = conv.direct(&v, 2, len);
    for (b, t, c) in (0..2).flat_map(|b| (0..len).flat_map(move |t| (0..d).map(move |c| (b, t, c))))
    {
        let at = |s: usize| v[(b * len + s) * d + c] as f64;
        let sum: f64 = (0..=t)
            .map(|s| conv.taps[(t - s) * d + c] as f64 * at(s))
            .sum();
        let want = sum + conv.skip[c] as f64 * at(t);
        assert!(
            (y[(b * len + t) * d + c] as f64 - want).abs() < 1e-5,
            "b {b} t {t} c {c}"
        );
    }
}

#[test]
fn outputs_ignore_later_inputs() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let (max_len, d, len, cut) = (512, 4, 300, 120);
    let conv = conv(max_len, d, &mut rng);
    let v = random(len * d, &mut rng);
    let mut w = v.clone();
    w[cut * d..].iter_mut().for_each(|x| *x = 4.0);
    let short = conv.direct(&v[..cut * d], 1, cut);
    assert_eq!(
        &conv.direct(&w, 1, len)[..cut * d],
        &short[..],
        "direct is exactly causal"
    );
    assert!(
        crate::vecmath::max_abs_diff(&conv.fft(&w, 1, len)[..cut * d], &short) < 1e-5,
        "fft is causal up to rounding"
    );
}

#[test]
fn fft_sizes_are_small_and_large_enough() {
    assert_eq!(fft_size(0), 2);
    assert_eq!(fft_size(1), 2);
    assert_eq!(fft_size(100), 256);
    assert_eq!(fft_size(601), 1536);
    assert_eq!(fft_size(768), 1536);
    assert_eq!(fft_size(1024), 2048);
    assert_eq!(fft_size(1026), 3072);
    assert!((1..3000).all(|t| fft_size(t) >= 2 * t && fft_size(t).is_multiple_of(2)));
}
