//! Classification throughput (sequences per second) of the composition embedder on real
//! data, through the same engine call `genovec classify` makes, on one thread by default. Prints one
//! JSON object per sequence length on stdout (JSON Lines), a summary on stderr.
//!
//!   cargo bench --bench classify_throughput -- --shared /work/shared
//!       [--train-251 gb5k|gue] [--subsample 5000] [--repeats 3] [--n 0] [--out FILE]
//!       [--quantize none|int8]
//!
//! Runs (collections are real redb files in a temporary directory, indexed with
//! `engine::index_records`, which also trains the classifier, exactly as `genovec index`):
//!
//! * 251 bp: queries are the Genomic Benchmarks human_nontata_promoters test sequences
//!   (9034, column `seq`). The collection is, by default (`--train-251 gb5k`), a seeded
//!   5000-row subsample of that same file, so train and query length and distribution
//!   match; about 55% of the queries are then stored records, which is fine for timing but
//!   makes the printed accuracy meaningless. `--train-251 gue` indexes GUE
//!   prom_300_notata dev.csv instead (5307 rows of 300 bp, what the scikit-learn baseline
//!   fits on; a distribution shift, accuracy near chance).
//! * 500 bp: index GUE EMP H3 dev.csv (1497 rows), classify H3 test.csv (1497).
//!
//! Timed: `engine::classify_records` over every query record already in memory (embedding,
//! graph kNN search, linear model, fusion, neighbour names), best and median of `--repeats`
//! passes after one warm-up pass. Not timed: reading the CSVs, indexing/training, opening the
//! collection. `--n` tiles the queries up to that many (0: the query file as is).
//!
//! Threads: classification spreads its queries over rayon's threads (each answer computed as
//! alone). This binary sets `RAYON_NUM_THREADS=1` before anything starts rayon, unless the
//! caller already set it, so by default everything, the index build too, is one thread.
//! Each result carries `cpu_per_wall` (process CPU time over wall time during the timed
//! passes, from /proc/self/stat; about 1.0 means one busy thread) and the process's thread
//! count. On a shared machine where the process gets less than a full core, `seq_per_cpu_s`
//! (n over the CPU time of the fastest-CPU pass, 10 ms resolution) is the throughput per busy
//! core, less sensitive to the neighbours' load.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use genovec::engine::{self, ClassifyOptions, IndexOptions};
use genovec::seq::{self, ReadOptions, SeqRecord};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

const SUBSAMPLE_SEED: u64 = 42;

struct Args {
    shared: PathBuf,
    train_251: String,
    subsample: usize,
    repeats: usize,
    n: usize,
    out: Option<PathBuf>,
    quantize: genovec::store::Quantize,
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        shared: PathBuf::from("../shared"),
        train_251: "gb5k".into(),
        subsample: 5000,
        repeats: 3,
        n: 0,
        out: None,
        quantize: genovec::store::Quantize::None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--shared" => args.shared = value()?.into(),
            "--train-251" => args.train_251 = value()?,
            "--subsample" => args.subsample = value()?.parse()?,
            "--repeats" => args.repeats = value()?.parse::<usize>()?.max(1),
            "--n" => args.n = value()?.parse()?,
            "--out" => args.out = Some(value()?.into()),
            "--quantize" => args.quantize = value()?.parse()?,
            "--bench" => {} // cargo bench passes this to harness = false targets
            "-h" | "--help" => {
                eprintln!("usage: classify_throughput [--shared DIR] [--train-251 gb5k|gue] [--subsample N] [--repeats N] [--n N] [--out FILE] [--quantize none|int8]");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}"),
        }
    }
    if !matches!(args.train_251.as_str(), "gb5k" | "gue") {
        bail!("--train-251 must be gb5k or gue");
    }
    Ok(args)
}

/// Process CPU seconds (user + system, all threads) from /proc/self/stat.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After "pid (comm) ", field 0 is state; utime and stime are fields 11 and 12.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ is 100 on Linux
}

fn thread_count() -> Option<usize> {
    std::fs::read_dir("/proc/self/task").ok().map(|d| d.count())
}

fn read(path: &Path) -> Result<Vec<SeqRecord>> {
    seq::read_records(path, &ReadOptions::default())
        .with_context(|| format!("reading {}", path.display()))
}

struct Run {
    name: &'static str,
    length_bp: usize,
    train_file: PathBuf,
    train: Vec<SeqRecord>,
    query_file: PathBuf,
    queries: Vec<SeqRecord>,
}

