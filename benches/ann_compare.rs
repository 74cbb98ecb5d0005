//! genovec's graph search against exact search on the same vectors, on one thread; writes the
//! vectors and exact ground truth as .npy files so `benches/ann_compare.py` can run hnswlib on
//! exactly the same data. Prints one JSON object. Normally run through
//! `benches/ann_compare.sh`, which also runs hnswlib and prints the comparison table.
//!
//! ```text
//! RAYON_NUM_THREADS=1 cargo bench --bench ann_compare -- \
//!     --dataset gue --train /work/shared/datasets/gue/prom/prom_core_all/train.csv \
//!     --queries-file /work/shared/datasets/gue/prom/prom_core_all/dev.csv \
//!     --nq 1000 --out-dir bench-out/ann_gue --store-index
//! RAYON_NUM_THREADS=1 cargo bench --bench ann_compare -- \
//!     --dataset random --n 50000 --nq 1000 --dim 128 --seed 42 --out-dir bench-out/ann_random
//! ```
//!
//! `gue`: base vectors are the default composition embeddings of every train sequence, queries
//! the first `--nq` sequences of `--queries-file` (a separate split, so no query is in the
//! base). `random`: seeded uniform [-1, 1) vectors. Both are prepared as the store prepares
//! them for its default metric (cosine: unit-normalised), and searched with cosine.
//!
//! Search QPS is reported twice: by wall clock (`qps`) and by the searching thread's CPU time
//! (`qps_cpu`), which is less disturbed by other jobs on a shared machine; both are the best
//! of `--repeats` passes. Searches run on one thread. The graph is built on rayon's threads
//! (`RAYON_NUM_THREADS`; the bench sets 1 before the first build unless the caller set it).

use std::fs::File;
use std::hint::black_box;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use genovec::embed;
use genovec::seq::{self, ReadOptions};
use genovec::store::{
    build_graph, exact_top_k, Collection, CollectionConfig, GraphLayout, GraphParams, GraphSearch,
    Metric, NewRecord, Scorer,
};

#[derive(Parser, Debug)]
#[command(about = "genovec graph search vs exact search; writes vectors for hnswlib")]
struct Args {
    /// `gue` (composition embeddings of --train, queries from --queries-file) or `random`.
    #[arg(long, default_value = "gue")]
    dataset: String,
    /// Base sequences (CSV/TSV/FASTA) for `gue`.
    #[arg(
        long,
        default_value = "/work/shared/datasets/gue/prom/prom_core_all/train.csv"
    )]
    train: PathBuf,
    /// Query sequences for `gue`; the first --nq are used.
    #[arg(
        long,
        default_value = "/work/shared/datasets/gue/prom/prom_core_all/dev.csv"
    )]
    queries_file: PathBuf,
    /// Base vectors for `random`.
    #[arg(long, default_value_t = 50_000)]
    n: usize,
    /// Number of queries.
    #[arg(long, default_value_t = 1000)]
    nq: usize,
    /// Dimension for `random`.
    #[arg(long, default_value_t = 128)]
    dim: usize,
    /// Seed for `random` (queries use seed + 1).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Neighbours per query.
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// Beam widths to sweep, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "10,16,24,32,48,64,96,128,192,256,384,512"
    )]
    ef: Vec<usize>,
    /// Timed passes over the queries per ef; the fastest counts.
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Graph M (default: GraphParams::default()).
    #[arg(long)]
    m: Option<usize>,
    /// Graph ef_construction (default: GraphParams::default()).
    #[arg(long)]
    ef_construction: Option<usize>,
    /// Where the .npy files and genovec.json go.
    #[arg(long, default_value = "bench-out/ann")]
    out_dir: PathBuf,
    /// Also time the store's own index path (batches of 1000 into a temporary collection,
    /// then the graph rebuild), as `genovec index` does it minus the classifier.
    #[arg(long)]
    store_index: bool,
    /// Load the graph (and its recorded build time) from this file when it exists, else build
    /// and save it there: for profiling the search without rebuilding. Not for timing builds.
    #[arg(long)]
    graph_cache: Option<PathBuf>,
    /// Instead of everything else: load --out-dir's vectors, ground truth and the hnswlib
    /// graph that ann_compare.py exported there, and sweep that graph with genovec's search
    /// code (GraphSearch), writing genovec_on_hnswlib_graph.json. Separates the graph (the
    /// builder) from the search code.
    #[arg(long)]
    on_hnswlib_graph: bool,
    /// Cargo passes `--bench` to bench binaries; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// Vectors plus what it took to produce them.
