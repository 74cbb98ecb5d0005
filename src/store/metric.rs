//! Distance metrics of a collection.

use serde::{Deserialize, Serialize};

use crate::vecmath;

/// How distances between vectors are measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// 1 - cosine similarity. Vectors are stored unit-normalised, so this is 1 - dot, in [0, 2].
    Cosine,
    /// Euclidean distance (ranked internally by its square).
    L2,
}

impl Metric {
    /// The ranking distance: 1 - dot for cosine, squared L2 for L2.
    #[inline]
    pub fn distance(self, a: &[f32], b: &[f32]) -> f32 {
        match self {
            // Clamped: rounding can push 1 - dot of two equal unit vectors slightly below 0.
            Metric::Cosine => (1.0 - vecmath::dot(a, b)).max(0.0),
            Metric::L2 => vecmath::l2_squared(a, b),
        }
    }

    /// The ranking distance of two stored vectors whose squared Euclidean distance is
    /// `squared` (for cosine, unit vectors: 1 - dot = |a - b|^2 / 2). Monotone, so it turns
    /// a lower bound into a lower bound.
    pub fn from_squared_l2(self, squared: f32) -> f32 {
        match self {
            Metric::Cosine => squared / 2.0,
            Metric::L2 => squared,
        }
    }

    /// Converts a ranking distance into the distance reported to users.
    pub fn report(self, ranking_distance: f32) -> f32 {
        match self {
            Metric::Cosine => ranking_distance,
            Metric::L2 => ranking_distance.sqrt(),
        }
    }

    /// Brings a vector into the form stored and compared (unit norm for cosine).
    pub fn prepare(self, v: &mut [f32]) {
        if self == Metric::Cosine {
            vecmath::normalize(v);
        }
    }

    /// The metric's name as written in specs and `info`.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Cosine => "cosine",
            Metric::L2 => "l2",
        }
    }
}

impl std::str::FromStr for Metric {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cosine" => Ok(Metric::Cosine),
            "l2" => Ok(Metric::L2),
            other => Err(crate::Error::InvalidArgument {
                what: "metric".into(),
                message: format!("{other:?} is not one of cosine, l2"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_match_hand_computed_values() {
        let (a, b) = ([1.0f32, 0.0], [0.0f32, 1.0]);
        assert_eq!(Metric::Cosine.distance(&a, &b), 1.0);
        assert_eq!(Metric::Cosine.distance(&a, &a), 0.0);
        assert_eq!(Metric::L2.distance(&[0.0, 0.0], &[3.0, 4.0]), 25.0);
        assert_eq!(Metric::L2.report(25.0), 5.0);
        assert_eq!(Metric::Cosine.report(0.25), 0.25);
    }

    #[test]
    fn prepare_normalises_only_for_cosine() {
        let mut v = [3.0f32, 4.0];
        Metric::L2.prepare(&mut v);
        assert_eq!(v, [3.0, 4.0]);
        Metric::Cosine.prepare(&mut v);
        assert_eq!(v, [0.6, 0.8]);
    }

    #[test]
    fn parses_names_and_rejects_others() {
        assert_eq!("cosine".parse::<Metric>().unwrap(), Metric::Cosine);
        assert_eq!("l2".parse::<Metric>().unwrap(), Metric::L2);
        assert!("dot".parse::<Metric>().is_err());
    }
}
