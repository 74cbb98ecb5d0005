//! The training loop: AdamW, warm-up then linear decay, early stopping on dev accuracy,
//! a seed, and budgets on rows and wall time.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{Tensor, Var};
use candle_nn::{AdamW, Linear, Optimizer, ParamsAdamW, VarMap};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::classifier::SequenceClassifier;
use super::params::{learning_rate, trainable, Scope};
use crate::embed::models::{checkpoint_identity, default_device, load_model_with, Family};
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
        }
    }
}

/// The family's default peak learning rate: the HyenaDNA paper's 6e-4 for its small
/// models, BERT-style 3e-5 for the transformers.
pub fn default_lr(family: &str) -> f64 {
    match family {
        "hyenadna" => 6e-4,
        _ => 3e-5,
    }
}

/// Fraction of the wall-time budget the fitted schedule plans to use (the rest covers dev
/// evaluations and the final restore).
const BUDGET_SHARE: f64 = 0.8;
/// Steps timed before the schedule is fitted to the budget.
const TIMING_STEPS: usize = 3;

/// What a progress callback sees after each step.
#[derive(Debug, Clone)]
pub struct Progress {
    /// Steps done.
    pub step: usize,
    /// Steps planned (changes once, when the schedule is fitted to a time budget).
    pub total: usize,
    /// This step's training loss.
    pub loss: f64,
    /// The latest dev accuracy, if one was measured.
    pub dev_accuracy: Option<f64>,
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
type Rows = Vec<(Vec<u32>, u32)>;

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
    let labels = label_set(train.iter().chain(dev.unwrap_or(&[])))?;
    let (train, dev) = split_rows(train, dev, &labels, opts)?;
    let device = default_device()?;
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
    let mut run = Run::new(&classifier, &trained, &train_rows, &dev_rows, opts, lr)?;
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
    };
    Ok(Finetuned {
        classifier,
        report,
        backbone,
        head,
    })
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

/// Mean cross-entropy of a batch.
pub fn batch_loss(classifier: &SequenceClassifier, batch: &[&(Vec<u32>, u32)]) -> Result<Tensor> {
    let tokens: Vec<Vec<u32>> = batch.iter().map(|(t, _)| t.clone()).collect();
    let targets: Vec<u32> = batch.iter().map(|(_, y)| *y).collect();
    let logits = classifier.logits(&tokens)?;
    let targets = Tensor::new(targets.as_slice(), logits.device()).map_err(Error::model)?;
    candle_nn::loss::cross_entropy(&logits, &targets).map_err(Error::model)
}

/// Fraction of `rows` whose arg-max logit is their class.
fn accuracy(classifier: &SequenceClassifier, rows: &Rows, batch: usize) -> Result<f64> {
    let mut correct = 0usize;
    for chunk in rows.chunks(batch.max(1)) {
        let tokens: Vec<Vec<u32>> = chunk.iter().map(|(t, _)| t.clone()).collect();
        let predicted: Vec<u32> = classifier
            .logits(&tokens)?
            .detach()
            .argmax(1)
            .and_then(|t| t.to_vec1())
            .map_err(Error::model)?;
        correct += predicted
            .iter()
            .zip(chunk)
            .filter(|(p, r)| **p == r.1)
            .count();
    }
    Ok(correct as f64 / rows.len().max(1) as f64)
}

/// The state of one training run.
struct Run<'a> {
    classifier: &'a SequenceClassifier,
    vars: &'a [Var],
    train: &'a Rows,
    dev: &'a Rows,
    opts: &'a FinetuneOptions,
    optimizer: AdamW,
    peak_lr: f64,
    steps_per_epoch: usize,
    total: usize,
    eval_every: usize,
    step: usize,
    started: Instant,
    losses: Vec<f64>,
    history: Vec<(usize, f64)>,
    /// (dev accuracy, step) of the kept weights, and a copy of them.
    best: (f64, usize),
    best_weights: Vec<Tensor>,
    stale_evals: usize,
    stopped: Stop,
}

