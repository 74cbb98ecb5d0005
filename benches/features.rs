//! Criterion benches of the feature functions on seeded random ACGT sequences.
//!
//!   cargo bench --bench features
//!
//! k-mer spectra (k = 4 and 6, plain and canonical), the Z-curve (whole sequence and per
//! codon phase) and the 16 handcrafted features, each at 251 bp and 500 bp. Throughput is in
//! bases, so the per-base cost of each function can be compared across lengths.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use genovec::features::{
    handcrafted, handcrafted_into, kmer_dim, kmer_spectrum, kmer_spectrum_into, zcurve,
    zcurve_phase, HANDCRAFTED_DIM,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const LENGTHS: [usize; 2] = [251, 500];

/// A seeded uniform random ACGT sequence.
fn random_seq(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| b"ACGT"[rng.gen_range(0..4)]).collect()
}

fn kmer(c: &mut Criterion) {
    let mut group = c.benchmark_group("kmer_spectrum");
    for len in LENGTHS {
        let seq = random_seq(len, len as u64);
        group.throughput(Throughput::Bytes(len as u64));
        for k in [4, 6] {
            for canonical in [false, true] {
                let tag = if canonical { "canonical" } else { "plain" };
                // Allocating form, as a caller that wants a fresh Vec sees it.
                group.bench_with_input(
                    BenchmarkId::new(format!("k{k}_{tag}"), len),
                    &seq,
                    |b, s| b.iter(|| kmer_spectrum(black_box(s), k, canonical)),
                );
                // In-place form, as the embedder uses it (buffer reused).
                let mut out = vec![0f32; kmer_dim(k, canonical)];
                group.bench_with_input(
                    BenchmarkId::new(format!("k{k}_{tag}_into"), len),
                    &seq,
                    |b, s| {
                        b.iter(|| {
                            kmer_spectrum_into(black_box(s), k, canonical, &mut out);
                            black_box(&out);
                        })
                    },
                );
            }
        }
    }
    group.finish();
}

fn zcurve_and_handcrafted(c: &mut Criterion) {
    let mut group = c.benchmark_group("composition");
    for len in LENGTHS {
        let seq = random_seq(len, 1000 + len as u64);
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_with_input(BenchmarkId::new("zcurve", len), &seq, |b, s| {
            b.iter(|| zcurve(black_box(s)))
        });
        group.bench_with_input(BenchmarkId::new("zcurve_phase", len), &seq, |b, s| {
            b.iter(|| zcurve_phase(black_box(s)))
        });
        group.bench_with_input(BenchmarkId::new("handcrafted", len), &seq, |b, s| {
            b.iter(|| handcrafted(black_box(s)))
        });
        let mut out = [0f32; HANDCRAFTED_DIM];
        group.bench_with_input(BenchmarkId::new("handcrafted_into", len), &seq, |b, s| {
            b.iter(|| {
                handcrafted_into(black_box(s), &mut out);
                black_box(&out);
            })
        });
    }
    group.finish();
}

fn config() -> Criterion {
    // Short runs: the benches share a small machine and must all finish in a few minutes.
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(800))
}

criterion_group! {
    name = benches;
    config = config();
    targets = kmer, zcurve_and_handcrafted
}
criterion_main!(benches);
