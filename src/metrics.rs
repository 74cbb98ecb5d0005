//! Classification metrics shared by `classify`, `eval` and `finetune`.
//!
//! Labels are dense class indices `0..n_classes`. The definitions follow scikit-learn so that
//! numbers can be compared with Python baselines:
//! - [`macro_f1`] is `f1_score(average="macro", labels=range(n_classes))`: every class counts,
//!   and a class with no true positive, false positive or false negative scores F1 0 (scikit-learn's
//!   default `zero_division`, which warns).
//! - [`mcc`] is the multi-class Matthews correlation (Gorodkin's R_K), equal to
//!   `matthews_corrcoef`; 0 when its denominator is 0.
//! - [`auroc`] is the positive class's (class 1) AUROC for two classes and the one-vs-rest macro
//!   average for more, like `roc_auc_score(multi_class="ovr", average="macro")`.

use serde::{Deserialize, Serialize};

/// A confusion matrix: `counts[true][predicted]`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Confusion {
    /// Number of classes (rows and columns).
    pub n_classes: usize,
    /// Counts; rows are the true class, columns the predicted class.
    pub counts: Vec<Vec<u64>>,
}

impl Confusion {
    /// Tallies paired true and predicted labels.
    ///
    /// # Panics
    /// If the slices differ in length or a label is `>= n_classes`.
    pub fn new(truth: &[u32], pred: &[u32], n_classes: usize) -> Self {
        assert_eq!(
            truth.len(),
            pred.len(),
            "truth and predictions differ in length"
        );
        let mut counts = vec![vec![0u64; n_classes]; n_classes];
        for (&t, &p) in truth.iter().zip(pred) {
            counts[t as usize][p as usize] += 1;
        }
        Confusion { n_classes, counts }
    }

    /// Total number of samples.
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    /// Number of samples whose true class is `class` (row sum).
    pub fn true_count(&self, class: usize) -> u64 {
        self.counts[class].iter().sum()
    }

    /// Number of samples predicted as `class` (column sum).
    pub fn predicted_count(&self, class: usize) -> u64 {
        self.counts.iter().map(|row| row[class]).sum()
    }

    /// Number of correct predictions (the trace).
    pub fn correct(&self) -> u64 {
        (0..self.n_classes).map(|c| self.counts[c][c]).sum()
    }
}

/// Fraction of correct predictions; 0 for an empty matrix.
pub fn accuracy(confusion: &Confusion) -> f64 {
    ratio(confusion.correct() as f64, confusion.total() as f64)
}

/// Unweighted mean over all `n_classes` classes of F1 = 2TP / (2TP + FP + FN).
///
/// A class never predicted has F1 0, and so does a class absent from both truth and
/// predictions (scikit-learn's default, which warns): it still counts in the mean.
pub fn macro_f1(confusion: &Confusion) -> f64 {
    if confusion.n_classes == 0 {
        return 0.0;
    }
    let sum: f64 = (0..confusion.n_classes)
        .map(|c| class_f1(confusion, c))
        .sum();
    sum / confusion.n_classes as f64
}

fn class_f1(confusion: &Confusion, class: usize) -> f64 {
    let tp = confusion.counts[class][class] as f64;
    let fn_ = confusion.true_count(class) as f64 - tp;
    let fp = confusion.predicted_count(class) as f64 - tp;
    ratio(2.0 * tp, 2.0 * tp + fp + fn_)
}

/// Multi-class Matthews correlation coefficient (Gorodkin's R_K), equal to scikit-learn's
/// `matthews_corrcoef`:
/// `(c·s − Σ t_k p_k) / sqrt((s² − Σ p_k²)(s² − Σ t_k²))` with `c` the correct count, `s` the
/// total, `t_k` / `p_k` the true / predicted count of class `k`. 0 when the denominator is 0.
pub fn mcc(confusion: &Confusion) -> f64 {
    let s = confusion.total() as f64;
    let c = confusion.correct() as f64;
    let (mut tp, mut pp, mut tt) = (0.0, 0.0, 0.0);
    for k in 0..confusion.n_classes {
        let t = confusion.true_count(k) as f64;
        let p = confusion.predicted_count(k) as f64;
        tp += t * p;
        pp += p * p;
        tt += t * t;
    }
    let denominator = ((s * s - pp) * (s * s - tt)).sqrt();
    ratio(c * s - tp, denominator)
}

