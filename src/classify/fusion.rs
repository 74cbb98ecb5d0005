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

/// The linear model's probabilities spread over every label of a collection that has grown
/// or shrunk since the model was fitted. `known[j]` says whether the model scores label `j`
/// (`p_lin[j]`); `live[j]` whether label `j` still has records.
///
/// A label the model has not seen takes the vote's probability `p_knn[j]`; the labels it
/// knows share what is left in the model's proportions; a label with no live record gets 0.
/// With no new and no dead label this is `p_lin` itself, so a collection that only grew
/// keeps its answers wherever no new label is near. When no known live label keeps any
/// probability the vote answers alone.
pub fn extend_linear(p_knn: &[f64], p_lin: &[f64], known: &[bool], live: &[bool]) -> Vec<f64> {
    let n = p_knn.len();
    let is_live = |j: usize| live.get(j).copied().unwrap_or(false);
    let scored = |j: usize| known.get(j).copied().unwrap_or(false) && j < p_lin.len();
    let live_labels = || (0..n).filter(|&j| is_live(j));
    let unseen: f64 = live_labels()
        .filter(|&j| !scored(j))
        .map(|j| p_knn[j])
        .sum();
    let known_mass: f64 = live_labels().filter(|&j| scored(j)).map(|j| p_lin[j]).sum();
    if known_mass <= 0.0 {
        return (0..n)
            .map(|j| if is_live(j) { p_knn[j] } else { 0.0 })
            .collect();
    }
    (0..n)
        .map(|j| match (is_live(j), scored(j)) {
            (false, _) => 0.0,
            (true, true) => (1.0 - unseen) * p_lin[j] / known_mass,
            (true, false) => p_knn[j],
        })
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
    fn extend_linear_leaves_a_known_collection_alone() {
        let p_lin = [0.2, 0.8];
        let all = [true, true];
        assert_eq!(extend_linear(&[0.6, 0.4], &p_lin, &all, &all), p_lin);
    }

    #[test]
    fn extend_linear_gives_new_labels_the_vote_and_drops_dead_ones() {
        // Label 2 is new (the vote gives it 0.5), label 0 has no live record left.
        let known = [true, true, false];
        let p = extend_linear(&[0.0, 0.5, 0.5], &[0.3, 0.7], &known, &[false, true, true]);
        assert!((p[0]).abs() < 1e-12 && (p[1] - 0.5).abs() < 1e-12 && (p[2] - 0.5).abs() < 1e-12);
        let q = extend_linear(&[0.2, 0.2, 0.6], &[0.25, 0.75], &known, &[true; 3]);
        assert!((q.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(
            (q[0] - 0.1).abs() < 1e-12 && (q[1] - 0.3).abs() < 1e-12 && (q[2] - 0.6).abs() < 1e-12
        );
        // No known label alive: the vote answers.
        assert_eq!(
            extend_linear(&[0.0, 1.0], &[1.0], &[true, false], &[false, true]),
            vec![0.0, 1.0]
        );
    }

    #[test]
    fn a_label_the_model_scored_no_record_of_is_left_to_the_vote() {
        // The model's class 1 had no training rows (p_lin 0); its records are back now.
        let p = extend_linear(&[0.5, 0.5], &[1.0, 0.0], &[true, false], &[true, true]);
        assert_eq!(p, vec![0.5, 0.5]);
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