struct Prepared {
    base: Vec<f32>,
    queries: Vec<f32>,
    dim: usize,
    n: usize,
    nq: usize,
    source: Value,
    /// For `gue`: sequences and labels, for the store index timing.
    records: Option<Vec<seq::SeqRecord>>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // Single-threaded edition 2021 program start: nothing else reads the environment yet.
        std::env::set_var("RAYON_NUM_THREADS", "1");
    }
    let metric = Metric::Cosine;
    let mut params = GraphParams::default();
    if let Some(m) = args.m {
        params.m = m;
    }
    if let Some(efc) = args.ef_construction {
        params.ef_construction = efc;
    }
    std::fs::create_dir_all(&args.out_dir)?;
    if args.on_hnswlib_graph {
        return search_hnswlib_graph(&args, metric);
    }

    let prepared = match args.dataset.as_str() {
        "gue" => prepare_gue(&args, metric)?,
        "random" => prepare_random(&args, metric),
        other => anyhow::bail!("unknown --dataset {other:?} (gue or random)"),
    };
    let Prepared {
        base,
        queries,
        dim,
        n,
        nq,
        ..
    } = &prepared;
    let (dim, n, nq, k) = (*dim, *n, *nq, args.k);
    eprintln!("[genovec] {} base x {dim}, {nq} queries", n);
    write_npy_f32(&args.out_dir.join("base.npy"), base, n, dim)?;
    write_npy_f32(&args.out_dir.join("queries.npy"), queries, nq, dim)?;

    // Exact ground truth; its time is the single-thread exact-search QPS.
    let t = Instant::now();
    let truth: Vec<Vec<(u32, f32)>> = queries
        .chunks_exact(dim)
        .map(|q| exact_top_k(q, base, dim, metric, k, &|_| true))
        .collect();
    let exact_s = t.elapsed().as_secs_f64();
    let gt_ids: Vec<i32> = truth
        .iter()
        .flat_map(|t| t.iter().map(|h| h.0 as i32))
        .collect();
    let gt_dist: Vec<f32> = truth.iter().flat_map(|t| t.iter().map(|h| h.1)).collect();
    write_npy(
        &args.out_dir.join("gt_ids.npy"),
        "<i4",
        &gt_ids,
        nq,
        k,
        |x| x.to_le_bytes(),
    )?;
    write_npy(
        &args.out_dir.join("gt_dist.npy"),
        "<f4",
        &gt_dist,
        nq,
        k,
        |x| x.to_le_bytes(),
    )?;
    eprintln!(
        "[genovec] exact: {:.1} q/s ({exact_s:.2} s)",
        nq as f64 / exact_s
    );

    let ids: Vec<u64> = (0..n as u64).collect();
    let cached = args.graph_cache.as_ref().filter(|p| p.exists());
    let (layout, build_s, build_cpu_s) = match cached {
        Some(path) => {
            let bytes = std::fs::read(path)?;
            let (cached, _): ((GraphLayout, f64, f64), usize) =
                bincode::serde::decode_from_slice(&bytes, bincode::config::standard())?;
            cached.0.validate(n).map_err(anyhow::Error::msg)?;
            eprintln!("[genovec] graph loaded from {}", path.display());
            cached
        }
        None => {
            let (t, c) = (Instant::now(), process_cpu_s());
            let layout = build_graph(&ids, base, dim, &params);
            let built = (layout, t.elapsed().as_secs_f64(), process_cpu_s() - c);
            if let Some(path) = &args.graph_cache {
                let bytes = bincode::serde::encode_to_vec(&built, bincode::config::standard())?;
                std::fs::write(path, bytes)?;
            }
            built
        }
    };
    eprintln!(
        "[genovec] graph build: {build_s:.2} s, {build_cpu_s:.2} cpu-s ({:.0} vectors/s), \
         top level {}",
        n as f64 / build_s,
        layout.top_level
    );
    let degree0: usize = (0..n)
        .map(|i| {
            layout.adj0[i * layout.m0 as usize..(i + 1) * layout.m0 as usize]
                .iter()
                .filter(|&&x| x != u32::MAX)
                .count()
        })
        .sum();

    let sweep = run_sweep(
        &layout, base, queries, dim, metric, &truth, &args, "genovec",
    );

    let store_index = if args.store_index {
        prepared
            .records
            .as_ref()
            .map(|records| time_store_index(records, &params, &args.out_dir))
            .transpose()?
    } else {
        None
    };

    let out = json!({
        "engine": "genovec",
        "dataset": args.dataset,
        "source": prepared.source,
        "n": n,
        "nq": nq,
        "dim": dim,
        "k": k,
        "metric": metric.name(),
        "threads": 1,
        "rayon_num_threads": std::env::var("RAYON_NUM_THREADS").ok(),
        "params": {"m": params.m, "m0": layout.m0, "ef_construction": params.ef_construction,
                   "ef_search_default": params.ef_search},
        "build_s": build_s,
        "build_cpu_s": build_cpu_s,
        "build_vectors_per_s": n as f64 / build_s,
        "graph": {"top_level": layout.top_level, "mean_degree0": degree0 as f64 / n as f64,
                  "upper_links": layout.upper_adj.len()},
        "exact": {"seconds": exact_s, "qps": nq as f64 / exact_s, "recall": 1.0},
        "sweep": sweep,
        "store_index": store_index,
    });
    let text = serde_json::to_string_pretty(&out)?;
    std::fs::write(args.out_dir.join("genovec.json"), &text)?;
    println!("{text}");
    Ok(())
}

