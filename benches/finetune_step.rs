//! Time of one fine-tuning step (forward, cross-entropy, backward, AdamW) of genovec's candle
//! models on CPU, for the PyTorch comparison run by `benches/finetune_step.sh` (results in
//! BENCHMARKS.md). Prints one JSON object on stdout.
//!
//!   cargo bench --bench finetune_step -- --family hyenadna --dir CHECKPOINT --name NAME
//!       [--threads 1] [--batch 16] [--bp 300] [--seed 7] [--steps 5] [--last-layers N]
//!       [--dump-tokens FILE] [--whole-batch]
//!
//! Inputs: `--batch` random ACGT sequences of `--bp` bases (ChaCha8 from `--seed`) with
//! alternating labels, tokenized by the model's tokenizer and cut to its window as `genovec
//! finetune` does (`SequenceClassifier::tokens`). Every step trains on this same batch.
//!
//! Timed, per step: what `genovec finetune` runs for one step of a full fine-tune (or of
//! `--last-layers N` without the frozen cache): `batch_gradients` over `batch_loss` (pad,
//! forward, masked mean, head, cross-entropy, backward, each share's loss read back), and
//! `AdamW::step` over every trainable variable (`trainable`, the head included). One warm-up step, then `--steps` timed steps;
//! `step_s` is their median, `best_step_s` the fastest.
//!
//! Device: `default_device()`, as `genovec finetune`: the CPU, or CUDA device 0 in a build
//! with `--features cuda` (reading the loss back each step waits for the GPU).
//!
//! Shares: as in `genovec finetune`, the batch is split into one share per thread (at least
//! 4 rows each) that run forward and backward at once (`finetune::batch_gradients`);
//! `--whole-batch` runs the batch as one share, its kernels split across the threads instead
//! (what every step did before the shares), for comparison in the same build.
//!
//! Threads: `--threads N` sets `RAYON_NUM_THREADS` before candle starts (candle's gemm and
//! genovec's loops size their pools from it); `CANDLE_NUM_THREADS` is 1, as `genovec
//! finetune` sets it (candle's elementwise ops then run on the calling thread).
//!
//! `--dump-tokens FILE` writes the batch's token ids and labels as JSON for the PyTorch side
//! (`benches/finetune_step_torch.py`), so both train on exactly the same tokens, and exits.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use candle_core::Var;
use candle_nn::{Linear, ParamsAdamW, VarMap};
use genovec::embed::models::{default_device, load_model_with, Family};
use genovec::finetune::{
    batch_gradients, batch_loss, step_threads, trainable, AdamW, Scope, SequenceClassifier,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The `genovec` binary's allocator (src/main.rs), so the bench times what the CLI runs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Args {
    family: Family,
    dir: PathBuf,
    name: String,
    threads: usize,
    batch: usize,
    bp: usize,
    seed: u64,
    steps: usize,
    scope: Scope,
    dump_tokens: Option<PathBuf>,
    whole_batch: bool,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        family: Family::HyenaDna,
        dir: PathBuf::new(),
        name: String::new(),
        threads: 1,
        batch: 16,
        bp: 300,
        seed: 7,
        steps: 5,
        scope: Scope::Full,
        dump_tokens: None,
        whole_batch: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--family" => {
                let name = value()?;
                a.family =
                    Family::from_prefix(&name).with_context(|| format!("unknown family {name}"))?;
            }
            "--dir" => a.dir = PathBuf::from(value()?),
            "--name" => a.name = value()?,
            "--threads" => a.threads = value()?.parse()?,
            "--batch" => a.batch = value()?.parse()?,
            "--bp" => a.bp = value()?.parse()?,
            "--seed" => a.seed = value()?.parse()?,
            "--steps" => a.steps = value()?.parse::<usize>()?.max(1),
            "--last-layers" => a.scope = Scope::LastLayers(value()?.parse()?),
            "--dump-tokens" => a.dump_tokens = Some(PathBuf::from(value()?)),
            "--whole-batch" => a.whole_batch = true,
            "--bench" => {} // cargo bench passes this to harness = false targets
            other => bail!("unknown argument {other:?}"),
        }
    }
    if a.dir.as_os_str().is_empty() {
        bail!("--dir is required");
    }
    Ok(a)
}

