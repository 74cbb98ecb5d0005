//! The training loop: AdamW, warm-up then linear decay, early stopping on dev accuracy,
//! a seed, and budgets on rows and wall time.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{Tensor, Var};
use candle_nn::{Linear, VarMap};
use serde::{Deserialize, Serialize};

use super::classifier::SequenceClassifier;
use super::frozen::{self, CacheReport};
use super::params::{trainable, Scope};
use super::run::Run;
use crate::embed::models::{
    checkpoint_identity, default_device, load_model, load_model_with, Family,
};
use crate::seq::SeqRecord;
use crate::split::{stratified_cap, stratified_split};
use crate::{Error, Result};

/// Options of a fine-tune.
#[derive(Debug, Clone)]
pub struct FinetuneOptions {
    /// Peak learning rate; `None` takes the family's default ([`default_lr`]).
    pub lr: Option<f64>,
    /// Passes over the training rows (fewer if a budget or early stopping ends it).
    pub epochs: usize,
    /// Sequences per step.
    pub batch: usize,
    /// Fraction of the planned steps spent warming up.
    pub warmup: f64,
    /// AdamW's decoupled weight decay.
    pub weight_decay: f64,
    /// Which weights train.
    pub scope: Scope,
    /// Dev evaluations without improvement before stopping.
    pub patience: usize,
    /// Steps between dev evaluations; `None`: four per epoch (at least every 10 steps).
    pub eval_every: Option<usize>,
    /// Cap on training rows (a seeded stratified subsample).
    pub max_train: Option<usize>,
    /// Cap on the dev rows scored at each evaluation (a seeded stratified subsample).
    pub max_dev: usize,
    /// Wall-time budget in minutes; the schedule is fitted to it after the first steps.
    pub max_minutes: Option<f64>,
    /// Seed of the dev split, the subsamples, the head and the batch order.
    pub seed: u64,
    /// Under [`Scope::LastLayers`], run the frozen layers once per row and train on their
    /// cached output (see `frozen`); `false` runs the whole model at every step.
    pub cache_frozen: bool,
    /// MiB of cached streams kept in memory; the rest go to a temporary file.
    pub cache_memory_mb: u64,
}

impl Default for FinetuneOptions {
    fn default() -> Self {
        FinetuneOptions {
            lr: None,
            epochs: 3,
            batch: 16,
            warmup: 0.1,
            weight_decay: 0.01,
            scope: Scope::Full,
            patience: 3,
            eval_every: None,
            max_train: None,
            max_dev: 1000,
            max_minutes: None,
            seed: 42,
            cache_frozen: true,
            cache_memory_mb: 2048,
        }
    }
}

/// The family's default peak learning rate: 2e-4 for HyenaDNA, BERT-style 3e-5 for the
/// transformers.
///
/// HyenaDNA's paper fine-tunes its small models at 6e-4 with batches of 256; at this crate's
/// batch of 16 that rate peaked on dev within the first epoch, before the schedule anneals,
/// and 2e-4 gave a higher best dev accuracy on all five nontata CV folds (0.820-0.860 against
/// 0.798-0.833). Over the whole suite the two rates are about even (BENCHMARKS.md, "RESULTS.md
/// re-run"); `--lr` overrides the default.
pub fn default_lr(family: &str) -> f64 {
    match family {
        "hyenadna" => 2e-4,
        _ => 3e-5,
    }
}

/// What a progress callback sees: each batch of the frozen prefix's caching, then each step.
#[derive(Debug, Clone)]
pub enum Progress {
    /// The frozen prefix has run over `done` of `total` rows (training and dev together).
    Caching {
        /// Rows done.
        done: usize,
        /// Rows to cache.
        total: usize,
    },
    /// A step was taken.
    Step {
        /// Steps done.
        step: usize,
        /// Steps planned (changes once, when the schedule is fitted to a time budget).
        total: usize,
        /// This step's training loss.
        loss: f64,
        /// The latest dev accuracy, if one was measured.
        dev_accuracy: Option<f64>,
    },
}

