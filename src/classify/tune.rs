//! Choosing k, the fusion weight and C by inner validation on training data only.
//!
//! Protocol ([`tune`]): a seeded stratified split of the training rows into 80% fit / 20%
//! validation ([`stratified_split`]), each part then stratified-subsampled to at most about
//! [`MAX_FIT_ROWS`] / [`MAX_VALIDATION_ROWS`] rows (the caps bound the brute-force neighbour
//! search at 2,000 × 20,000 distances and keep the logistic fits quick). A [`LinearModel`] is
//! fitted on the fit rows for each C in [`C_GRID`]; every validation row's nearest fit rows are
//! found once by exact cosine distance on the embeddings; then every k in [`K_GRID`] (those not
//! above the fit size) × weight_knn in 0, 0.1, …, 1 × C is scored on the validation rows.
//!
//! The best setting has the highest validation accuracy; ties go to the lower mean log-loss of
//! the fused probabilities (each clipped at 1e-15), then to the first met in the order k
//! descending, C ascending, weight ascending (larger k and stronger regularisation are the
//! smoother choices).

use super::fusion::{argmax, fuse, FusionParams};
use super::knn::{vote, Vote};
use super::linear::LinearModel;
use crate::split::stratified_cap;
pub use crate::split::{stratified_folds, stratified_split};
use crate::{Error, Result};
use ndarray::{Array2, Axis};
use serde::{Deserialize, Serialize};

/// Candidate numbers of voting neighbours.
pub const K_GRID: [usize; 6] = [1, 3, 5, 9, 15, 25];
/// Candidate inverse regularisation strengths (scikit-learn's C) on standardised features.
/// The grid reaches down to 0.001 because with ~700 standardised columns the best C on the
/// benchmark tasks sat at or below 0.01; C above 1 was never chosen.
pub const C_GRID: [f64; 6] = [0.001, 0.003, 0.01, 0.03, 0.1, 1.0];
/// The fusion weight grid is `0, 1/WEIGHT_STEPS, …, 1`.
pub const WEIGHT_STEPS: usize = 10;
/// Share of the training rows used to fit; the rest validates.
pub const FIT_FRACTION: f64 = 0.8;
/// Cap on the fit rows (about; stratified rounding may add one row per class).
pub const MAX_FIT_ROWS: usize = 20_000;
/// Cap on the validation rows (about; stratified rounding may add one row per class).
pub const MAX_VALIDATION_ROWS: usize = 2_000;

/// The training data to tune on. Row `i` of every field is the same sample.
pub struct TuneInput<'a> {
    /// Embeddings, searched by exact cosine distance for the inner kNN.
    pub embeddings: &'a [Vec<f32>],
    /// Raw `[embedding | handcrafted]` rows for the linear model.
    pub design: &'a Array2<f64>,
    /// Labels in `0..n_classes`.
    pub y: &'a [u32],
    /// Number of classes.
    pub n_classes: usize,
    /// How neighbours vote (not tuned; copied into the result).
    pub vote: Vote,
    /// Seed of the inner split.
    pub seed: u64,
    /// L-BFGS iteration budget for each linear fit.
    pub max_iter: u64,
}

/// The chosen settings and how they scored.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct TuneResult {
    /// The chosen k, weight_knn, C and the input's vote; no threshold.
    pub params: FusionParams,
    /// Their accuracy on the inner validation rows.
    pub val_accuracy: f64,
    /// Number of settings scored.
    pub grid_size: usize,
}

/// `1 − cos(a, b)`, in `[0, 2]`; 1 when either vector is zero.
pub fn cosine_distance(a: &[f32], b: &[f32]) -> f32 {
    let (na, nb) = (norm(a), norm(b));
    if na == 0.0 || nb == 0.0 {
        return 1.0;
    }
    1.0 - dot(a, b) / (na * nb)
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f32]) -> f32 {
    dot(a, a).sqrt()
}

/// Runs the protocol described in the module docs.
pub fn tune(input: &TuneInput) -> Result<TuneResult> {
    check(input)?;
    let (fit, val) = split_rows(input)?;
    let linear = linear_probabilities(input, &fit, &val)?;
    let ks: Vec<usize> = K_GRID.iter().copied().filter(|&k| k <= fit.len()).collect();
    let neighbours = nearest(input, &fit, &val, ks[ks.len() - 1]);
    crate::progress::advance(C_GRID.len() as u64 + 1);
    let truth: Vec<u32> = val.iter().map(|&r| input.y[r]).collect();
    let mut best: Option<(Score, FusionParams)> = None;
    for &k in ks.iter().rev() {
        let knn: Vec<Vec<f64>> = neighbours
            .iter()
            .map(|n| vote(&n[..k.min(n.len())], input.n_classes, input.vote))
            .collect();
        for (c, lin) in C_GRID.iter().zip(&linear) {
            for step in 0..=WEIGHT_STEPS {
                let weight_knn = step as f64 / WEIGHT_STEPS as f64;
                let score = score(&knn, lin, weight_knn, &truth);
                if best.as_ref().is_none_or(|(b, _)| score.beats(b)) {
                    let params = FusionParams {
                        k,
                        weight_knn,
                        c: *c,
                        vote: input.vote,
                        threshold: None,
                    };
                    best = Some((score, params));
                }
            }
        }
    }
    let (score, params) = best.expect("the grid is never empty");
    let grid_size = ks.len() * C_GRID.len() * (WEIGHT_STEPS + 1);
    Ok(TuneResult {
        params,
        val_accuracy: score.hits as f64 / truth.len() as f64,
        grid_size,
    })
}

