//! Covariate shift between a query set and the training records, and when to correct it.
//!
//! A query set's mean differs from the training mean for two reasons: its classes come in
//! another mix (label shift: a file of candidate promoters), or its sequences differ in kind
//! (covariate shift: another genome, a dataset built another way). Only the second calls for
//! a correction. So the query mean is first explained as a mixture of the training class
//! means ([`explain_by_mixture`], the mixture weights fitted on the simplex, as black-box
//! shift estimation does with class means), and only the residual is measured.
//!
//! The measure is the root-mean-square, over the design columns, of that residual in
//! training standard deviations. Without a shift each column's offset has variance
//! `1/n_queries + 1/n_train` (its sampling noise), whatever the columns' correlations, so
//! `noise_ratio` (mean squared residual over that variance) is about 1. A shift counts as
//! material when it is both beyond noise and large in absolute terms: the second condition
//! keeps huge query sets from triggering on differences too small to matter.
//!
//! Measured with the composition embedder (BENCHMARKS.md): in-distribution test sets give RMS
//! 0.016-0.045 and ratios 0.9-1.5; the GUE → Genomic Benchmarks promoter shift gives RMS 0.21
//! and a ratio of 210 (before the mixture was taken out).

use serde::Serialize;

/// Query sets smaller than this are never corrected: their mean is too noisy a direction.
pub const MIN_QUERIES: usize = 100;
/// A material shift is at least this many times the sampling noise (mean squared offset).
pub const MIN_NOISE_RATIO: f64 = 4.0;
/// ... and at least this RMS offset, in training standard deviations.
pub const MIN_RMS: f64 = 0.1;

/// Whether to correct a query set's covariate shift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Adapt {
    /// Never measure or correct: each prediction depends on its query alone (the default).
    #[default]
    Never,
    /// Correct when the shift that a mix of the training classes cannot explain is material
    /// ([`Shift::is_material`]).
    Auto,
    /// Always correct (needs [`MIN_QUERIES`] queries).
    Always,
}

impl std::str::FromStr for Adapt {
    type Err = crate::Error;

    fn from_str(s: &str) -> crate::Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "never" => Ok(Adapt::Never),
            "auto" => Ok(Adapt::Auto),
            "always" => Ok(Adapt::Always),
            _ => Err(crate::Error::InvalidArgument {
                what: "adapt".into(),
                message: format!("{s:?} (expected never, auto or always)"),
            }),
        }
    }
}

impl std::fmt::Display for Adapt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Adapt::Never => "never",
            Adapt::Auto => "auto",
            Adapt::Always => "always",
        })
    }
}

/// A query set's measured shift, and whether the classifier was corrected for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shift {
    /// RMS standardised mean offset over the design columns.
    pub rms: f64,
    /// Mean squared offset over its no-shift expectation `1/n_queries + 1/n_train`.
    pub noise_ratio: f64,
    /// Queries the mean was taken over.
    pub n_queries: usize,
    /// The mix of training classes that best explains the query mean (class order; empty
    /// when the class means were not known).
    pub class_mix: Vec<f64>,
    /// Whether the linear model was refitted blind to the shift direction.
    pub adapted: bool,
}

impl Shift {
    /// The shift of a query set whose standardised mean offset is `offset`.
    pub fn measure(offset: &[f64], n_queries: usize, n_train: usize) -> Shift {
        let mean_sq = offset.iter().map(|v| v * v).sum::<f64>() / offset.len().max(1) as f64;
        let noise = 1.0 / n_queries.max(1) as f64 + 1.0 / n_train.max(1) as f64;
        Shift {
            rms: mean_sq.sqrt(),
            noise_ratio: mean_sq / noise,
            n_queries,
            class_mix: Vec::new(),
            adapted: false,
        }
    }

    /// Beyond noise, large enough to matter, and over enough queries.
    pub fn is_material(&self) -> bool {
        self.n_queries >= MIN_QUERIES && self.noise_ratio >= MIN_NOISE_RATIO && self.rms >= MIN_RMS
    }
}