fn main() -> Result<()> {
    // As `genovec finetune` does (cli::keep_freed_pages, in the binary: the library denies
    // unsafe code, so the bench repeats the one call): freed pages stay with mimalloc.
    // SAFETY: mi_option_set only stores the option; 15 is mi_option_purge_delay.
    unsafe { libmimalloc_sys::mi_option_set(15, -1) };
    let args = parse_args()?;
    // Before candle or rayon start their pools.
    std::env::set_var("RAYON_NUM_THREADS", args.threads.to_string());
    // As `genovec finetune` does (cli::no_candle_pool_workers): candle's elementwise ops run
    // on the thread that calls them, the shares of the batch supply the parallelism.
    std::env::set_var("CANDLE_NUM_THREADS", "1");

    let device = default_device()?;
    let vars = VarMap::new();
    let model = load_model_with(Some(args.family), &args.dir, &device, Some(&vars))?;
    let (w, b) = SequenceClassifier::init_head(model.hidden_size(), 2, 1, &device)?;
    let head = [Var::from_tensor(&w)?, Var::from_tensor(&b)?];
    let linear = Linear::new(
        head[0].as_tensor().clone(),
        Some(head[1].as_tensor().clone()),
    );
    let classifier = SequenceClassifier::new(model, linear, vec!["0".into(), "1".into()]);

    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let rows: Vec<(Vec<u32>, u32)> = (0..args.batch)
        .map(|i| {
            let seq: Vec<u8> = (0..args.bp).map(|_| b"ACGT"[rng.gen_range(0..4)]).collect();
            Ok((classifier.tokens(&seq)?, (i % 2) as u32))
        })
        .collect::<Result<_>>()?;
    if let Some(path) = &args.dump_tokens {
        let dump = serde_json::json!({
            "tokens": rows.iter().map(|r| &r.0).collect::<Vec<_>>(),
            "labels": rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            "pad_id": classifier.model().pad_id(),
            "hidden": classifier.model().hidden_size(),
            "bp": args.bp,
        });
        std::fs::write(path, serde_json::to_vec(&dump)?)?;
        return Ok(());
    }

    let mut trained: Vec<Var> = trainable(&vars, args.scope)
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    let params: usize = trained.iter().map(|v| v.elem_count()).sum();
    trained.extend(head.iter().cloned());
    let shares = match args.whole_batch {
        true => 1,
        false => step_threads(&trained),
    };
    let mut optimizer = AdamW::new(
        trained,
        ParamsAdamW {
            lr: 3e-5,
            weight_decay: 0.01,
            ..ParamsAdamW::default()
        },
    )?;
    let batch: Vec<&(Vec<u32>, u32)> = rows.iter().collect();
    let mut step = || -> Result<f32> {
        let grads = batch_gradients(&batch, shares, |rows| batch_loss(&classifier, rows))?;
        optimizer.step(grads.stores)?;
        Ok(grads.loss as f32)
    };
    let first_loss = step()?;
    let mut times = Vec::with_capacity(args.steps);
    let mut last_loss = first_loss;
    for _ in 0..args.steps {
        let t = Instant::now();
        last_loss = step()?;
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let tokens: Vec<usize> = rows.iter().map(|r| r.0.len()).collect();
    let line = serde_json::json!({
        "impl": "genovec",
        "model": args.name,
        "family": classifier.model().family(),
        "device": format!("{device:?}"),
        "scope": args.scope.to_string(),
        "threads": args.threads,
        "whole_batch": args.whole_batch,
        "batch": args.batch,
        "bp": args.bp,
        "tokens_max": tokens.iter().max(),
        "trained_params": params,
        "steps": args.steps,
        "step_s": times[times.len() / 2],
        "best_step_s": times[0],
        "steps_per_s": 1.0 / times[times.len() / 2],
        "first_loss": first_loss,
        "last_loss": last_loss,
    });
    println!("{line}");
    Ok(())
}