/// Recall and best-of-repeats single-thread QPS of the graph at each ef.
#[allow(clippy::too_many_arguments)]
fn run_sweep(
    layout: &GraphLayout,
    base: &[f32],
    queries: &[f32],
    dim: usize,
    metric: Metric,
    truth: &[Vec<(u32, f32)>],
    args: &Args,
    tag: &str,
) -> Vec<Value> {
    let (k, nq) = (args.k, truth.len());
    let accept = |_: u32| true;
    let mut sweep = Vec::new();
    for &ef in &args.ef {
        let (mut best, mut best_cpu) = (f64::INFINITY, f64::INFINITY);
        let mut found = Vec::new();
        // Per-query latencies of the fastest pass, for the percentiles.
        let mut latencies = Vec::new();
        for _ in 0..args.repeats.max(1) {
            let (t, c) = (Instant::now(), thread_cpu_s());
            let mut pass = Vec::with_capacity(nq);
            found = queries
                .chunks_exact(dim)
                .map(|q| {
                    let t = Instant::now();
                    let scorer = Scorer::Float {
                        query: black_box(q),
                        rows: base,
                        dim,
                        metric,
                    };
                    let hits = GraphSearch {
                        layout,
                        scorer: &scorer,
                    }
                    .search(k, ef, &accept);
                    pass.push(t.elapsed().as_secs_f64());
                    hits
                })
                .collect::<Vec<_>>();
            let elapsed = t.elapsed().as_secs_f64();
            if elapsed < best {
                best = elapsed;
                latencies = pass;
            }
            best_cpu = best_cpu.min(thread_cpu_s() - c);
            black_box(&found);
        }
        let (recall, recall_ties) = recall_of(&found, truth, k);
        let (qps, qps_cpu) = (nq as f64 / best, nq as f64 / best_cpu);
        latencies.sort_by(f64::total_cmp);
        let at =
            |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
        let (p50_ms, p99_ms) = (at(0.50) * 1e3, at(0.99) * 1e3);
        eprintln!(
            "[{tag}] ef {ef:4}: recall@{k} {recall:.4} (ties {recall_ties:.4}), {qps:.0} q/s \
             ({qps_cpu:.0} per cpu-s), p50 {p50_ms:.3} ms, p99 {p99_ms:.3} ms"
        );
        sweep.push(
            json!({"ef": ef, "recall": recall, "recall_ties": recall_ties, "qps": qps,
                          "qps_cpu": qps_cpu, "p50_ms": p50_ms, "p99_ms": p99_ms}),
        );
    }
    sweep
}

