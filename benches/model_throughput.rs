//! Embedding throughput (sequences per second) of genovec's candle language models on CPU, for
//! the PyTorch comparison run by `benches/model_throughput.sh` (results in BENCHMARKS.md).
//! Prints one JSON object per batch size on stdout (JSON Lines).
//!
//!   cargo bench --bench model_throughput -- --family dnabert2 --dir CHECKPOINT --name NAME
//!       [--threads 1] [--batches 1,32] [--bp 500] [--seed 7] [--min-secs 3] [--min-calls 2]
//!       [--embed-batch] [--dump-tokens FILE]
//!
//! Inputs: 32 random ACGT sequences of `--bp` bases (ChaCha8 from `--seed`); batch `b` takes
//! them `b` at a time, cycling. The model is loaded with the public API,
//! `ModelEmbedder::load(Some(family), dir, false)`.
//!
//! Timed, per call (path `forward`): what `ModelEmbedder::embed_batch` does for inputs that fit
//! in one window, but with exactly `batch` sequences per forward pass: tokenize each sequence
//! (`LanguageModel::tokenize`), right-pad (`pad_batch`), `LanguageModel::forward`, masked mean
//! pooling (`masked_mean`) and the copy to host vectors. `ModelEmbedder` itself fixes its
//! forward batch at 16 (a private field with no setter), so `embed_batch` on 32 sequences runs
//! two passes of 16; `--embed-batch` also times that public call as path `embed_batch`.
//!
//! One warm-up call per batch size, then calls until `--min-secs` have passed and at least
//! `--min-calls` were made. `seq_per_s` = sequences / wall time over all timed calls;
//! `best_seq_per_s` is the fastest single call. `cpu_per_wall` is process CPU time over wall
//! time (from /proc/self/stat): near `threads` when the process had its cores to itself.
//!
//! Threads: candle's CPU matmul (gemm) and genovec's HyenaDNA loops size their pools from
//! `RAYON_NUM_THREADS`; `--threads N` sets it (and `CANDLE_NUM_THREADS`) before candle starts,
//! and also `OMP_NUM_THREADS` and `MKL_NUM_THREADS` for builds with the `mkl` feature, whose
//! matmuls run in MKL's OpenMP pool. Each line's `mkl` says whether the build has it.
//!
//! `--dump-tokens FILE` writes the token ids of the 32 sequences as JSON (the PyTorch side
//! reads them, so both run exactly the same token counts and padding) and exits.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use genovec::embed::models::{masked_mean, pad_batch, Family, ModelEmbedder};
use genovec::embed::Embedder;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The `genovec` binary's allocator (src/main.rs), so the bench times what the CLI runs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const POOL: usize = 32;

/// One timed call: a batch of sequences to their pooled vectors.
type Call<'a> = &'a dyn Fn(&[String]) -> Result<Vec<Vec<f32>>>;

struct Args {
    family: Family,
    family_name: String,
    dir: PathBuf,
    name: String,
    threads: usize,
    batches: Vec<usize>,
    bp: usize,
    seed: u64,
    min_secs: f64,
    min_calls: usize,
    embed_batch: bool,
    dump_tokens: Option<PathBuf>,
}

fn parse_args() -> Result<Args> {
    let mut family = None;
    let mut dir = None;
    let mut name = None;
    let mut a = Args {
        family: Family::Dnabert2,
        family_name: String::new(),
        dir: PathBuf::new(),
        name: String::new(),
        threads: 1,
        batches: vec![1, 32],
        bp: 500,
        seed: 7,
        min_secs: 3.0,
        min_calls: 2,
        embed_batch: false,
        dump_tokens: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--family" => family = Some(value()?),
            "--dir" => dir = Some(PathBuf::from(value()?)),
            "--name" => name = Some(value()?),
            "--threads" => a.threads = value()?.parse()?,
            "--batches" => {
                a.batches = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--bp" => a.bp = value()?.parse()?,
            "--seed" => a.seed = value()?.parse()?,
            "--min-secs" => a.min_secs = value()?.parse()?,
            "--min-calls" => a.min_calls = value()?.parse()?,
            "--embed-batch" => a.embed_batch = true,
            "--dump-tokens" => a.dump_tokens = Some(PathBuf::from(value()?)),
            "--bench" => {} // cargo bench passes this
            other => bail!("unknown argument {other}"),
        }
    }
    a.family_name = family.context("--family dnabert2|nt|hyenadna is required")?;
    a.family = Family::from_prefix(&a.family_name)
        .with_context(|| format!("unknown family {}", a.family_name))?;
    a.dir = dir.context("--dir CHECKPOINT is required")?;
    a.name = name.unwrap_or_else(|| a.family_name.clone());
    if a.batches.iter().any(|&b| b == 0 || b > POOL) {
        bail!("batch sizes must be 1..={POOL}");
    }
    Ok(a)
}

/// Process CPU time (user + system) in seconds, from /proc/self/stat (10 ms resolution).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap_or(f64::NAN) + f[12].parse().unwrap_or(f64::NAN);
    ticks / 100.0
}

fn random_sequences(n: usize, bp: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| (0..bp).map(|_| b"ACGT"[rng.gen_range(0..4)]).collect())
        .collect()
}