/// Why training ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// Every planned step ran.
    Schedule,
    /// Dev accuracy stopped improving for `patience` evaluations.
    EarlyStopping,
    /// The wall-time budget ran out.
    Budget,
}

/// The record of a fine-tune, saved as `finetune.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FinetuneReport {
    /// `dnabert2`, `nt` or `hyenadna`.
    pub family: String,
    /// The base checkpoint folder.
    pub base: PathBuf,
    /// The base checkpoint's identity (hash of config and weights).
    pub base_identity: String,
    /// Class labels in logit order.
    pub labels: Vec<String>,
    /// `full` or `last N layers`.
    pub scope: String,
    /// Peak learning rate.
    pub lr: f64,
    /// Sequences per step.
    pub batch: usize,
    /// The seed of every random choice.
    pub seed: u64,
    /// Rows trained on.
    pub n_train: usize,
    /// Dev rows scored at each evaluation.
    pub n_dev: usize,
    /// Steps run.
    pub steps: usize,
    /// Passes over the training rows that the steps make.
    pub epochs: f64,
    /// The best dev accuracy: the weights kept are those it was measured on.
    pub best_dev_accuracy: f64,
    /// The step of the best dev accuracy.
    pub best_step: usize,
    /// Why training ended.
    pub stopped: Stop,
    /// Wall time of training.
    pub seconds: f64,
    /// Training loss of every step.
    pub losses: Vec<f64>,
    /// (step, dev accuracy) of every evaluation.
    pub dev_history: Vec<(usize, f64)>,
    /// The frozen prefix's cache, when one was used (`null`: every step ran the whole model).
    #[serde(default)]
    pub frozen_cache: Option<CacheReport>,
    /// The threads each step's batch was shared across (see `finetune::batch_gradients`): the
    /// run repeats exactly at the same count, and within rounding at another. 0 in reports
    /// written before it was recorded.
    #[serde(default)]
    pub threads: usize,
}

/// A trained classifier with its variables, ready to save.
pub struct Finetuned {
    /// The trained model and head (their weights are the variables below).
    pub classifier: SequenceClassifier,
    /// What the run did.
    pub report: FinetuneReport,
    pub(super) backbone: VarMap,
    pub(super) head: [Var; 2],
}

/// Rows as (tokens, class) pairs.
pub(super) type Rows = Vec<(Vec<u32>, u32)>;