/// Composition embeddings of the train file (base) and the first `nq` of the query file.
fn prepare_gue(args: &Args, metric: Metric) -> anyhow::Result<Prepared> {
    let opts = ReadOptions::default();
    let t = Instant::now();
    let records = seq::read_records(&args.train, &opts)?;
    let read_s = t.elapsed().as_secs_f64();
    let mut query_records = seq::read_records(&args.queries_file, &opts)?;
    query_records.truncate(args.nq);
    let embedder = embed::from_spec("composition")?;
    let dim = embedder.dim();

    let t = Instant::now();
    let seqs: Vec<&[u8]> = records.iter().map(|r| r.seq.as_bytes()).collect();
    let vectors = embedder.embed_batch(&seqs)?;
    let embed_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut base = Vec::with_capacity(vectors.len() * dim);
    for mut v in vectors {
        metric.prepare(&mut v);
        base.extend_from_slice(&v);
    }
    let prepare_s = t.elapsed().as_secs_f64();

    let qseqs: Vec<&[u8]> = query_records.iter().map(|r| r.seq.as_bytes()).collect();
    let mut queries = Vec::with_capacity(qseqs.len() * dim);
    for mut v in embedder.embed_batch(&qseqs)? {
        metric.prepare(&mut v);
        queries.extend_from_slice(&v);
    }
    let n = records.len();
    let bases: usize = records.iter().map(|r| r.seq.len()).sum();
    eprintln!(
        "[genovec] read {n} sequences in {read_s:.2} s, embedded in {embed_s:.2} s \
         ({:.0} seq/s), normalised in {prepare_s:.3} s",
        n as f64 / embed_s
    );
    Ok(Prepared {
        nq: query_records.len(),
        n,
        dim,
        base,
        queries,
        source: json!({
            "train": args.train.display().to_string(),
            "queries": args.queries_file.display().to_string(),
            "embedder": embedder.identity(),
            "bases": bases,
            "read_s": read_s,
            "embed_s": embed_s,
            "prepare_s": prepare_s,
            "embed_seqs_per_s": n as f64 / embed_s,
            "embed_bases_per_s": bases as f64 / embed_s,
        }),
        records: Some(records),
    })
}

/// Seeded uniform vectors, prepared for the metric.
fn prepare_random(args: &Args, metric: Metric) -> Prepared {
    let make = |count: usize, seed: u64| {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut data: Vec<f32> = (0..count * args.dim)
            .map(|_| rng.gen_range(-1.0..1.0))
            .collect();
        data.chunks_exact_mut(args.dim)
            .for_each(|v| metric.prepare(v));
        data
    };
    Prepared {
        base: make(args.n, args.seed),
        queries: make(args.nq, args.seed + 1),
        dim: args.dim,
        n: args.n,
        nq: args.nq,
        source: json!({"generator": "ChaCha8 uniform [-1,1) then normalised",
                       "seed": args.seed, "query_seed": args.seed + 1}),
        records: None,
    }
}

