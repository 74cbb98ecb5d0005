//! The lightweight classifier: standardised logistic regression (linfa-logistic, L-BFGS).
//!
//! Inputs are raw `[embedding | handcrafted]` rows as `f64`; the model standardises each
//! column itself (training mean and population standard deviation; a constant column gets
//! scale 1), so callers never scale. Regularisation follows scikit-learn's `C`: linfa minimises
//! `Σ logloss + alpha/2 ‖W‖²` (a sum over rows, intercept unpenalised) and scikit-learn
//! `C · Σ logloss + 1/2 ‖W‖²`, so `alpha = 1 / C` gives the same optimum.

use crate::{Error, Result};
use linfa::traits::Fit;
use linfa::DatasetBase;
use linfa_logistic::{
    FittedLogisticRegression, LogisticRegression, MultiFittedLogisticRegression,
    MultiLogisticRegression,
};
use ndarray::{Array1, Array2, Axis};
use serde::{Deserialize, Serialize};

/// A reasonable iteration budget for [`LinearModel::fit`].
pub const DEFAULT_MAX_ITER: u64 = 200;

/// The L-BFGS stopping tolerance on the gradient norm, per training row (the loss is a sum
/// over rows, so the tolerance scales with their number).
const GRADIENT_TOLERANCE_PER_ROW: f64 = 1e-4;

/// A fitted, serialisable logistic regression over standardised features.
///
/// Two classes present in training give a binary model, more give a multinomial one, one
/// gives a constant model. Classes absent from training get probability 0.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct LinearModel {
    n_classes: usize,
    mean: Vec<f64>,
    scale: Vec<f64>,
    /// The classes the model scores, one row of `weights` each.
    classes: Vec<u32>,
    /// `classes.len() × n_features`, row-major, over standardised features.
    weights: Vec<f64>,
    intercepts: Vec<f64>,
    /// A unit direction in the standardised space that is projected out of every row before
    /// scoring (see [`LinearModel::fit_removing`]); `None` for an ordinary fit.
    #[serde(default)]
    removed: Option<Vec<f64>>,
}

/// Scored classes with their weight rows and intercepts.
struct Params {
    classes: Vec<u32>,
    weights: Vec<f64>,
    intercepts: Vec<f64>,
}

impl LinearModel {
    /// Fits on raw rows `x` (one per sample) with labels `y` in `0..n_classes`.
    ///
    /// `c` is scikit-learn's inverse regularisation strength; linfa gets `alpha = 1 / c`.
    /// `max_iter` bounds the L-BFGS iterations (see [`DEFAULT_MAX_ITER`]).
    pub fn fit(
        x: &Array2<f64>,
        y: &[u32],
        n_classes: usize,
        c: f64,
        max_iter: u64,
    ) -> Result<Self> {
        Self::fit_inner(x, y, n_classes, c, max_iter, None)
    }

    /// Like [`Self::fit`], but blind to one direction: the standardised offset of
    /// `target_mean` (the raw column means of a query set) from the training means. That
    /// direction is projected out of the training rows before fitting and out of every row
    /// scored later, so the model cannot lean on what sets the query set apart from the
    /// training data as a whole (a first-order covariate-shift correction).
    pub fn fit_removing(
        x: &Array2<f64>,
        y: &[u32],
        n_classes: usize,
        c: f64,
        max_iter: u64,
        target_mean: &[f64],
    ) -> Result<Self> {
        if target_mean.len() != x.ncols() {
            return Err(invalid(format!(
                "{} target means for {} columns",
                target_mean.len(),
                x.ncols()
            )));
        }
        Self::fit_inner(x, y, n_classes, c, max_iter, Some(target_mean))
    }