impl<'a> Run<'a> {
    fn new(
        classifier: &'a SequenceClassifier,
        vars: &'a [Var],
        train: &'a Rows,
        dev: &'a Rows,
        opts: &'a FinetuneOptions,
        peak_lr: f64,
    ) -> Result<Self> {
        let params = ParamsAdamW {
            lr: peak_lr,
            weight_decay: opts.weight_decay,
            ..ParamsAdamW::default()
        };
        let optimizer = AdamW::new(vars.to_vec(), params).map_err(Error::model)?;
        let steps_per_epoch = train.len().div_ceil(opts.batch.max(1));
        let eval_every = opts.eval_every.unwrap_or((steps_per_epoch / 4).max(10));
        Ok(Run {
            classifier,
            vars,
            train,
            dev,
            opts,
            optimizer,
            peak_lr,
            steps_per_epoch,
            total: steps_per_epoch * opts.epochs.max(1),
            eval_every: eval_every.max(1),
            step: 0,
            started: Instant::now(),
            losses: Vec::new(),
            history: Vec::new(),
            best: (f64::NEG_INFINITY, 0),
            best_weights: Vec::new(),
            stale_evals: 0,
            stopped: Stop::Schedule,
        })
    }

    fn train(&mut self, progress: &mut dyn FnMut(&Progress)) -> Result<()> {
        self.evaluate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(self.opts.seed);
        'epochs: for _ in 0..self.opts.epochs.max(1) {
            let mut order: Vec<&(Vec<u32>, u32)> = self.train.iter().collect();
            order.shuffle(&mut rng);
            for batch in order.chunks(self.opts.batch.max(1)) {
                if self.step >= self.total {
                    break 'epochs;
                }
                let loss = self.take_step(batch)?;
                let at_eval = self.step.is_multiple_of(self.eval_every);
                let dev_accuracy = if at_eval {
                    Some(self.evaluate()?)
                } else {
                    None
                };
                progress(&Progress {
                    step: self.step,
                    total: self.total,
                    loss,
                    dev_accuracy: dev_accuracy.or(self.history.last().map(|h| h.1)),
                });
                if self.stale_evals >= self.opts.patience.max(1) {
                    self.stopped = Stop::EarlyStopping;
                    break 'epochs;
                }
                if self.out_of_time() {
                    self.stopped = Stop::Budget;
                    break 'epochs;
                }
            }
        }
        if self.history.last().is_none_or(|h| h.0 != self.step) {
            self.evaluate()?;
        }
        self.restore_best()
    }

    /// One optimiser step at the scheduled learning rate; returns the loss.
    fn take_step(&mut self, batch: &[&(Vec<u32>, u32)]) -> Result<f64> {
        let warmup = (self.opts.warmup * self.total as f64).round() as usize;
        let lr = learning_rate(self.step, warmup, self.total, self.peak_lr);
        self.optimizer.set_learning_rate(lr);
        let loss = batch_loss(self.classifier, batch)?;
        self.optimizer.backward_step(&loss).map_err(Error::model)?;
        let loss: f32 = loss.to_scalar().map_err(Error::model)?;
        self.step += 1;
        self.losses.push(loss as f64);
        if self.step == TIMING_STEPS {
            self.fit_schedule_to_budget();
        }
        Ok(loss as f64)
    }

    /// With a time budget, shortens the plan to the steps that fit in it, so that warm-up
    /// and decay complete.
    fn fit_schedule_to_budget(&mut self) {
        let Some(minutes) = self.opts.max_minutes else {
            return;
        };
        let elapsed = self.started.elapsed().as_secs_f64();
        let per_step = elapsed / self.step as f64;
        let left = (minutes * 60.0 * BUDGET_SHARE - elapsed).max(0.0);
        let fits = self.step + (left / per_step) as usize;
        self.total = self.total.min(fits.max(self.step + 1));
    }

    fn out_of_time(&self) -> bool {
        self.opts
            .max_minutes
            .is_some_and(|m| self.started.elapsed().as_secs_f64() >= m * 60.0)
    }

    /// Scores the dev rows; keeps a copy of the weights when they are the best so far.
    fn evaluate(&mut self) -> Result<f64> {
        let acc = accuracy(self.classifier, self.dev, self.opts.batch.max(32))?;
        self.history.push((self.step, acc));
        if acc > self.best.0 {
            self.best = (acc, self.step);
            self.best_weights = self
                .vars
                .iter()
                .map(|v| v.as_tensor().copy().map_err(Error::model))
                .collect::<Result<_>>()?;
            self.stale_evals = 0;
        } else {
            self.stale_evals += 1;
        }
        Ok(acc)
    }

    fn restore_best(&mut self) -> Result<()> {
        for (var, best) in self.vars.iter().zip(&self.best_weights) {
            var.set(best).map_err(Error::model)?;
        }
        Ok(())
    }
}