/// Fine-tunes the checkpoint in `base` on `train`, early-stopping on `dev` (or on a seeded,
/// stratified 10% of `train` when `dev` is `None`).
pub fn finetune(
    family: Option<Family>,
    base: &Path,
    train: &[SeqRecord],
    dev: Option<&[SeqRecord]>,
    opts: &FinetuneOptions,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Finetuned> {
    let started = Instant::now();
    let labels = label_set(train.iter().chain(dev.unwrap_or(&[])))?;
    let (train, dev) = split_rows(train, dev, &labels, opts)?;
    let device = default_device()?;
    let family_choice = family;
    let backbone = VarMap::new();
    let model = load_model_with(family, base, &device, Some(&backbone))?;
    let (w, b) =
        SequenceClassifier::init_head(model.hidden_size(), labels.len(), opts.seed, &device)?;
    let head = [var(&w)?, var(&b)?];
    let linear = Linear::new(
        head[0].as_tensor().clone(),
        Some(head[1].as_tensor().clone()),
    );
    let family = model.family().to_string();
    let classifier = SequenceClassifier::new(model, linear, labels.clone());
    let train_rows = tokenize(&classifier, &train, &labels)?;
    let dev_rows = tokenize(&classifier, &dev, &labels)?;
    let mut trained: Vec<Var> = trainable(&backbone, opts.scope)
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    trained.extend(head.iter().cloned());
    let lr = opts.lr.unwrap_or_else(|| default_lr(&family));
    let first = frozen_layers(opts, classifier.model().layer_count());
    let memory = opts.cache_memory_mb.saturating_mul(1 << 20);
    let (train_in, dev_in, frozen_cache) = frozen::inputs(
        || load_model(family_choice, base, &device),
        (&train_rows, &dev_rows),
        first,
        (opts.batch.max(32), memory),
        &mut |done, total| progress(&Progress::Caching { done, total }),
    )?;
    let mut run = Run::new(
        &classifier,
        &trained,
        (&train_in, &dev_in),
        opts,
        lr,
        started,
    )?;
    run.train(progress)?;
    let report = FinetuneReport {
        family,
        base: base.to_path_buf(),
        base_identity: checkpoint_identity(base)?,
        labels,
        scope: opts.scope.to_string(),
        lr,
        batch: opts.batch,
        seed: opts.seed,
        n_train: train_rows.len(),
        n_dev: dev_rows.len(),
        steps: run.step,
        epochs: run.step as f64 / run.steps_per_epoch as f64,
        best_dev_accuracy: run.best.0,
        best_step: run.best.1,
        stopped: run.stopped,
        seconds: run.started.elapsed().as_secs_f64(),
        losses: run.losses,
        dev_history: run.history,
        frozen_cache,
        threads: run.threads,
    };
    Ok(Finetuned {
        classifier,
        report,
        backbone,
        head,
    })
}

/// The layers before the first trained one, when the options cache them.
fn frozen_layers(opts: &FinetuneOptions, layers: usize) -> Option<usize> {
    match opts.scope {
        Scope::LastLayers(n) if opts.cache_frozen => Some(layers.saturating_sub(n)),
        _ => None,
    }
}

fn var(t: &Tensor) -> Result<Var> {
    Var::from_tensor(t).map_err(Error::model)
}

/// The training and dev records, capped as the options say.
fn split_rows(
    train: &[SeqRecord],
    dev: Option<&[SeqRecord]>,
    labels: &[String],
    opts: &FinetuneOptions,
) -> Result<(Vec<SeqRecord>, Vec<SeqRecord>)> {
    let classes =
        |rows: &[SeqRecord]| -> Vec<u32> { rows.iter().map(|r| class_of(r, labels)).collect() };
    let (train, dev): (Vec<SeqRecord>, Vec<SeqRecord>) = match dev {
        Some(dev) => (train.to_vec(), dev.to_vec()),
        None => {
            let (keep, held) = stratified_split(&classes(train), 0.9, opts.seed);
            let pick = |rows: &[usize]| rows.iter().map(|&i| train[i].clone()).collect();
            (pick(&keep), pick(&held))
        }
    };
    if train.is_empty() || dev.is_empty() {
        return Err(Error::InvalidArgument {
            what: "fine-tuning data".into(),
            message: format!("{} training and {} dev rows", train.len(), dev.len()),
        });
    }
    let cap = |rows: Vec<SeqRecord>, cap: usize| -> Vec<SeqRecord> {
        let y = classes(&rows);
        stratified_cap((0..rows.len()).collect(), &y, cap, opts.seed)
            .into_iter()
            .map(|i| rows[i].clone())
            .collect()
    };
    let train = match opts.max_train {
        Some(n) => cap(train, n),
        None => train,
    };
    Ok((train, cap(dev, opts.max_dev)))
}

fn label_set<'a>(records: impl Iterator<Item = &'a SeqRecord>) -> Result<Vec<String>> {
    let mut set = BTreeSet::new();
    for r in records {
        set.insert(r.label.clone().ok_or_else(|| Error::MissingLabel {
            source_name: "fine-tuning data".into(),
            location: format!("record {:?}", r.name),
        })?);
    }
    if set.len() < 2 {
        return Err(Error::InvalidArgument {
            what: "fine-tuning data".into(),
            message: format!("{} label(s); a classifier needs at least two", set.len()),
        });
    }
    Ok(set.into_iter().collect())
}

fn class_of(record: &SeqRecord, labels: &[String]) -> u32 {
    let label = record.label.as_deref().expect("labels checked");
    labels
        .iter()
        .position(|l| l == label)
        .expect("a known label") as u32
}

fn tokenize(
    classifier: &SequenceClassifier,
    rows: &[SeqRecord],
    labels: &[String],
) -> Result<Rows> {
    rows.iter()
        .map(|r| Ok((classifier.tokens(r.seq.as_bytes())?, class_of(r, labels))))
        .collect()
}