/// `num / den`, or 0 when `den` is 0.
fn ratio(num: f64, den: f64) -> f64 {
    if den == 0.0 {
        0.0
    } else {
        num / den
    }
}

/// Area under the ROC curve of `scores` for the `positive` samples, by Mann-Whitney: the
/// fraction of (positive, negative) pairs where the positive scores higher, ties counting 1/2.
///
/// `None` when either class is absent.
///
/// # Panics
/// If the slices differ in length.
pub fn auroc_binary(scores: &[f64], positive: &[bool]) -> Option<f64> {
    assert_eq!(
        scores.len(),
        positive.len(),
        "scores and labels differ in length"
    );
    let n_pos = positive.iter().filter(|&&p| p).count() as f64;
    let n_neg = positive.len() as f64 - n_pos;
    if n_pos == 0.0 || n_neg == 0.0 {
        return None;
    }
    let ranks = average_ranks(scores);
    let rank_sum: f64 = ranks
        .iter()
        .zip(positive)
        .filter(|(_, &p)| p)
        .map(|(r, _)| r)
        .sum();
    Some((rank_sum - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg))
}

/// The ROC curve of `scores` against `positive`: (false positive rate, true positive rate)
/// points from (0, 0) to (1, 1), one per distinct score threshold (ties move together).
/// Empty when either class is absent.
pub fn roc_curve(scores: &[f64], positive: &[bool]) -> Vec<(f64, f64)> {
    let n_pos = positive.iter().filter(|&&p| p).count() as f64;
    let n_neg = positive.len() as f64 - n_pos;
    if n_pos == 0.0 || n_neg == 0.0 {
        return Vec::new();
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut curve = vec![(0.0, 0.0)];
    for (i, &row) in order.iter().enumerate() {
        match positive[row] {
            true => tp += 1.0,
            false => fp += 1.0,
        }
        let last_of_tie = order
            .get(i + 1)
            .is_none_or(|&next| scores[next] != scores[row]);
        if last_of_tie {
            curve.push((fp / n_neg, tp / n_pos));
        }
    }
    curve
}

/// 1-based ranks of `values`, tied values sharing their average rank.
fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        let rank = (start + end + 1) as f64 / 2.0;
        order[start..end].iter().for_each(|&i| ranks[i] = rank);
        start = end;
    }
    ranks
}

/// AUROC from class probabilities (`probs[i][class]`).
///
/// Two classes: the AUROC of class 1's probability. More: the mean over the classes present in
/// `truth` of each class's one-vs-rest AUROC. `None` when fewer than two classes are present.
pub fn auroc(probs: &[Vec<f64>], truth: &[u32], n_classes: usize) -> Option<f64> {
    if n_classes == 2 {
        return one_vs_rest(probs, truth, 1);
    }
    let aucs: Vec<f64> = (0..n_classes)
        .filter_map(|c| one_vs_rest(probs, truth, c))
        .collect();
    if aucs.len() < 2 {
        return None;
    }
    Some(aucs.iter().sum::<f64>() / aucs.len() as f64)
}

fn one_vs_rest(probs: &[Vec<f64>], truth: &[u32], class: usize) -> Option<f64> {
    let scores: Vec<f64> = probs.iter().map(|p| p[class]).collect();
    let positive: Vec<bool> = truth.iter().map(|&t| t as usize == class).collect();
    auroc_binary(&scores, &positive)
}

