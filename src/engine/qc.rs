//! `qc` with its shortcut-risk models: the report of `crate::qc`, plus the single-feature
//! models scored against the full pipeline (`eval_folds` on the same folds), which only the
//! engine can run.

use super::eval::{eval_folds, label_set, EvalOptions};
use crate::classify::stratified_folds;
use crate::progress;
use crate::qc::{self, shortcut, QcOptions, QcReport, ShortcutReport};
use crate::seq::SeqRecord;
use crate::split::stratified_split;
use crate::Result;

/// Folds of the shortcut-risk cross-validation.
pub const SHORTCUT_FOLDS: usize = 3;

/// Seed of the sample and of the folds (the same as `eval`'s default).
const SEED: u64 = 42;

/// The QC report of `train` (and `test`); with `shortcut_records` above zero, the shortcut
/// risk too, cross-validated on at most that many training records (a stratified sample).
pub fn qc_report(
    train: &[SeqRecord],
    test: Option<&[SeqRecord]>,
    opts: QcOptions,
    shortcut_records: usize,
) -> Result<QcReport> {
    let mut report = qc::run(train, test, opts)?;
    report.not_computed.clear();
    if shortcut_records == 0 {
        report
            .not_computed
            .push("shortcut risk (turned off: --shortcut-records 0)".into());
        return Ok(report);
    }
    match shortcuts(train, shortcut_records)? {
        Some(s) => report.shortcuts = Some(s),
        None => report
            .not_computed
            .push("shortcut risk (needs labels, two of them, and three records of each)".into()),
    }
    Ok(report)
}

/// The single-feature models and the full pipeline on one stratified sample and its folds;
/// `None` when the set cannot be cross-validated.
fn shortcuts(train: &[SeqRecord], cap: usize) -> Result<Option<ShortcutReport>> {
    let Ok(labels) = label_set(train.iter()) else {
        return Ok(None);
    };
    let label_of = |r: &SeqRecord| {
        let label = r.label.as_deref().unwrap_or_default();
        labels.iter().position(|l| l == label).unwrap_or(0) as u32
    };
    let y_all: Vec<u32> = train.iter().map(label_of).collect();
    let mut counts = vec![0usize; labels.len()];
    y_all.iter().for_each(|&y| counts[y as usize] += 1);
    if labels.len() < 2 || counts.iter().any(|&c| c < SHORTCUT_FOLDS) {
        return Ok(None);
    }
    let sample: Vec<SeqRecord> = match train.len() > cap {
        true => {
            let frac = cap as f64 / train.len() as f64;
            let (kept, _) = stratified_split(&y_all, frac, SEED);
            kept.iter().map(|&i| train[i].clone()).collect()
        }
        false => train.to_vec(),
    };
    let y: Vec<u32> = sample.iter().map(label_of).collect();
    // `eval_folds` deals the same folds from the same labels and seed.
    let folds = stratified_folds(&y, SHORTCUT_FOLDS, SEED);
    let seqs: Vec<&[u8]> = sample.iter().map(|r| r.seq.as_bytes()).collect();
    let majority = shortcut::majority_accuracy(&y, labels.len(), &folds);
    progress::phase("shortcut risk: single-feature models", None);
    let mut accuracies = Vec::new();
    for family in shortcut::FAMILIES {
        let acc = shortcut::family_accuracy(family, &seqs, &y, labels.len(), &folds)?;
        accuracies.push((family, acc));
    }
    progress::phase("shortcut risk: the full pipeline", None);
    let opts = EvalOptions {
        embedder: "composition".into(),
        k: None,
        seed: SEED,
        handcrafted: true,
        adapt: Default::default(),
        quantize: Default::default(),
    };
    let full = eval_folds(&sample, SHORTCUT_FOLDS, &opts)?.accuracy;
    let families = (accuracies.into_iter())
        .map(|(family, acc)| shortcut::score(family, acc, majority, full))
        .collect();
    Ok(Some(ShortcutReport {
        records: sample.len(),
        folds: SHORTCUT_FOLDS,
        majority,
        full_pipeline: full,
        families,
    }))
}