/// The `--on-hnswlib-graph` mode.
fn search_hnswlib_graph(args: &Args, metric: Metric) -> anyhow::Result<()> {
    let dir = &args.out_dir;
    let (base, n, dim) = read_npy(&dir.join("base.npy"), f32::from_le_bytes)?;
    let (queries, nq, _) = read_npy(&dir.join("queries.npy"), f32::from_le_bytes)?;
    let (gt_ids, _, k) = read_npy(&dir.join("gt_ids.npy"), i32::from_le_bytes)?;
    let (gt_dist, _, _) = read_npy(&dir.join("gt_dist.npy"), f32::from_le_bytes)?;
    anyhow::ensure!(k == args.k, "ground truth has k={k}, --k is {}", args.k);
    let truth: Vec<Vec<(u32, f32)>> = gt_ids
        .chunks_exact(k)
        .zip(gt_dist.chunks_exact(k))
        .map(|(ids, ds)| ids.iter().zip(ds).map(|(&i, &d)| (i as u32, d)).collect())
        .collect();
    let meta: Value = serde_json::from_slice(&std::fs::read(dir.join("hnsw_graph.json"))?)?;
    let (adj0, rows, m0) = read_npy(&dir.join("hnsw_adj0.npy"), i32::from_le_bytes)?;
    let (levels, _, _) = read_npy(&dir.join("hnsw_levels.npy"), i32::from_le_bytes)?;
    let (upper, _, _) = read_npy(&dir.join("hnsw_upper.npy"), i32::from_le_bytes)?;
    anyhow::ensure!(rows == n, "graph has {rows} nodes, base {n}");
    let mut layout = GraphLayout {
        ids: (0..n as u64).collect(),
        entry: meta["entry"].as_u64().unwrap_or(0) as u32,
        top_level: meta["top_level"].as_u64().unwrap_or(0) as u8,
        m0: m0 as u32,
        adj0: adj0
            .iter()
            .map(|&x| if x < 0 { u32::MAX } else { x as u32 })
            .collect(),
        levels: levels.iter().map(|&l| l as u8).collect(),
        upper_slot: vec![u32::MAX; n],
        upper_ranges: vec![],
        upper_adj: vec![],
    };
    let mut at = 0;
    for (node, &level) in levels.iter().enumerate() {
        if level == 0 {
            continue;
        }
        layout.upper_slot[node] = layout.upper_ranges.len() as u32;
        for _ in 1..=level {
            let count = upper[at] as usize;
            let start = layout.upper_adj.len() as u32;
            layout
                .upper_adj
                .extend(upper[at + 1..at + 1 + count].iter().map(|&x| x as u32));
            layout
                .upper_ranges
                .push([start, layout.upper_adj.len() as u32]);
            at += 1 + count;
        }
    }
    anyhow::ensure!(
        at == upper.len(),
        "upper lists: read {at} of {}",
        upper.len()
    );
    layout.validate(n).map_err(anyhow::Error::msg)?;
    eprintln!("[genovec-search/hnswlib-graph] {n} x {dim}, {nq} queries");
    let sweep = run_sweep(
        &layout,
        &base,
        &queries,
        dim,
        metric,
        &truth,
        args,
        "genovec-search/hnswlib-graph",
    );
    let out = json!({"engine": "genovec search code on hnswlib's graph", "n": n, "nq": nq,
                     "dim": dim, "k": k, "graph": meta, "sweep": sweep});
    let text = serde_json::to_string_pretty(&out)?;
    std::fs::write(dir.join("genovec_on_hnswlib_graph.json"), &text)?;
    println!("{text}");
    Ok(())
}

