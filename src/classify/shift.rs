//! Covariate shift between a query set and the training records, and when to correct it.
//!
//! The measure is the root-mean-square, over the design columns, of the query set's mean
//! offset from the training means in training standard deviations. Without a shift each
//! column's offset has variance `1/n_queries + 1/n_train` (its sampling noise), whatever the
//! columns' correlations, so `noise_ratio` (mean squared offset over that variance) is about 1.
//! A shift counts as material when it is both beyond noise and large in absolute terms: the
//! second condition keeps huge query sets from triggering on differences too small to matter.
//!
//! Measured with the composition embedder (BENCHMARKS.md): in-distribution test sets give RMS
//! 0.016-0.045 and ratios 0.9-1.5; the GUE → Genomic Benchmarks promoter shift gives RMS 0.21
//! and a ratio of 210.

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
    /// Never measure or correct.
    Never,
    /// Correct when the shift is material ([`Shift::is_material`]).
    #[default]
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
            adapted: false,
        }
    }

    /// Beyond noise, large enough to matter, and over enough queries.
    pub fn is_material(&self) -> bool {
        self.n_queries >= MIN_QUERIES && self.noise_ratio >= MIN_NOISE_RATIO && self.rms >= MIN_RMS
    }
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
