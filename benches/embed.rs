//! Criterion benches of the composition embedder (the default configuration: canonical
//! k = 1..5, square-rooted spectra plus the 16 handcrafted features, 708 values).
//!
//!   cargo bench --bench embed
//!
//! `embed_batch` of 1 sequence and of 64 sequences at 70, 251 and 500 bp; throughput is in
//! elements (sequences), so criterion reports sequences per second.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use genovec::embed::{Composition, Embedder};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const LENGTHS: [usize; 3] = [70, 251, 500];
const BATCHES: [usize; 2] = [1, 64];

/// `n` seeded uniform random ACGT sequences of length `len`.
fn random_seqs(n: usize, len: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| (0..len).map(|_| b"ACGT"[rng.gen_range(0..4)]).collect())
        .collect()
}

fn embed(c: &mut Criterion) {
    let embedder = Composition::default();
    let mut group = c.benchmark_group(format!("composition_embed_dim{}", embedder.dim()));
    for len in LENGTHS {
        for batch in BATCHES {
            let seqs = random_seqs(batch, len, (len * 1000 + batch) as u64);
            let refs: Vec<&[u8]> = seqs.iter().map(Vec::as_slice).collect();
            group.throughput(Throughput::Elements(batch as u64));
            group.bench_with_input(
                BenchmarkId::new(format!("batch{batch}"), format!("{len}bp")),
                &refs,
                |b, refs| b.iter(|| embedder.embed_batch(black_box(refs)).unwrap()),
            );
        }
    }
    group.finish();
}

fn config() -> Criterion {
    // Short runs: the benches share a small machine and must all finish in a few minutes.
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = embed
}
criterion_main!(benches);
