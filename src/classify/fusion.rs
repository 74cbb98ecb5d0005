//! Mixing the kNN and linear probabilities, and the final decision.

use super::knn::Vote;
use serde::{Deserialize, Serialize};

/// `weight_knn · p_knn + (1 − weight_knn) · p_lin`, element by element.
///
/// # Panics
/// If the vectors differ in length.
pub fn fuse(p_knn: &[f64], p_lin: &[f64], weight_knn: f64) -> Vec<f64> {
    assert_eq!(
        p_knn.len(),
        p_lin.len(),
        "probability vectors differ in length"
    );
    p_knn
        .iter()
        .zip(p_lin)
        .map(|(k, l)| weight_knn * k + (1.0 - weight_knn) * l)
        .collect()
}

/// Index and value of the largest probability; the lowest index wins a tie.
/// `(0, 0.0)` for an empty vector.
pub fn argmax(p: &[f64]) -> (usize, f64) {
    let mut best = (0, p.first().copied().unwrap_or(0.0));
    for (i, &x) in p.iter().enumerate().skip(1) {
        if x > best.1 {
            best = (i, x);
        }
    }
    best
}

/// The classifier's settings, chosen by [`super::tune`] on training data.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct FusionParams {
    /// Number of neighbours that vote.
    pub k: usize,
    /// Weight of the kNN probabilities in the fusion (the linear model gets `1 − weight_knn`).
    pub weight_knn: f64,
    /// Inverse L2 regularisation of the linear model, as scikit-learn's `C`.
    pub c: f64,
    /// How neighbours vote.
    pub vote: Vote,
    /// Answer [`Decision::Unknown`] when the nearest neighbour is farther than this.
    pub threshold: Option<f32>,
}

impl Default for FusionParams {
    /// k 5, weight 0.5, C 1, distance-weighted vote, no threshold.
    fn default() -> Self {
        FusionParams {
            k: 5,
            weight_knn: 0.5,
            c: 1.0,
            vote: Vote::Distance,
            threshold: None,
        }
    }
}

/// The answer for one query.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The predicted class index.
    Label(u32),
    /// The query is too far from every reference (see [`FusionParams::threshold`]).
    Unknown,
}

/// Decides from fused probabilities. The confidence is the largest fused probability in
/// both cases. With a threshold, the answer is `Unknown` when the nearest neighbour's distance
/// exceeds it, or when there is no neighbour at all; without one it is always the argmax.
pub fn decide(
    p_fused: &[f64],
    nearest_distance: Option<f32>,
    threshold: Option<f32>,
) -> (Decision, f64) {
    let (best, confidence) = argmax(p_fused);
    let too_far = match (threshold, nearest_distance) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(t), Some(d)) => d > t,
    };
    if too_far {
        (Decision::Unknown, confidence)
    } else {
        (Decision::Label(best as u32), confidence)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuse_is_a_convex_mix() {
        let p = fuse(&[1.0, 0.0], &[0.2, 0.8], 0.25);
        assert!((p[0] - 0.4).abs() < 1e-12 && (p[1] - 0.6).abs() < 1e-12);
        assert_eq!(fuse(&[0.3, 0.7], &[0.9, 0.1], 1.0), vec![0.3, 0.7]);
        assert_eq!(fuse(&[0.3, 0.7], &[0.9, 0.1], 0.0), vec![0.9, 0.1]);
    }

    #[test]
    fn argmax_takes_the_first_maximum() {
        assert_eq!(argmax(&[0.2, 0.5, 0.3]), (1, 0.5));
        assert_eq!(argmax(&[0.4, 0.4, 0.2]), (0, 0.4));
        assert_eq!(argmax(&[]), (0, 0.0));
    }

    #[test]
    fn decide_answers_unknown_beyond_the_threshold() {
        let p = [0.1, 0.7, 0.2];
        assert_eq!(decide(&p, Some(0.3), None), (Decision::Label(1), 0.7));
        assert_eq!(decide(&p, Some(0.3), Some(0.3)), (Decision::Label(1), 0.7));
        assert_eq!(decide(&p, Some(0.31), Some(0.3)), (Decision::Unknown, 0.7));
        assert_eq!(decide(&p, None, Some(0.3)), (Decision::Unknown, 0.7));
        assert_eq!(decide(&p, None, None), (Decision::Label(1), 0.7));
    }

    #[test]
    fn default_params_round_trip() {
        let d = FusionParams::default();
        assert_eq!(
            (d.k, d.weight_knn, d.c, d.vote, d.threshold),
            (5, 0.5, 1.0, Vote::Distance, None)
        );
        let back: FusionParams = serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
        assert_eq!(back, d);
    }
}