/// The simplex weights `w` (non-negative, summing to 1) whose mixture `Σ w_c means[c]` of
/// the class means comes nearest to `target`, and the residual `target − Σ w_c means[c]`.
/// All vectors are standardised offsets of one width. Projected gradient descent on the
/// small `C × C` Gram system; the objective is convex, so it converges to the optimum.
pub fn explain_by_mixture(target: &[f64], means: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>) {
    let c = means.len();
    if c == 0 {
        return (Vec::new(), target.to_vec());
    }
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let gram: Vec<Vec<f64>> = means
        .iter()
        .map(|a| means.iter().map(|b| dot(a, b)).collect())
        .collect();
    let b: Vec<f64> = means.iter().map(|m| dot(m, target)).collect();
    let lipschitz = 2.0 * (0..c).map(|i| gram[i][i]).sum::<f64>().max(1e-12);
    let mut w = vec![1.0 / c as f64; c];
    for _ in 0..2000 {
        let grad: Vec<f64> = (0..c).map(|i| 2.0 * (dot(&gram[i], &w) - b[i])).collect();
        let step: Vec<f64> = w
            .iter()
            .zip(&grad)
            .map(|(x, g)| x - g / lipschitz)
            .collect();
        w = project_to_simplex(&step);
    }
    let mut residual = target.to_vec();
    for (wc, m) in w.iter().zip(means) {
        residual.iter_mut().zip(m).for_each(|(r, x)| *r -= wc * x);
    }
    (w, residual)
}

/// Euclidean projection onto `{w ≥ 0, Σ w = 1}` (sort and threshold).
fn project_to_simplex(v: &[f64]) -> Vec<f64> {
    let mut sorted = v.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let (mut cumulative, mut theta) = (0.0, 0.0);
    for (i, x) in sorted.iter().enumerate() {
        cumulative += x;
        let t = (cumulative - 1.0) / (i + 1) as f64;
        if x - t > 0.0 {
            theta = t;
        }
    }
    v.iter().map(|x| (x - theta).max(0.0)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_rms_and_noise_ratio_by_hand() {
        // Offsets 0.3 and 0.4: mean square 0.125, RMS 0.3536; noise 1/100 + 1/400 = 0.0125.
        let s = Shift::measure(&[0.3, -0.4], 100, 400);
        assert!((s.rms - 0.125f64.sqrt()).abs() < 1e-12);
        assert!((s.noise_ratio - 10.0).abs() < 1e-9);
        assert!(s.is_material() && !s.adapted);
    }

    #[test]
    fn a_mixture_of_class_means_is_recovered_and_leaves_no_residual() {
        let means = vec![
            vec![1.0, 0.0, 2.0],
            vec![-1.0, 0.5, 0.0],
            vec![0.0, -2.0, 1.0],
        ];
        let target: Vec<f64> = (0..3)
            .map(|j| 0.7 * means[0][j] + 0.3 * means[1][j])
            .collect();
        let (w, r) = explain_by_mixture(&target, &means);
        assert!((w[0] - 0.7).abs() < 1e-6 && (w[1] - 0.3).abs() < 1e-6 && w[2] < 1e-6);
        assert!(r.iter().all(|x| x.abs() < 1e-6));
        // A direction no class takes is left whole in the residual.
        let (_, r) = explain_by_mixture(
            &[0.0, 0.0, 0.0, 3.0],
            &[vec![1.0, 0.0, 0.0, 0.0], vec![-1.0, 0.0, 0.0, 0.0]],
        );
        assert!((r[3] - 3.0).abs() < 1e-9 && r[..3].iter().all(|x| x.abs() < 1e-6));
    }

    #[test]
    fn simplex_projection_sums_to_one() {
        let w = project_to_simplex(&[0.9, 0.8, -3.0]);
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12 && w[2] == 0.0);
        assert!((w[0] - 0.55).abs() < 1e-12);
    }

    #[test]
    fn adapt_parses_and_prints() {
        for a in [Adapt::Never, Adapt::Auto, Adapt::Always] {
            assert_eq!(a.to_string().parse::<Adapt>().unwrap(), a);
        }
        assert_eq!(" AUTO ".parse::<Adapt>().unwrap(), Adapt::Auto);
        assert!("sometimes"
            .parse::<Adapt>()
            .unwrap_err()
            .to_string()
            .contains("never, auto"));
    }

    #[test]
    fn each_condition_of_materiality_can_fail() {
        // Too few queries.
        assert!(!Shift::measure(&[0.5; 4], MIN_QUERIES - 1, 10_000).is_material());
        // Large but within noise (tiny sets on both sides).
        let noisy = Shift::measure(&[0.15; 4], 100, 2);
        assert!(noisy.rms >= MIN_RMS && !noisy.is_material());
        // Beyond noise but too small to matter (a million queries).
        let tiny = Shift::measure(&[0.05; 4], 1_000_000, 1_000_000);
        assert!(tiny.noise_ratio > MIN_NOISE_RATIO && !tiny.is_material());
    }
}
