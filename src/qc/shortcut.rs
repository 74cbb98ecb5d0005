//! Shortcut risk: how far a tiny model on one feature family gets on its own. When length
//! alone, GC alone or dinucleotide composition alone reaches most of what the full pipeline
//! reaches, a benchmark may be solvable by that cue rather than by its biology.
//!
//! Each family is a standardised logistic regression on a few columns, cross-validated on the
//! same folds as the full pipeline (which the engine scores; this module does not run it).

use ndarray::Array2;
use serde::Serialize;

use crate::classify::linear::DEFAULT_MAX_ITER;
use crate::classify::{argmax, LinearModel};
use crate::features::{gc_content, kmer_spectrum};
use crate::Result;

/// The families, in report order.
pub const FAMILIES: [&str; 3] = ["length", "gc", "dinucleotide"];

/// One model's cross-validated accuracy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FamilyScore {
    /// `length`, `gc` or `dinucleotide`, or `full pipeline`.
    pub family: String,
    /// Fraction of records predicted right out of fold.
    pub accuracy: f64,
    /// The share of the full pipeline's gain over the majority class that this family reaches
    /// alone: (accuracy − majority) / (full − majority); `None` when the pipeline gains nothing.
    pub share_of_gain: Option<f64>,
    /// `high` (share at least 0.8), `moderate` (at least 0.5) or `low`.
    pub risk: String,
}

/// The single-feature models against the full pipeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShortcutReport {
    /// Records the models were cross-validated on (a stratified sample of the training set
    /// when it is larger than the cap).
    pub records: usize,
    /// Folds.
    pub folds: usize,
    /// Accuracy of always answering the fold's most frequent training label.
    pub majority: f64,
    /// The full pipeline's cross-validated accuracy (genovec eval on the same folds).
    pub full_pipeline: f64,
    /// One entry per family.
    pub families: Vec<FamilyScore>,
}

/// The feature row of one family for one sequence.
fn row(family: &str, seq: &[u8]) -> Vec<f64> {
    match family {
        "length" => vec![seq.len() as f64],
        "gc" => vec![gc_content(seq)],
        _ => (kmer_spectrum(seq, 2, false).into_iter())
            .map(f64::from)
            .collect(),
    }
}

/// Out-of-fold accuracy of one family's model: `y` holds label indices below `n_classes`.
pub fn family_accuracy(
    family: &str,
    seqs: &[&[u8]],
    y: &[u32],
    n_classes: usize,
    folds: &[Vec<usize>],
) -> Result<f64> {
    let rows: Vec<Vec<f64>> = seqs.iter().map(|s| row(family, s)).collect();
    let mut right = 0usize;
    for (f, test) in folds.iter().enumerate() {
        let train: Vec<usize> = (folds.iter().enumerate())
            .filter(|&(g, _)| g != f)
            .flat_map(|(_, fold)| fold.iter().copied())
            .collect();
        let x = matrix(&rows, &train);
        let labels: Vec<u32> = train.iter().map(|&i| y[i]).collect();
        let model = LinearModel::fit(&x, &labels, n_classes, 1.0, DEFAULT_MAX_ITER)?;
        for &i in test {
            let p = model.predict_proba(&rows[i]);
            right += usize::from(argmax(&p).0 == y[i] as usize);
        }
    }
    Ok(right as f64 / y.len().max(1) as f64)
}

/// Out-of-fold accuracy of answering each fold's most frequent training label.
pub fn majority_accuracy(y: &[u32], n_classes: usize, folds: &[Vec<usize>]) -> f64 {
    let mut right = 0usize;
    for (f, test) in folds.iter().enumerate() {
        let mut counts = vec![0usize; n_classes];
        for (g, fold) in folds.iter().enumerate() {
            if g != f {
                fold.iter().for_each(|&i| counts[y[i] as usize] += 1);
            }
        }
        let most = argmax(&counts.iter().map(|&c| c as f64).collect::<Vec<_>>()).0;
        right += test.iter().filter(|&&i| y[i] as usize == most).count();
    }
    right as f64 / y.len().max(1) as f64
}

/// A family's score set against the majority class and the full pipeline.
pub fn score(family: &str, accuracy: f64, majority: f64, full: f64) -> FamilyScore {
    let gain = full - majority;
    let share_of_gain = (gain > 1e-9).then(|| (accuracy - majority) / gain);
    let risk = match share_of_gain {
        Some(s) if s >= 0.8 => "high",
        Some(s) if s >= 0.5 => "moderate",
        _ => "low",
    };
    FamilyScore {
        family: family.into(),
        accuracy,
        share_of_gain,
        risk: risk.into(),
    }
}

fn matrix(rows: &[Vec<f64>], pick: &[usize]) -> Array2<f64> {
    let width = rows.first().map_or(0, Vec::len);
    let flat: Vec<f64> = pick.iter().flat_map(|&i| rows[i].iter().copied()).collect();
    Array2::from_shape_vec((pick.len(), width), flat).expect("rows of one width")
}