    fn fit_inner(
        x: &Array2<f64>,
        y: &[u32],
        n_classes: usize,
        c: f64,
        max_iter: u64,
        target_mean: Option<&[f64]>,
    ) -> Result<Self> {
        check_inputs(x, y, n_classes, c)?;
        let (mean, scale) = standardiser(x);
        let mut xs = standardise(x, &mean, &scale);
        let removed = target_mean.and_then(|t| unit(&offset(t, &mean, &scale)));
        if let Some(u) = &removed {
            let u = Array1::from(u.clone());
            for mut r in xs.rows_mut() {
                let dot = r.dot(&u);
                r.scaled_add(-dot, &u);
            }
        }
        // Column-major rows: the solver's gradient `Xᵀ·r` then runs over contiguous columns
        // (ndarray's matrix-vector product strides through a row-major Xᵀ, which was most
        // of a fit's time).
        let xs = column_major(xs);
        let present = present_classes(y);
        let params = match present.len() {
            1 => Params {
                classes: present,
                weights: vec![0.0; x.ncols()],
                intercepts: vec![0.0],
            },
            2 => from_binary(&fit_binary(&xs, y, c, max_iter)?),
            _ => from_multi(&fit_multi(&xs, y, c, max_iter)?),
        };
        let Params {
            classes,
            weights,
            intercepts,
        } = params;
        Ok(LinearModel {
            n_classes,
            mean,
            scale,
            classes,
            weights,
            intercepts,
            removed,
        })
    }

    /// The standardised offset `(m − mean) / scale` of raw column means `m` from the training
    /// means: the covariate shift of a query set, in training standard deviations.
    pub fn standardised_offset(&self, m: &[f64]) -> Vec<f64> {
        offset(m, &self.mean, &self.scale)
    }

    /// The raw column values whose standardised offset is `z`: the inverse of
    /// [`Self::standardised_offset`].
    pub fn raw_from_offset(&self, z: &[f64]) -> Vec<f64> {
        z.iter()
            .zip(&self.mean)
            .zip(&self.scale)
            .map(|((z, m), s)| m + z * s)
            .collect()
    }

    /// Whether this model was fitted blind to a direction ([`Self::fit_removing`]).
    pub fn removes_a_direction(&self) -> bool {
        self.removed.is_some()
    }

    /// Number of classes in the probability vectors.
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// The classes the model was trained on (the others always get probability 0).
    pub fn classes(&self) -> &[u32] {
        &self.classes
    }

    /// Number of input columns.
    pub fn n_features(&self) -> usize {
        self.mean.len()
    }

    /// Class probabilities (length `n_classes`, summing to 1) for one raw row.
    ///
    /// # Panics
    /// If the row's length is not [`Self::n_features`].
    pub fn predict_proba(&self, row: &[f64]) -> Vec<f64> {
        assert_eq!(
            row.len(),
            self.n_features(),
            "row has the wrong number of features"
        );
        let mut z = offset(row, &self.mean, &self.scale);
        if let Some(u) = &self.removed {
            project_out(&mut z, u);
        }
        let logits: Vec<f64> = self
            .intercepts
            .iter()
            .zip(self.weights.chunks(z.len().max(1)))
            .map(|(b, w)| b + w.iter().zip(&z).map(|(a, b)| a * b).sum::<f64>())
            .collect();
        let mut p = vec![0.0; self.n_classes];
        for (class, q) in self.classes.iter().zip(softmax(&logits)) {
            p[*class as usize] = q;
        }
        p
    }

    /// [`Self::predict_proba`] for every row of `x`.
    pub fn predict_proba_batch(&self, x: &Array2<f64>) -> Vec<Vec<f64>> {
        x.rows()
            .into_iter()
            .map(|r| self.predict_proba(&r.to_vec()))
            .collect()
    }
}

fn invalid(message: String) -> Error {
    Error::InvalidArgument {
        what: "linear model training data".into(),
        message,
    }
}

fn check_inputs(x: &Array2<f64>, y: &[u32], n_classes: usize, c: f64) -> Result<()> {
    if x.nrows() != y.len() || y.is_empty() {
        return Err(invalid(format!(
            "{} rows but {} labels",
            x.nrows(),
            y.len()
        )));
    }
    if let Some(bad) = y.iter().find(|&&l| l as usize >= n_classes) {
        return Err(invalid(format!(
            "label {bad} is not below n_classes {n_classes}"
        )));
    }
    if !(c.is_finite() && c > 0.0) {
        return Err(Error::InvalidArgument {
            what: "C".into(),
            message: format!("{c} is not a positive number"),
        });
    }
    match x.indexed_iter().find(|(_, v)| !v.is_finite()) {
        Some(((r, col), v)) => Err(invalid(format!("row {r}, column {col} is {v}"))),
        None => Ok(()),
    }
}