fn run(run: Run, args: &Args, dir: &Path) -> Result<serde_json::Value> {
    let path = dir.join(format!("{}.redb", run.name));
    let t = Instant::now();
    engine::index_records(
        &path,
        &run.train,
        &IndexOptions {
            quantize: args.quantize,
            ..IndexOptions::default()
        },
        &mut |_, _, _| {},
    )
    .with_context(|| format!("indexing {}", run.train_file.display()))?;
    let index_s = t.elapsed().as_secs_f64();

    let (collection, embedder) = engine::open_for_queries(&path)?;
    let state = engine::load_state(&collection)?;
    let opts = ClassifyOptions::default();

    let n = if args.n == 0 {
        run.queries.len()
    } else {
        args.n
    };
    let queries: Vec<SeqRecord> = run.queries.iter().cycle().take(n).cloned().collect();
    let classify = |qs: &[SeqRecord]| {
        engine::classify_records(&collection, embedder.as_ref(), state.as_ref(), qs, opts)
    };

    let warm = classify(&queries[..queries.len().min(500)])?;
    assert!(!warm.is_empty());
    let mut times = Vec::with_capacity(args.repeats);
    let mut cpu_times = Vec::with_capacity(args.repeats);
    let (cpu0, wall0) = (cpu_seconds(), Instant::now());
    let mut predictions = Vec::new();
    for _ in 0..args.repeats {
        let (t, c) = (Instant::now(), cpu_seconds());
        predictions = classify(&queries)?;
        times.push(t.elapsed().as_secs_f64());
        if let Some(d) = c.zip(cpu_seconds()).map(|(a, b)| b - a) {
            cpu_times.push(d);
        }
    }
    let wall = wall0.elapsed().as_secs_f64();
    let cpu_per_wall = cpu0.zip(cpu_seconds()).map(|(a, b)| (b - a) / wall);
    let threads = thread_count();

    let correct = predictions
        .iter()
        .zip(&queries)
        .filter(|(p, q)| q.label.as_deref() == Some(p.label.as_str()))
        .count();
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let best = sorted[0];
    let median = sorted[sorted.len() / 2];
    let lengths: Vec<usize> = run.queries.iter().map(|r| r.seq.len()).collect();
    let mean_len = lengths.iter().sum::<usize>() as f64 / lengths.len() as f64;
    let params = state.as_ref().map(|s| &s.params);
    let best_cpu = cpu_times
        .iter()
        .copied()
        .filter(|&c| c > 0.0)
        .min_by(f64::total_cmp);
    let search = collection.search_method()?;
    Ok(json!({
        "name": run.name,
        "length_bp": run.length_bp,
        "search": search,
        "n": n,
        "seconds": round(best, 4),
        "seq_per_s": best_rate(n, best),
        "seconds_median": round(median, 4),
        "seq_per_s_median": best_rate(n, median),
        "repeats": args.repeats,
        "quantize": args.quantize.name(),
        "query_file": run.query_file,
        "query_len_bp": {
            "min": lengths.iter().min(),
            "max": lengths.iter().max(),
            "mean": round(mean_len, 1),
        },
        "train_file": run.train_file,
        "train_rows": run.train.len(),
        "collection_records": collection.len(),
        "index_s": round(index_s, 2),
        "embedder": collection.config().embedder_identity,
        "dim": collection.config().dim,
        "k": params.map(|p| p.k),
        "weight_knn": params.map(|p| p.weight_knn),
        "ef_search": collection.config().graph.ef_search,
        "classifier": state.is_some(),
        "accuracy": round(correct as f64 / n as f64, 4),
        "rayon_num_threads": std::env::var("RAYON_NUM_THREADS").ok(),
        "cpu_per_wall": cpu_per_wall.map(|x| round(x, 3)),
        "seq_per_cpu_s": best_cpu.map(|c| best_rate(n, c)),
        "threads": threads,
    }))
}

fn best_rate(n: usize, seconds: f64) -> f64 {
    round(n as f64 / seconds, 1)
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

fn main() -> Result<()> {
    // Before anything can start rayon's global pool (only the graph build at index time uses it).
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        std::env::set_var("RAYON_NUM_THREADS", "1");
    }
    let args = parse_args()?;
    let ds = args.shared.join("datasets");
    let gb = ds.join("genomic_benchmarks/human_nontata_promoters/test.csv");
    let gb_records = read(&gb)?;
    let (train_file, train) = if args.train_251 == "gb5k" {
        let mut rows = gb_records.clone();
        rows.shuffle(&mut ChaCha8Rng::seed_from_u64(SUBSAMPLE_SEED));
        rows.truncate(args.subsample);
        (gb.clone(), rows)
    } else {
        let f = ds.join("gue/prom/prom_300_notata/dev.csv");
        let rows = read(&f)?;
        (f, rows)
    };
    let h3_dev = ds.join("gue/EMP/H3/dev.csv");
    let h3_test = ds.join("gue/EMP/H3/test.csv");
    let runs = [
        Run {
            name: if args.train_251 == "gb5k" {
                "251bp_gb_nontata_gb5k"
            } else {
                "251bp_gb_nontata_gue"
            },
            length_bp: 251,
            train_file,
            train,
            query_file: gb.clone(),
            queries: gb_records,
        },
        Run {
            name: "500bp_emp_h3",
            length_bp: 500,
            train: read(&h3_dev)?,
            train_file: h3_dev,
            queries: read(&h3_test)?,
            query_file: h3_test,
        },
    ];

    let dir = tempfile::tempdir()?;
    let mut lines = Vec::new();
    for r in runs {
        let name = r.name;
        let result = run(r, &args, dir.path()).with_context(|| format!("run {name}"))?;
        eprintln!(
            "{name}: {} seqs in {} s = {} seq/s (median {} seq/s, per CPU-second {}; collection {} records, k {}, cpu/wall {}, index {} s)",
            result["n"], result["seconds"], result["seq_per_s"], result["seq_per_s_median"],
            result["seq_per_cpu_s"], result["collection_records"], result["k"], result["cpu_per_wall"],
            result["index_s"],
        );
        let line = serde_json::to_string(&result)?;
        println!("{line}");
        lines.push(line);
    }
    if let Some(out) = &args.out {
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(out, lines.join("\n") + "\n")?;
    }
    Ok(())
}