/// The summary metrics of one evaluation; all are fractions.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Metrics {
    /// Fraction of correct predictions.
    pub accuracy: f64,
    /// Macro-averaged F1 over all classes (see [`macro_f1`]).
    pub macro_f1: f64,
    /// Multi-class Matthews correlation (see [`mcc`]).
    pub mcc: f64,
    /// AUROC (see [`auroc`]); `None` without probabilities or with fewer than two classes.
    pub auroc: Option<f64>,
    /// Number of samples.
    pub n: usize,
}

/// Computes every metric. `probs` holds one probability vector per sample, or is empty when
/// the predictor gives none (then `auroc` is `None`).
///
/// # Panics
/// If `truth` and `pred` (or a non-empty `probs`) differ in length, or a label is out of range.
pub fn evaluate(truth: &[u32], pred: &[u32], probs: &[Vec<f64>], n_classes: usize) -> Metrics {
    let confusion = Confusion::new(truth, pred, n_classes);
    let auroc = if probs.is_empty() {
        None
    } else {
        assert_eq!(
            probs.len(),
            truth.len(),
            "probabilities and truth differ in length"
        );
        auroc(probs, truth, n_classes)
    };
    Metrics {
        accuracy: accuracy(&confusion),
        macro_f1: macro_f1(&confusion),
        mcc: mcc(&confusion),
        auroc,
        n: truth.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    const T3: [u32; 10] = [0, 1, 2, 0, 1, 2, 0, 1, 2, 2];
    const P3: [u32; 10] = [0, 2, 1, 0, 0, 2, 0, 1, 2, 1];

    #[test]
    fn confusion_counts_rows_true_cols_predicted() {
        let c = Confusion::new(&T3, &P3, 3);
        assert_eq!(c.counts, vec![vec![3, 0, 0], vec![1, 1, 1], vec![0, 2, 2]]);
        assert_eq!((c.total(), c.correct()), (10, 6));
        assert!(close(accuracy(&c), 0.6));
    }

    #[test]
    fn multiclass_mcc_matches_scikit_learn() {
        // t = [3,3,4], p = [4,3,3], c = 6, s = 10:
        // (6·10 − (12+9+12)) / sqrt((100−34)(100−34)) = 27/66 = 9/22.
        // scikit-learn 1.9.1 matthews_corrcoef gives 0.4090909090909091.
        let c = Confusion::new(&T3, &P3, 3);
        assert!(close(mcc(&c), 9.0 / 22.0));
        assert!(close(mcc(&c), 0.4090909090909091));
    }

    #[test]
    fn multiclass_macro_f1_matches_scikit_learn() {
        // F1 = 6/7, 2/6, 4/7 -> mean 37/63 (scikit-learn: 0.5873015873015873).
        let c = Confusion::new(&T3, &P3, 3);
        assert!(close(macro_f1(&c), 37.0 / 63.0));
    }

    #[test]
    fn binary_mcc() {
        // TP 2, FN 1, FP 1, TN 2: (4 − 1) / sqrt(3·3·3·3) = 1/3 (scikit-learn agrees).
        let c = Confusion::new(&[1, 1, 0, 0, 1, 0], &[1, 0, 0, 1, 1, 0], 2);
        assert!(close(mcc(&c), 1.0 / 3.0));
    }

    #[test]
    fn perfect_inverse_and_degenerate_mcc() {
        let t = [0, 1, 0, 1];
        assert!(close(mcc(&Confusion::new(&t, &t, 2)), 1.0));
        assert!(close(mcc(&Confusion::new(&t, &[1, 0, 1, 0], 2)), -1.0));
        // Constant predictions: denominator 0 -> 0.
        assert!(close(mcc(&Confusion::new(&t, &[0, 0, 0, 0], 2)), 0.0));
        assert!(close(mcc(&Confusion::new(&[], &[], 2)), 0.0));
    }

    #[test]
    fn macro_f1_counts_unseen_classes_as_zero() {
        // Classes 0 and 1 perfect, class 2 absent everywhere: (1 + 1 + 0) / 3 as in scikit-learn.
        let c = Confusion::new(&[0, 0, 1], &[0, 0, 1], 3);
        assert!(close(macro_f1(&c), 2.0 / 3.0));
        // Class 1 never predicted: F1 0.
        let c = Confusion::new(&[0, 1], &[0, 0], 2);
        assert!(close(macro_f1(&c), (2.0 / 3.0) / 2.0));
    }

    #[test]
    fn auroc_binary_counts_ties_as_half() {
        // Pairs: 0.5>0.1, 0.5=0.5, 0.9>0.1, 0.9>0.5, 0.5>0.1, 0.5=0.5 -> 5/6.
        let scores = [0.1, 0.5, 0.5, 0.9, 0.5];
        let positive = [false, false, true, true, true];
        assert!(close(auroc_binary(&scores, &positive).unwrap(), 5.0 / 6.0));
        assert!(close(
            auroc_binary(&[1.0, 1.0], &[true, false]).unwrap(),
            0.5
        ));
        assert_eq!(auroc_binary(&[0.1, 0.2], &[true, true]), None);
    }

    #[test]
    fn auroc_two_classes_uses_class_one() {
        let probs = vec![
            vec![0.9, 0.1],
            vec![0.4, 0.6],
            vec![0.3, 0.7],
            vec![0.8, 0.2],
        ];
        assert!(close(auroc(&probs, &[0, 1, 1, 0], 2).unwrap(), 1.0));
        assert!(close(auroc(&probs, &[1, 0, 0, 1], 2).unwrap(), 0.0));
        assert_eq!(auroc(&probs, &[1, 1, 1, 1], 2), None);
    }

    #[test]
    fn auroc_multiclass_is_ovr_macro_over_present_classes() {
        // Class 0: pos {.6,.2}, neg {.2,.1,.3,.2} -> (4 + 0.5+1+0+0.5) / 8 = 6/8.
        // Class 1: pos {.5,.4}, neg {.3,.2,.25,.2} -> 8/8. Class 3 is absent and skipped.
        let probs = vec![
            vec![0.6, 0.3, 0.1, 0.0],
            vec![0.2, 0.5, 0.3, 0.0],
            vec![0.1, 0.2, 0.7, 0.0],
            vec![0.3, 0.4, 0.3, 0.0],
            vec![0.2, 0.25, 0.55, 0.0],
            vec![0.2, 0.2, 0.6, 0.0],
        ];
        let truth = [0, 1, 2, 1, 0, 2];
        // Class 2: pos {.7,.6}, neg {.1,.3,.3,.55} -> 8/8.
        // scikit-learn (3 columns, same truth): 0.9166666666666666.
        let expected = (6.0 / 8.0 + 1.0 + 1.0) / 3.0;
        assert!(close(auroc(&probs, &truth, 4).unwrap(), expected));
        assert_eq!(auroc(&probs, &[2; 6], 4), None);
    }

    #[test]
    fn evaluate_fills_every_field() {
        let m = evaluate(&[0, 1, 1, 0], &[0, 1, 0, 0], &[], 2);
        assert!(close(m.accuracy, 0.75));
        assert_eq!((m.n, m.auroc), (4, None));
        let json = serde_json::to_string(&m).unwrap();
        let back: Metrics = serde_json::from_str(&json).unwrap();
        assert!(close(back.mcc, m.mcc));
    }

    #[test]
    fn roc_curve_steps_through_thresholds_and_ties() {
        let scores = [0.9, 0.8, 0.8, 0.3];
        let positive = [true, true, false, false];
        let curve = roc_curve(&scores, &positive);
        assert_eq!(curve, vec![(0.0, 0.0), (0.0, 0.5), (0.5, 1.0), (1.0, 1.0)]);
        assert!(roc_curve(&scores, &[true; 4]).is_empty());
    }
}
