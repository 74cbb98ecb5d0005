//! Criterion benches of collection search: the HNSW graph (`Collection::search`) against the
//! exact scan (`Collection::search_exact`), k = 10.
//!
//!   cargo bench --bench search
//!   GENOVEC_BENCH_RECORDS=20000 cargo bench --bench search   # collection size (default 5000)
//!
//! The collection is a real redb file in a temporary directory, built with
//! `engine::index_records` from seeded demo records (200 bp, three classes; the classifier is
//! trained as part of indexing, as `genovec index` does). It is then reopened read-only, as
//! `genovec search` opens it. Queries are demo records from another seed (not stored),
//! embedded once up front, so only the search is timed; each iteration searches the next
//! query of a fixed set of 256. Recall@10 of the graph against the exact scan is printed
//! before the timings.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use genovec::demo;
use genovec::engine::{self, IndexOptions};
use genovec::store::Collection;

const K: usize = 10;
const N_QUERIES: usize = 256;

fn n_records() -> usize {
    std::env::var("GENOVEC_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000)
}

fn search(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.redb");
    let records = demo::generate(1, n_records().div_ceil(3));
    let started = Instant::now();
    let report =
        engine::index_records(&path, &records, &IndexOptions::default(), &mut |_, _, _| {})
            .expect("index");
    eprintln!(
        "indexed {} records ({} stored, graph rebuilt: {}) in {:.1} s",
        report.read,
        report.total,
        report.rebuilt_graph,
        started.elapsed().as_secs_f64()
    );

    let (collection, embedder) = engine::open_for_queries(&path).expect("open");
    assert_eq!(
        collection.tail_len(),
        0,
        "every record should be in the graph, so graph search is not mostly a tail scan"
    );
    let queries = demo::generate(2, N_QUERIES.div_ceil(3));
    let vectors = engine::embed_queries(embedder.as_ref(), &queries[..N_QUERIES]).expect("embed");
    print_recall(&collection, &vectors);

    let n = collection.len();
    let mut group = c.benchmark_group(format!("search_k{K}_dim{}", collection.config().dim));
    group.throughput(Throughput::Elements(1));
    let ef_default = collection.config().graph.ef_search;
    for ef in [ef_default, 128] {
        let mut i = 0;
        group.bench_function(BenchmarkId::new(format!("graph_ef{ef}"), n), |b| {
            b.iter(|| {
                i = (i + 1) % vectors.len();
                collection
                    .search(black_box(&vectors[i]), K, Some(ef), None)
                    .unwrap()
            })
        });
    }
    let mut i = 0;
    group.bench_function(BenchmarkId::new("exact", n), |b| {
        b.iter(|| {
            i = (i + 1) % vectors.len();
            collection
                .search_exact(black_box(&vectors[i]), K, None)
                .unwrap()
        })
    });
    group.finish();
}

/// Mean fraction of the exact top-k ids that the graph search returns.
fn print_recall(collection: &Collection, vectors: &[Vec<f32>]) {
    for ef in [collection.config().graph.ef_search, 128] {
        let mut found = 0;
        for v in vectors {
            let exact = collection.search_exact(v, K, None).unwrap();
            let graph = collection.search(v, K, Some(ef), None).unwrap();
            found += graph
                .iter()
                .filter(|h| exact.iter().any(|e| e.id == h.id))
                .count();
        }
        eprintln!(
            "recall@{K} of graph search (ef {ef}) vs exact over {} queries: {:.4}",
            vectors.len(),
            found as f64 / (K * vectors.len()) as f64
        );
    }
}

fn config() -> Criterion {
    // Short runs: the benches share a small machine and must all finish in a few minutes.
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = search
}
criterion_main!(benches);
