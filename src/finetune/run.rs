//! One training run: the step loop, the schedule fitted to a time budget, dev evaluations
//! and the best-weights snapshot.

use std::time::Instant;

use candle_core::{Tensor, Var};
use candle_nn::ParamsAdamW;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::adamw::AdamW;
use super::classifier::SequenceClassifier;
use super::frozen::Inputs;
use super::params::learning_rate;
use super::shares::batch_gradients;
use super::train::{FinetuneOptions, Progress, Stop};
use crate::embed::models::thread_budget;
use crate::{Error, Result};

/// Fraction of the wall-time budget the fitted schedule plans to use (the rest covers dev
/// evaluations and the final restore).
const BUDGET_SHARE: f64 = 0.8;
/// Steps timed before the schedule is fitted to the budget, after the first step (whose
/// allocations and page faults the later steps do not pay).
const TIMING_STEPS: usize = 3;

/// Mean cross-entropy of a batch.
pub fn batch_loss(classifier: &SequenceClassifier, batch: &[&(Vec<u32>, u32)]) -> Result<Tensor> {
    let tokens: Vec<Vec<u32>> = batch.iter().map(|(t, _)| t.clone()).collect();
    let targets: Vec<u32> = batch.iter().map(|(_, y)| *y).collect();
    cross_entropy(&classifier.logits(&tokens)?, &targets)
}

fn cross_entropy(logits: &Tensor, targets: &[u32]) -> Result<Tensor> {
    let targets = Tensor::new(targets, logits.device()).map_err(Error::model)?;
    candle_nn::loss::cross_entropy(logits, &targets).map_err(Error::model)
}

/// The threads of one step: shares of the batch run on them at once on the CPU (see
/// `shares`); on a GPU the batch stays whole.
pub fn step_threads(vars: &[Var]) -> usize {
    match vars.first().is_some_and(|v| v.device().is_cpu()) {
        true => thread_budget(),
        false => 1,
    }
}

/// Mean cross-entropy of rows `idx` of `inputs`.
fn loss_of(classifier: &SequenceClassifier, inputs: &Inputs, idx: &[usize]) -> Result<Tensor> {
    let targets: Vec<u32> = idx.iter().map(|&i| inputs.class(i)).collect();
    cross_entropy(&inputs.logits(classifier, idx)?, &targets)
}

/// Fraction of the rows of `inputs` whose arg-max logit is their class.
fn accuracy(classifier: &SequenceClassifier, inputs: &Inputs, batch: usize) -> Result<f64> {
    let mut correct = 0usize;
    let all: Vec<usize> = (0..inputs.len()).collect();
    for chunk in all.chunks(batch.max(1)) {
        let predicted: Vec<u32> = inputs
            .logits(classifier, chunk)?
            .detach()
            .argmax(1)
            .and_then(|t| t.to_vec1())
            .map_err(Error::model)?;
        correct += predicted
            .iter()
            .zip(chunk)
            .filter(|(p, &i)| **p == inputs.class(i))
            .count();
    }
    Ok(correct as f64 / inputs.len().max(1) as f64)
}

/// The state of one training run.
pub(super) struct Run<'a> {
    pub(super) classifier: &'a SequenceClassifier,
    pub(super) vars: &'a [Var],
    pub(super) train: &'a Inputs<'a>,
    pub(super) dev: &'a Inputs<'a>,
    pub(super) opts: &'a FinetuneOptions,
    pub(super) optimizer: AdamW,
    pub(super) peak_lr: f64,
    pub(super) steps_per_epoch: usize,
    pub(super) total: usize,
    pub(super) eval_every: usize,
    pub(super) step: usize,
    /// The threads each step's batch is shared across ([`step_threads`]).
    pub(super) threads: usize,
    /// When the fine-tune began (the time budget counts from it, caching included).
    pub(super) started: Instant,
    /// When the first step ended: the time per step that fits the schedule to a budget is
    /// measured from here, so neither the caching nor the first dev evaluation inflates it
    /// (counting the evaluation of 300 dev rows made a step look about three times as long,
    /// and the suite's CV folds stopped at 0.8-1.7 epochs with most of their budget left).
    pub(super) timed_from: Instant,
    pub(super) losses: Vec<f64>,
    pub(super) history: Vec<(usize, f64)>,
    /// (dev accuracy, step) of the kept weights, and a copy of them.
    pub(super) best: (f64, usize),
    pub(super) best_weights: Vec<Tensor>,
    pub(super) stale_evals: usize,
    pub(super) stopped: Stop,
}

impl<'a> Run<'a> {
    pub(super) fn new(
        classifier: &'a SequenceClassifier,
        vars: &'a [Var],
        (train, dev): (&'a Inputs<'a>, &'a Inputs<'a>),
        opts: &'a FinetuneOptions,
        peak_lr: f64,
        started: Instant,
    ) -> Result<Self> {
        let params = ParamsAdamW {
            lr: peak_lr,
            weight_decay: opts.weight_decay,
            ..ParamsAdamW::default()
        };
        let optimizer = AdamW::new(vars.to_vec(), params)?;
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
            threads: step_threads(vars),
            started,
            timed_from: Instant::now(),
            losses: Vec::new(),
            history: Vec::new(),
            best: (f64::NEG_INFINITY, 0),
            best_weights: Vec::new(),
            stale_evals: 0,
            stopped: Stop::Schedule,
        })
    }

    pub(super) fn train(&mut self, progress: &mut dyn FnMut(&Progress)) -> Result<()> {
        self.evaluate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(self.opts.seed);
        'epochs: for _ in 0..self.opts.epochs.max(1) {
            // Shuffling indices draws what shuffling the rows did: the same batches per seed.
            let mut order: Vec<usize> = (0..self.train.len()).collect();
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
                progress(&Progress::Step {
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
    fn take_step(&mut self, batch: &[usize]) -> Result<f64> {
        let warmup = (self.opts.warmup * self.total as f64).round() as usize;
        let lr = learning_rate(self.step, warmup, self.total, self.peak_lr);
        self.optimizer.set_learning_rate(lr);
        let (classifier, train) = (self.classifier, self.train);
        let grads = batch_gradients(batch, self.threads, |rows| loss_of(classifier, train, rows))?;
        self.optimizer.step(grads.stores)?;
        let loss = grads.loss;
        self.step += 1;
        self.losses.push(loss);
        if self.step == 1 {
            self.timed_from = Instant::now();
        } else if self.step == 1 + TIMING_STEPS {
            self.fit_schedule_to_budget();
        }
        Ok(loss)
    }

    /// With a time budget, shortens the plan to the steps that fit in it, so that warm-up
    /// and decay complete.
    fn fit_schedule_to_budget(&mut self) {
        let Some(minutes) = self.opts.max_minutes else {
            return;
        };
        let per_step = self.timed_from.elapsed().as_secs_f64() / TIMING_STEPS as f64;
        let elapsed = self.started.elapsed().as_secs_f64();
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
