//! `eval`: index a training set into a temporary collection, classify a test set, score it.
//!
//! Every choice (k, fusion weight, C) is made inside `index` on the training records only.

use std::collections::BTreeSet;

use serde::Serialize;

use super::classifier::load_state;
use super::classify::{classify_batch, ClassifyOptions, Prediction};
use super::index::{index_records, IndexOptions};
use super::search::open_for_queries;
use crate::classify::{stratified_folds, Adapt, FusionParams, Shift};
use crate::metrics::{evaluate, Confusion, Metrics};
use crate::seq::SeqRecord;
use crate::{Error, Result};

/// Options of an evaluation.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// The embedder spec.
    pub embedder: String,
    /// Override of the tuned number of neighbours.
    pub k: Option<usize>,
    /// Seed of the fold assignment.
    pub seed: u64,
    /// Fuse the handcrafted features into the linear model (see [`IndexOptions`]).
    pub handcrafted: bool,
    /// Covariate-shift correction of each fold's test rows (see [`Adapt`]).
    pub adapt: Adapt,
    /// How each fold's collection keeps its vectors (see [`IndexOptions`]).
    pub quantize: crate::store::Quantize,
}

/// The scores of one fold (or of the single train/test run).
#[derive(Debug, Clone, Serialize)]
pub struct FoldReport {
    /// Metrics on this fold's test rows.
    #[serde(flatten)]
    pub metrics: Metrics,
    /// Training rows of this fold.
    pub n_train: usize,
    /// The classifier settings chosen on this fold's training rows.
    pub params: Option<FusionParams>,
    /// The test rows' covariate shift from the training rows, when measured.
    pub shift: Option<Shift>,
}

/// The `eval --json` object fixed by the contract, plus each fold's chosen settings.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    /// Fraction correct.
    pub accuracy: f64,
    /// Macro-averaged F1.
    pub macro_f1: f64,
    /// Multi-class Matthews correlation.
    pub mcc: f64,
    /// Positive-class AUROC (two classes) or one-vs-rest macro AUROC.
    pub auroc: Option<f64>,
    /// Training rows (for cross-validation: all rows, each used for training in other folds).
    pub n_train: usize,
    /// Predicted rows (for cross-validation: all rows, each predicted once out of fold).
    pub n_test: usize,
    /// Label order of `confusion`.
    pub labels: Vec<String>,
    /// Rows = true label, columns = predicted label.
    pub confusion: Vec<Vec<u64>>,
    /// Per-fold metrics (one entry for a train/test run).
    pub folds: Vec<FoldReport>,
    /// Every test row's outcome, in input order (not part of the JSON object).
    #[serde(skip)]
    pub rows: Vec<RowOutcome>,
}

/// One predicted row: for paired tests (McNemar) against another method on the same rows.
#[derive(Debug, Clone, PartialEq)]
pub struct RowOutcome {
    /// The record's name.
    pub name: String,
    /// Its true label.
    pub truth: String,
    /// The predicted label.
    pub predicted: String,
    /// The fused probability of the predicted label.
    pub confidence: f64,
}

/// Trains on `train`, tests on `test`.
pub fn eval_split(
    train: &[SeqRecord],
    test: &[SeqRecord],
    opts: &EvalOptions,
) -> Result<EvalReport> {
    for (set, rows) in [("training", train), ("test", test)] {
        if rows.is_empty() {
            return Err(Error::InvalidArgument {
                what: format!("{set} set"),
                message: "it holds no records".into(),
            });
        }
    }
    let labels = label_set(train.iter().chain(test))?;
    let (predictions, params, shift) = run_fold(train, test, opts)?;
    let scored = Scored::new(test, &predictions, &labels);
    let fold = FoldReport {
        metrics: scored.metrics(),
        n_train: train.len(),
        params,
        shift,
    };
    let rows = row_outcomes(test, &predictions);
    Ok(scored.report(&labels, train.len(), vec![fold], rows))
}

/// Seeded stratified `n_folds`-fold cross-validation over `data`; the top-level metrics pool
/// every out-of-fold prediction.
pub fn eval_folds(data: &[SeqRecord], n_folds: usize, opts: &EvalOptions) -> Result<EvalReport> {
    if n_folds < 2 || n_folds > data.len() {
        return Err(Error::InvalidArgument {
            what: "--folds".into(),
            message: format!("{n_folds} folds for {} rows", data.len()),
        });
    }
    let labels = label_set(data.iter())?;
    let y: Vec<u32> = data.iter().map(|r| label_of(r, &labels)).collect();
    run_folds(
        data,
        &labels,
        stratified_folds(&y, n_folds, opts.seed),
        opts,
    )
}

/// [`eval_folds`] with near-duplicates kept together: records joined by pairs at `identity`
/// or more (see [`crate::qc::near_duplicate_groups`]) fall in one fold, so no test record has
/// a near-copy in its training folds. Returns the report and the number of groups.
pub fn eval_folds_grouped(
    data: &[SeqRecord],
    n_folds: usize,
    identity: f64,
    opts: &EvalOptions,
) -> Result<(EvalReport, usize)> {
    let qc_opts = crate::qc::QcOptions {
        identity: crate::qc::check_identity(identity)?,
        ..Default::default()
    };
    let (groups, count) = crate::qc::near_duplicate_groups(data, qc_opts)?;
    if n_folds < 2 || n_folds > count {
        return Err(Error::InvalidArgument {
            what: "--folds".into(),
            message: format!("{n_folds} folds for {count} near-duplicate groups"),
        });
    }
    let labels = label_set(data.iter())?;
    let y: Vec<u32> = data.iter().map(|r| label_of(r, &labels)).collect();
    let folds = crate::split::grouped_folds(&y, &groups, n_folds, opts.seed);
    Ok((run_folds(data, &labels, folds, opts)?, count))
}

