//! `genovec finetune`.

use std::path::PathBuf;

use genovec::engine;
use genovec::finetune::{FinetuneOptions, Progress};
use genovec::seq;
use indicatif::{ProgressBar, ProgressStyle};

use super::args::{FinetuneBudget, ReadArgs};

/// Arguments of `finetune`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The model to fine-tune: dnabert2:DIR | nt:DIR | hyenadna:DIR | DIR.
    #[arg(long)]
    embedder: String,
    /// Training files.
    #[arg(long, required = true, num_args = 1..)]
    train: Vec<PathBuf>,
    /// Dev files for early stopping (default: a seeded stratified 10% of the training rows).
    #[arg(long, num_args = 1..)]
    dev: Vec<PathBuf>,
    /// Output folder: a checkpoint that `classify --finetuned DIR` loads.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    read: ReadArgs,
    /// Sequences per step.
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Peak learning rate (default: 2e-4 for HyenaDNA, 3e-5 for the transformers).
    #[arg(long)]
    lr: Option<f64>,
    /// Dev evaluations without improvement before stopping early.
    #[arg(long, default_value_t = 3)]
    patience: usize,
    #[command(flatten)]
    budget: FinetuneBudget,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let read = args.read.options(None);
    let train = seq::read_all(&args.train, &read)?;
    let dev = match args.dev.is_empty() {
        true => None,
        false => Some(seq::read_all(&args.dev, &read)?),
    };
    let opts = FinetuneOptions {
        lr: args.lr,
        batch: args.batch,
        patience: args.patience,
        ..args.budget.options()
    };
    let bar = ProgressBar::new(0);
    bar.set_style(ProgressStyle::with_template(
        "{bar:40} {pos}/{len} {per_sec} {msg}",
    )?);
    let mut on_step = |p: &Progress| match p {
        Progress::Caching { done, total } => {
            bar.set_length(*total as u64);
            bar.set_position(*done as u64);
            bar.set_message("rows through the frozen layers (once)");
        }
        Progress::Step {
            step,
            total,
            loss,
            dev_accuracy,
        } => {
            bar.set_length(*total as u64);
            bar.set_position(*step as u64);
            let dev = dev_accuracy.map_or("-".into(), |a| format!("{a:.3}"));
            bar.set_message(format!("loss {loss:.4} dev_acc {dev}"));
        }
    };
    let tuned =
        engine::finetune_records(&args.embedder, &train, dev.as_deref(), &opts, &mut on_step)?;
    bar.finish_and_clear();
    tuned.save(&args.out)?;
    let r = &tuned.report;
    eprintln!(
        "fine-tuned {} ({}) on {} rows: {} steps ({:.2} epochs) in {:.1}s on {} thread(s), \
         stopped by {:?}; best dev accuracy {:.4} at step {}; saved {}",
        r.family,
        r.scope,
        r.n_train,
        r.steps,
        r.epochs,
        r.seconds,
        r.threads,
        r.stopped,
        r.best_dev_accuracy,
        r.best_step,
        args.out.display()
    );
    if let Some(c) = &r.frozen_cache {
        eprintln!(
            "frozen layers 0..{} ran once per row ({} rows, {:.1}s); cached {:.1} MiB in memory, \
             {:.1} MiB on disk",
            c.first_trained_layer,
            c.rows,
            c.seconds,
            c.memory_bytes as f64 / 1048576.0,
            c.disk_bytes as f64 / 1048576.0
        );
    }
    Ok(())
}