fn invalid(message: String) -> Error {
    Error::InvalidArgument {
        what: "tuning data".into(),
        message,
    }
}

fn check(input: &TuneInput) -> Result<()> {
    let n = input.y.len();
    if input.embeddings.len() != n || input.design.nrows() != n {
        let (e, d) = (input.embeddings.len(), input.design.nrows());
        return Err(invalid(format!(
            "{n} labels, {e} embeddings and {d} feature rows"
        )));
    }
    if let Some(bad) = input.y.iter().find(|&&l| l as usize >= input.n_classes) {
        return Err(invalid(format!(
            "label {bad} is not below n_classes {}",
            input.n_classes
        )));
    }
    let dim = input.embeddings.first().map_or(0, Vec::len);
    match input.embeddings.iter().position(|e| e.len() != dim) {
        Some(i) => Err(invalid(format!(
            "embedding {i} has dimension {}, not {dim}",
            input.embeddings[i].len()
        ))),
        None => Ok(()),
    }
}

/// The capped fit and validation rows.
fn split_rows(input: &TuneInput) -> Result<(Vec<usize>, Vec<usize>)> {
    let (fit, val) = stratified_split(input.y, FIT_FRACTION, input.seed);
    if fit.is_empty() || val.is_empty() {
        let n = input.y.len();
        return Err(invalid(format!(
            "{n} rows are too few to hold out validation rows (need a class with 2 or more)"
        )));
    }
    let seed = input.seed.wrapping_add(1);
    let fit = stratified_cap(fit, input.y, MAX_FIT_ROWS, seed);
    let val = stratified_cap(val, input.y, MAX_VALIDATION_ROWS, seed);
    Ok((fit, val))
}

/// The validation rows' linear probabilities for each C of [`C_GRID`].
fn linear_probabilities(
    input: &TuneInput,
    fit: &[usize],
    val: &[usize],
) -> Result<Vec<Vec<Vec<f64>>>> {
    let x_fit = input.design.select(Axis(0), fit);
    let x_val = input.design.select(Axis(0), val);
    let y_fit: Vec<u32> = fit.iter().map(|&r| input.y[r]).collect();
    C_GRID
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let model = LinearModel::fit(&x_fit, &y_fit, input.n_classes, c, input.max_iter)?;
            crate::progress::advance(i as u64 + 1);
            Ok(model.predict_proba_batch(&x_val))
        })
        .collect()
}

fn unit(v: &[f32]) -> Vec<f32> {
    let n = norm(v);
    v.iter()
        .map(|x| if n == 0.0 { 0.0 } else { x / n })
        .collect()
}

/// Each validation row's `k` nearest fit rows as `(label, cosine distance)`, nearest first
/// (ties by row order).
fn nearest(input: &TuneInput, fit: &[usize], val: &[usize], k: usize) -> Vec<Vec<(u32, f32)>> {
    let refs: Vec<Vec<f32>> = fit.iter().map(|&r| unit(&input.embeddings[r])).collect();
    val.iter()
        .map(|&q| {
            let q = unit(&input.embeddings[q]);
            let mut d: Vec<(f32, usize)> = refs
                .iter()
                .enumerate()
                .map(|(i, r)| (distance(&q, r), i))
                .collect();
            let by = |a: &(f32, usize), b: &(f32, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
            if d.len() > k {
                d.select_nth_unstable_by(k, by);
                d.truncate(k);
            }
            d.sort_unstable_by(by);
            d.into_iter()
                .map(|(dist, i)| (input.y[fit[i]], dist))
                .collect()
        })
        .collect()
}

/// Cosine distance of unit vectors; a zero vector is at distance 1 from everything.
fn distance(a: &[f32], b: &[f32]) -> f32 {
    1.0 - dot(a, b)
}

/// Validation hits and mean log-loss of one setting.
struct Score {
    hits: usize,
    log_loss: f64,
}

impl Score {
    fn beats(&self, other: &Score) -> bool {
        self.hits > other.hits || (self.hits == other.hits && self.log_loss < other.log_loss)
    }
}

fn score(knn: &[Vec<f64>], lin: &[Vec<f64>], weight_knn: f64, truth: &[u32]) -> Score {
    let (mut hits, mut loss) = (0, 0.0);
    for ((pk, pl), &t) in knn.iter().zip(lin).zip(truth) {
        let p = fuse(pk, pl, weight_knn);
        hits += usize::from(argmax(&p).0 == t as usize);
        loss -= p[t as usize].max(1e-15).ln();
    }
    Score {
        hits,
        log_loss: loss / truth.len() as f64,
    }
}

#[cfg(test)]
mod tests;
