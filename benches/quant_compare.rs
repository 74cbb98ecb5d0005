//! int8 against float collections on the same records: vector memory, open time, recall@10
//! and single-thread QPS over an ef sweep, both through `Collection::search` (the int8 side
//! re-ranks its best candidates with float vectors read from the file).
//!
//!   TRAIN=/path/train.csv QUERIES=/path/dev.csv cargo bench --bench quant_compare
//!
//! Environment: TRAIN, QUERIES (CSV with a sequence column; default GUE prom_core_all train and
//! dev), NQ (queries, 1000), EF (comma list), REPEATS (passes per ef, best counts; 3),
//! KEEP (a folder to keep the two collections in and reuse them on the next run).
//! Prints one JSON line per (engine, ef) and a summary line at recall 0.95 and 0.99.

use std::path::{Path, PathBuf};
use std::time::Instant;

use genovec::engine::{self, IndexOptions};
use genovec::seq::{self, ReadOptions};
use genovec::store::{Collection, Hit, Quantize};

const K: usize = 10;

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn build(path: &Path, train: &[seq::SeqRecord], quantize: Quantize) -> f64 {
    if path.exists() {
        return f64::NAN;
    }
    let opts = IndexOptions {
        train: false,
        batch: 5000,
        quantize,
        ..IndexOptions::default()
    };
    let started = Instant::now();
    engine::index_records(path, train, &opts, &mut |_, _, _| {}).expect("index");
    started.elapsed().as_secs_f64()
}

/// (recall@10, queries per second) at one ef, the best of `repeats` passes.
fn measure(
    c: &Collection,
    queries: &[Vec<f32>],
    truth: &[Vec<Hit>],
    ef: usize,
    repeats: usize,
) -> (f64, f64) {
    let mut best = 0f64;
    let mut found = 0;
    for _ in 0..repeats {
        found = 0;
        let started = Instant::now();
        for (q, t) in queries.iter().zip(truth) {
            let hits = c.search(q, K, Some(ef), None).expect("search");
            found += hits
                .iter()
                .filter(|h| t.iter().any(|x| x.id == h.id))
                .count();
        }
        best = best.max(queries.len() as f64 / started.elapsed().as_secs_f64());
    }
    (found as f64 / (queries.len() * K) as f64, best)
}

fn main() {
    let shared = env_or("SHARED", "/work/shared");
    let gue = format!("{shared}/datasets/gue/prom/prom_core_all");
    let train_path = PathBuf::from(env_or("TRAIN", &format!("{gue}/train.csv")));
    let query_path = PathBuf::from(env_or("QUERIES", &format!("{gue}/dev.csv")));
    let nq: usize = env_or("NQ", "1000").parse().expect("NQ");
    let repeats: usize = env_or("REPEATS", "3").parse().expect("REPEATS");
    let efs: Vec<usize> = env_or("EF", "10,16,24,32,48,64,96,128,192,256")
        .split(',')
        .map(|e| e.parse().expect("EF"))
        .collect();
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = std::env::var("KEEP")
        .map(PathBuf::from)
        .unwrap_or(temp.path().to_path_buf());
    std::fs::create_dir_all(&dir).expect("KEEP folder");
    let read = ReadOptions::default();
    let train = seq::read_all(&[train_path], &read).expect("train");
    let (float_path, int8_path) = (dir.join("float.redb"), dir.join("int8.redb"));
    let build_s = [
        build(&float_path, &train, Quantize::None),
        build(&int8_path, &train, Quantize::Int8),
    ];
    let mut queries = seq::read_all(&[query_path], &read).expect("queries");
    queries.truncate(nq);
    let mut opened = Vec::new();
    for path in [&float_path, &int8_path] {
        let started = Instant::now();
        let (c, embedder) = engine::open_for_queries(path).expect("open");
        opened.push((c, embedder, started.elapsed().as_secs_f64()));
    }
    let vectors = engine::embed_queries(opened[0].1.as_ref(), &queries).expect("embed");
    let truth: Vec<Vec<Hit>> = vectors
        .iter()
        .map(|q| opened[0].0.search_exact(q, K, None).expect("exact"))
        .collect();
    let mut curves = Vec::new();
    for (i, (c, _, open_s)) in opened.iter().enumerate() {
        let name = ["float", "int8"][i];
        let file_bytes = std::fs::metadata([&float_path, &int8_path][i]).map_or(0, |m| m.len());
        let mut curve = Vec::new();
        for &ef in &efs {
            let (recall, qps) = measure(c, &vectors, &truth, ef, repeats);
            println!(
                "{}",
                serde_json::json!({"engine": name, "ef": ef, "recall": recall, "qps": qps,
                    "records": c.len(), "vector_bytes": c.vectors().vector_bytes(),
                    "file_bytes": file_bytes, "open_s": open_s, "build_s": build_s[i]})
            );
            curve.push((recall, qps));
        }
        curves.push(curve);
    }
    for target in [0.95, 0.99] {
        let at = |curve: &[(f64, f64)]| curve.iter().find(|(r, _)| *r >= target).map(|p| p.1);
        let (f, q) = (at(&curves[0]), at(&curves[1]));
        println!(
            "{}",
            serde_json::json!({"summary": target, "float_qps": f, "int8_qps": q,
                "ratio": f.zip(q).map(|(f, q)| q / f),
                "memory_ratio": opened[0].0.vectors().vector_bytes() as f64
                    / opened[1].0.vectors().vector_bytes().max(1) as f64})
        );
    }
}