fn main() -> Result<()> {
    let args = parse_args()?;
    // Before candle builds its thread pools (they read these once).
    std::env::set_var("RAYON_NUM_THREADS", args.threads.to_string());
    std::env::set_var("CANDLE_NUM_THREADS", args.threads.to_string());
    // MKL's OpenMP pool (builds with the `mkl` feature); read when MKL first runs.
    std::env::set_var("OMP_NUM_THREADS", args.threads.to_string());
    std::env::set_var("MKL_NUM_THREADS", args.threads.to_string());

    let seqs = random_sequences(POOL, args.bp, args.seed);
    let t0 = Instant::now();
    let embedder = ModelEmbedder::load(Some(args.family), &args.dir, false)
        .with_context(|| format!("loading {}", args.dir.display()))?;
    let load_s = t0.elapsed().as_secs_f64();
    let model = embedder.model();

    let strs: Vec<String> = seqs
        .iter()
        .map(|s| String::from_utf8(s.clone()).unwrap())
        .collect();
    let tokens: Vec<Vec<u32>> = strs
        .iter()
        .map(|s| model.tokenize(s))
        .collect::<genovec::Result<_>>()?;
    for s in &strs {
        if s.len() > model.max_bases() {
            bail!(
                "{} bp is over the model's window of {} bases; the timing would include windowing",
                s.len(),
                model.max_bases()
            );
        }
    }
    let lens: Vec<usize> = tokens.iter().map(Vec::len).collect();
    if let Some(path) = &args.dump_tokens {
        // Pooled vectors of the first 4 sequences through the public embed call, so a PyTorch
        // model that loads the same weights can check it computes the same function.
        let refs: Vec<&[u8]> = seqs[..4].iter().map(Vec::as_slice).collect();
        let pooled = embedder.embed_batch(&refs)?;
        let json = serde_json::json!({
            "model": args.name, "family": args.family_name, "bp": args.bp, "seed": args.seed,
            "pad_id": model.pad_id(), "hidden": model.hidden_size(), "tokens": tokens,
            "pooled": pooled,
        });
        std::fs::write(path, serde_json::to_string(&json)?)?;
        eprintln!(
            "{}: token counts of {} bp: min {} max {} mean {:.1} -> {}",
            args.name,
            args.bp,
            lens.iter().min().unwrap(),
            lens.iter().max().unwrap(),
            lens.iter().sum::<usize>() as f64 / lens.len() as f64,
            path.display()
        );
        return Ok(());
    }

    // One timed call through the forward path: tokenize, pad, forward, pool, copy out.
    let forward_call = |batch: &[String]| -> Result<Vec<Vec<f32>>> {
        let toks: Vec<Vec<u32>> = batch
            .iter()
            .map(|s| model.tokenize(s))
            .collect::<genovec::Result<_>>()?;
        let (ids, mask) = pad_batch(&toks, model.pad_id(), model.device())?;
        let hidden = model.forward(&ids, &mask)?;
        let pooled = masked_mean(&hidden, &mask)?;
        Ok(pooled.to_vec2::<f32>()?)
    };
    let embed_call = |batch: &[String]| -> Result<Vec<Vec<f32>>> {
        let refs: Vec<&[u8]> = batch.iter().map(|s| s.as_bytes()).collect();
        Ok(embedder.embed_batch(&refs)?)
    };

    let mut paths: Vec<(&str, Call)> = vec![("forward", &forward_call)];
    if args.embed_batch {
        paths.push(("embed_batch", &embed_call));
    }

    for &batch in &args.batches {
        let chunks: Vec<&[String]> = strs.chunks(batch).filter(|c| c.len() == batch).collect();
        let padded: Vec<usize> = tokens
            .chunks(batch)
            .map(|c| c.iter().map(Vec::len).max().unwrap())
            .collect();
        for (path, call) in &paths {
            // Warm-up: one call, also a sanity check of the output.
            let out = call(chunks[0])?;
            if out.len() != batch
                || out[0].len() != model.hidden_size()
                || out.iter().flatten().any(|x| !x.is_finite())
            {
                bail!("{}: bad output at batch {batch}", args.name);
            }
            let mut times = Vec::new();
            let (wall0, cpu0) = (Instant::now(), cpu_seconds());
            let mut i = 0;
            while times.len() < args.min_calls || wall0.elapsed().as_secs_f64() < args.min_secs {
                let t = Instant::now();
                std::hint::black_box(call(chunks[i % chunks.len()])?);
                times.push(t.elapsed().as_secs_f64());
                i += 1;
            }
            let wall = wall0.elapsed().as_secs_f64();
            let cpu = cpu_seconds() - cpu0;
            let best = times.iter().cloned().fold(f64::INFINITY, f64::min);
            let line = serde_json::json!({
                "impl": "genovec",
                "path": path,
                "model": args.name,
                "batch": batch,
                "threads": args.threads,
                "bp": args.bp,
                "tokens_mean": lens.iter().sum::<usize>() as f64 / lens.len() as f64,
                "padded_tokens_mean": padded.iter().sum::<usize>() as f64 / padded.len() as f64,
                "calls": times.len(),
                "secs": wall,
                "seq_per_s": (times.len() * batch) as f64 / wall,
                "best_seq_per_s": batch as f64 / best,
                "cpu_per_wall": cpu / wall,
                "load_s": load_s,
                "mkl": candle_core::utils::has_mkl(),
            });
            println!("{line}");
        }
    }
    Ok(())
}