/// Column means and population standard deviations (≈0 replaced by 1).
fn standardiser(x: &Array2<f64>) -> (Vec<f64>, Vec<f64>) {
    let mean = x.mean_axis(Axis(0)).expect("at least one row");
    let std = x.std_axis(Axis(0), 0.0);
    let scale = std
        .iter()
        .zip(&mean)
        .map(|(&s, m)| {
            if s <= 1e-12 * m.abs().max(1.0) {
                1.0
            } else {
                s
            }
        })
        .collect();
    (mean.to_vec(), scale)
}

fn standardise(x: &Array2<f64>, mean: &[f64], scale: &[f64]) -> Array2<f64> {
    let (mean, scale) = (Array1::from(mean.to_vec()), Array1::from(scale.to_vec()));
    (x - &mean) / &scale
}

/// The same matrix in column-major (Fortran) layout.
fn column_major(x: Array2<f64>) -> Array2<f64> {
    x.reversed_axes()
        .as_standard_layout()
        .into_owned()
        .reversed_axes()
}

fn offset(row: &[f64], mean: &[f64], scale: &[f64]) -> Vec<f64> {
    row.iter()
        .zip(mean)
        .zip(scale)
        .map(|((v, m), s)| (v - m) / s)
        .collect()
}

/// `v / ‖v‖`, or `None` for a (numerically) zero vector, which has no direction to remove.
fn unit(v: &[f64]) -> Option<Vec<f64>> {
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    (norm > 1e-12).then(|| v.iter().map(|x| x / norm).collect())
}

/// `z ← z − (z·u) u` for a unit vector `u`.
fn project_out(z: &mut [f64], u: &[f64]) {
    let dot: f64 = z.iter().zip(u).map(|(a, b)| a * b).sum();
    z.iter_mut().zip(u).for_each(|(a, b)| *a -= dot * b);
}

fn present_classes(y: &[u32]) -> Vec<u32> {
    let mut classes = y.to_vec();
    classes.sort_unstable();
    classes.dedup();
    classes
}

fn solver_error(e: linfa_logistic::error::Error) -> Error {
    Error::Classifier {
        message: format!("logistic regression failed: {e}"),
    }
}

fn fit_binary(
    xs: &Array2<f64>,
    y: &[u32],
    c: f64,
    max_iter: u64,
) -> Result<FittedLogisticRegression<f64, u32>> {
    let data = DatasetBase::new(xs.view(), Array1::from(y.to_vec()));
    LogisticRegression::default()
        .alpha(1.0 / c)
        .max_iterations(max_iter)
        .gradient_tolerance(GRADIENT_TOLERANCE_PER_ROW * y.len() as f64)
        .fit(&data)
        .map_err(solver_error)
}

fn fit_multi(
    xs: &Array2<f64>,
    y: &[u32],
    c: f64,
    max_iter: u64,
) -> Result<MultiFittedLogisticRegression<f64, u32>> {
    let data = DatasetBase::new(xs.view(), Array1::from(y.to_vec()));
    MultiLogisticRegression::default()
        .alpha(1.0 / c)
        .max_iterations(max_iter)
        .gradient_tolerance(GRADIENT_TOLERANCE_PER_ROW * y.len() as f64)
        .fit(&data)
        .map_err(solver_error)
}

/// A binary model as a two-row softmax: logits `[0, z]` for `[neg, pos]` give `σ(z)` for pos.
fn from_binary(m: &FittedLogisticRegression<f64, u32>) -> Params {
    let n = m.params().len();
    let mut weights = vec![0.0; n];
    weights.extend(m.params().iter());
    let labels = m.labels();
    Params {
        classes: vec![labels.neg.class, labels.pos.class],
        weights,
        intercepts: vec![0.0, m.intercept()],
    }
}

fn from_multi(m: &MultiFittedLogisticRegression<f64, u32>) -> Params {
    let weights = m.params().t().iter().copied().collect();
    Params {
        classes: m.classes().to_vec(),
        weights,
        intercepts: m.intercept().to_vec(),
    }
}

fn softmax(logits: &[f64]) -> Vec<f64> {
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = logits.iter().map(|z| (z - max).exp()).collect();
    let sum: f64 = e.iter().sum();
    e.iter().map(|v| v / sum).collect()
}

#[cfg(test)]
mod tests;