/// Runs one fold per entry of `folds` (which partition `data`'s rows) and pools the
/// out-of-fold predictions.
fn run_folds(
    data: &[SeqRecord],
    labels: &[String],
    folds_rows: Vec<Vec<usize>>,
    opts: &EvalOptions,
) -> Result<EvalReport> {
    let n_folds = folds_rows.len();
    let mut pooled: Vec<Option<Prediction>> = vec![None; data.len()];
    let mut folds = Vec::new();
    for (i, fold) in folds_rows.into_iter().enumerate() {
        let _scope = crate::progress::scope(format!("fold {}/{n_folds}", i + 1));
        let in_fold: BTreeSet<usize> = fold.iter().copied().collect();
        let train: Vec<SeqRecord> = (0..data.len())
            .filter(|i| !in_fold.contains(i))
            .map(|i| data[i].clone())
            .collect();
        let test: Vec<SeqRecord> = fold.iter().map(|&i| data[i].clone()).collect();
        let (predictions, params, shift) = run_fold(&train, &test, opts)?;
        let metrics = Scored::new(&test, &predictions, labels).metrics();
        folds.push(FoldReport {
            metrics,
            n_train: train.len(),
            params,
            shift,
        });
        fold.iter()
            .zip(predictions)
            .for_each(|(&i, p)| pooled[i] = Some(p));
    }
    let pooled: Vec<Prediction> = pooled
        .into_iter()
        .map(|p| p.expect("folds partition the rows"))
        .collect();
    let rows = row_outcomes(data, &pooled);
    Ok(Scored::new(data, &pooled, labels).report(labels, data.len(), folds, rows))
}

fn row_outcomes(test: &[SeqRecord], predictions: &[Prediction]) -> Vec<RowOutcome> {
    test.iter()
        .zip(predictions)
        .map(|(r, p)| RowOutcome {
            name: r.name.clone(),
            truth: r.label.clone().unwrap_or_default(),
            predicted: p.label.clone(),
            confidence: p.confidence,
        })
        .collect()
}

/// Indexes `train` into a temporary collection and classifies `test` against it.
fn run_fold(
    train: &[SeqRecord],
    test: &[SeqRecord],
    opts: &EvalOptions,
) -> Result<(Vec<Prediction>, Option<FusionParams>, Option<Shift>)> {
    let dir = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let path = dir.path().join("eval.redb");
    let index_opts = IndexOptions {
        embedder: opts.embedder.clone(),
        handcrafted: opts.handcrafted,
        quantize: opts.quantize,
        ..IndexOptions::default()
    };
    index_records(&path, train, &index_opts, &mut |_, _, _| {})?;
    let (collection, embedder) = open_for_queries(&path)?;
    let state = load_state(&collection)?;
    let options = ClassifyOptions {
        k: opts.k,
        threshold: None,
        adapt: opts.adapt,
    };
    let classified = classify_batch(
        &collection,
        embedder.as_ref(),
        state.as_ref(),
        test,
        options,
    )?;
    Ok((
        classified.predictions,
        state.map(|s| s.params),
        classified.shift,
    ))
}

pub(super) fn label_set<'a>(records: impl Iterator<Item = &'a SeqRecord>) -> Result<Vec<String>> {
    let mut set = BTreeSet::new();
    for r in records {
        let label = r.label.clone().ok_or_else(|| Error::MissingLabel {
            source_name: "input".into(),
            location: format!("record {:?}", r.name),
        })?;
        set.insert(label);
    }
    Ok(set.into_iter().collect())
}

fn label_of(record: &SeqRecord, labels: &[String]) -> u32 {
    let label = record
        .label
        .as_deref()
        .expect("labels checked by label_set");
    labels
        .iter()
        .position(|l| l == label)
        .expect("label in the set") as u32
}

/// Predictions mapped onto the evaluation's label order.
pub(super) struct Scored {
    pub(super) truth: Vec<u32>,
    pub(super) predicted: Vec<u32>,
    pub(super) probabilities: Vec<Vec<f64>>,
    n_classes: usize,
}

impl Scored {
    pub(super) fn new(test: &[SeqRecord], predictions: &[Prediction], labels: &[String]) -> Self {
        let index = |l: &str| labels.iter().position(|x| x == l);
        let truth = test.iter().map(|r| label_of(r, labels)).collect();
        // Eval sets no distance threshold, so every prediction is a training label.
        let predicted = predictions
            .iter()
            .map(|p| index(&p.label).expect("a training label") as u32)
            .collect();
        let probabilities = predictions
            .iter()
            .map(|p| {
                let mut row = vec![0.0; labels.len()];
                p.probabilities
                    .iter()
                    .filter_map(|(l, v)| index(l).map(|i| (i, *v)))
                    .for_each(|(i, v)| row[i] = v);
                row
            })
            .collect();
        Scored {
            truth,
            predicted,
            probabilities,
            n_classes: labels.len(),
        }
    }

    pub(super) fn metrics(&self) -> Metrics {
        evaluate(
            &self.truth,
            &self.predicted,
            &self.probabilities,
            self.n_classes,
        )
    }

    fn report(
        &self,
        labels: &[String],
        n_train: usize,
        folds: Vec<FoldReport>,
        rows: Vec<RowOutcome>,
    ) -> EvalReport {
        let m = self.metrics();
        let confusion = Confusion::new(&self.truth, &self.predicted, self.n_classes).counts;
        EvalReport {
            accuracy: m.accuracy,
            macro_f1: m.macro_f1,
            mcc: m.mcc,
            auroc: m.auroc,
            n_train,
            n_test: self.truth.len(),
            labels: labels.to_vec(),
            confusion,
            folds,
            rows,
        }
    }
}