/// Reads a 2-d (or 1-d, as one column) little-endian .npy of 4-byte items.
fn read_npy<T>(path: &Path, from: fn([u8; 4]) -> T) -> anyhow::Result<(Vec<T>, usize, usize)> {
    let bytes = std::fs::read(path)?;
    anyhow::ensure!(
        bytes.starts_with(b"\x93NUMPY"),
        "{} is not .npy",
        path.display()
    );
    let (hlen, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        _ => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
    };
    let header = std::str::from_utf8(&bytes[start..start + hlen])?;
    anyhow::ensure!(
        header.contains("'fortran_order': False") && header.contains("4'"),
        "{}: need C-order 4-byte items: {header}",
        path.display()
    );
    let shape = header
        .split_once("'shape': (")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(dims, _)| {
            dims.split(',')
                .filter_map(|d| d.trim().parse::<usize>().ok())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let (rows, cols) = match shape[..] {
        [r] => (r, 1),
        [r, c] => (r, c),
        _ => anyhow::bail!("{}: unsupported shape in {header}", path.display()),
    };
    let data: Vec<T> = bytes[start + hlen..]
        .chunks_exact(4)
        .map(|c| from([c[0], c[1], c[2], c[3]]))
        .collect();
    anyhow::ensure!(data.len() == rows * cols, "{}: short data", path.display());
    Ok((data, rows, cols))
}

/// CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID, ns resolution); NaN off Linux.
fn thread_cpu_s() -> f64 {
    cpu_clock(3)
}

/// CPU time of the whole process, all threads (CLOCK_PROCESS_CPUTIME_ID); NaN off Linux.
fn process_cpu_s() -> f64 {
    cpu_clock(2)
}

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn cpu_clock(clock: i32) -> f64 {
    #[repr(C)]
    struct Timespec {
        sec: i64,
        nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
    }
    let mut t = Timespec { sec: 0, nsec: 0 };
    // SAFETY: libc's clock_gettime writes one timespec (two i64 on 64-bit Linux) into `t`.
    if unsafe { clock_gettime(clock, &mut t) } == 0 {
        t.sec as f64 + t.nsec as f64 * 1e-9
    } else {
        f64::NAN
    }
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn cpu_clock(_clock: i32) -> f64 {
    f64::NAN
}

/// Recall@k by id, and tie-aware recall (a hit counts when its distance is within the k-th
/// true distance, so equal vectors, e.g. duplicate sequences, cannot cost recall).
fn recall_of(found: &[Vec<(u32, f32)>], truth: &[Vec<(u32, f32)>], k: usize) -> (f64, f64) {
    let (mut hits, mut hits_ties) = (0usize, 0usize);
    for (got, want) in found.iter().zip(truth) {
        hits += got
            .iter()
            .filter(|g| want.iter().any(|w| w.0 == g.0))
            .count();
        let limit = want.last().map_or(f32::INFINITY, |w| w.1) + 1e-5;
        hits_ties += got.iter().filter(|g| g.1 <= limit).count();
    }
    let total = (truth.len() * k) as f64;
    (hits as f64 / total, hits_ties as f64 / total)
}

/// Times the store's index path into a temporary collection: durable batches of 1000
/// (normalise, dedup, redb commit), then the graph rebuild and its persist.
fn time_store_index(
    records: &[seq::SeqRecord],
    params: &GraphParams,
    out_dir: &std::path::Path,
) -> anyhow::Result<Value> {
    let embedder = embed::from_spec("composition")?;
    // Inside the output folder (created at start-up), wherever OUT points.
    let dir = tempfile::tempdir_in(out_dir)?;
    let path = dir.path().join("ann_compare.redb");
    let mut config = CollectionConfig::new("composition", &embedder.identity(), embedder.dim());
    config.graph = *params;
    let t_all = Instant::now();
    let mut collection = Collection::create_or_open(&path, &config)?;
    let mut embed_s = 0.0;
    let mut insert_s = 0.0;
    for chunk in records.chunks(1000) {
        let t = Instant::now();
        let seqs: Vec<&[u8]> = chunk.iter().map(|r| r.seq.as_bytes()).collect();
        let vectors = embedder.embed_batch(&seqs)?;
        let batch: Vec<NewRecord> = chunk
            .iter()
            .zip(vectors)
            .map(|(r, vector)| NewRecord {
                name: r.name.clone(),
                label: r.label.clone().unwrap_or_default(),
                seq: r.seq.as_bytes().to_vec(),
                vector,
                metadata: None,
            })
            .collect();
        embed_s += t.elapsed().as_secs_f64();
        let t = Instant::now();
        collection.insert_batch(&batch, false)?;
        insert_s += t.elapsed().as_secs_f64();
    }
    let t = Instant::now();
    collection.rebuild_graph()?;
    let rebuild_s = t.elapsed().as_secs_f64();
    let total_s = t_all.elapsed().as_secs_f64();
    let stored = collection.len();
    let file_bytes = std::fs::metadata(&path)?.len();
    eprintln!(
        "[genovec] store index: {stored} records in {total_s:.2} s ({:.0} records/s): \
         embed {embed_s:.2} s, insert {insert_s:.2} s, graph rebuild {rebuild_s:.2} s",
        records.len() as f64 / total_s
    );
    Ok(json!({
        "records_in": records.len(),
        "records_stored": stored,
        "batch": 1000,
        "total_s": total_s,
        "records_per_s": records.len() as f64 / total_s,
        "embed_s": embed_s,
        "insert_s": insert_s,
        "rebuild_graph_s": rebuild_s,
        "file_bytes": file_bytes,
    }))
}

fn write_npy_f32(path: &Path, data: &[f32], rows: usize, cols: usize) -> std::io::Result<()> {
    write_npy(path, "<f4", data, rows, cols, |x| x.to_le_bytes())
}

/// A 2-d little-endian .npy (format 1.0), readable by `numpy.load`.
fn write_npy<T: Copy>(
    path: &Path,
    descr: &str,
    data: &[T],
    rows: usize,
    cols: usize,
    bytes: impl Fn(T) -> [u8; 4],
) -> std::io::Result<()> {
    assert_eq!(data.len(), rows * cols);
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    // Magic (6) + version (2) + header length (2) + header + '\n', padded to 64 bytes.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = BufWriter::new(File::create(path)?);
    out.write_all(b"\x93NUMPY\x01\x00")?;
    out.write_all(&(header.len() as u16).to_le_bytes())?;
    out.write_all(header.as_bytes())?;
    for &x in data {
        out.write_all(&bytes(x))?;
    }
    out.flush()
}
