//! Votes over retrieved neighbours.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Added to every distance before inverting it in [`Vote::Distance`], so that an exact
/// duplicate (distance 0) gets a large but finite weight (10⁶).
pub const DISTANCE_EPS: f64 = 1e-6;

/// How neighbours vote.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Vote {
    /// Each neighbour counts once: a class's probability is its share of the neighbours.
    Majority,
    /// Each neighbour weighs `1 / (distance + 1e-6)`; weights are normalised to sum to 1.
    #[default]
    Distance,
}

impl FromStr for Vote {
    type Err = crate::Error;

    fn from_str(s: &str) -> crate::Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "majority" => Ok(Vote::Majority),
            "distance" => Ok(Vote::Distance),
            _ => Err(crate::Error::InvalidArgument {
                what: "vote".into(),
                message: format!("{s:?} is neither \"majority\" nor \"distance\""),
            }),
        }
    }
}

impl fmt::Display for Vote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Vote::Majority => "majority",
            Vote::Distance => "distance",
        })
    }
}

/// Class probabilities from `(label, distance)` neighbours (nearest first).
///
/// [`Vote::Majority`] gives each class its share of the neighbours; [`Vote::Distance`] weighs
/// each neighbour by `1 / (max(distance, 0) + DISTANCE_EPS)` and normalises. With no
/// neighbours the answer is uniform. Labels `>= n_classes` are ignored. The result sums to 1.
pub fn vote(neighbours: &[(u32, f32)], n_classes: usize, vote: Vote) -> Vec<f64> {
    let mut p = vec![0.0; n_classes];
    for &(label, distance) in neighbours {
        debug_assert!((label as usize) < n_classes, "label {label} out of range");
        if let Some(slot) = p.get_mut(label as usize) {
            *slot += weight(distance, vote);
        }
    }
    let total: f64 = p.iter().sum();
    if total > 0.0 {
        p.iter_mut().for_each(|x| *x /= total);
    } else if n_classes > 0 {
        p.fill(1.0 / n_classes as f64);
    }
    p
}

fn weight(distance: f32, vote: Vote) -> f64 {
    match vote {
        Vote::Majority => 1.0,
        Vote::Distance => 1.0 / (f64::from(distance).max(0.0) + DISTANCE_EPS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9)
    }

    #[test]
    fn majority_is_the_count_share() {
        let n = [(0, 0.1), (1, 0.2), (1, 0.3), (2, 0.4)];
        assert!(close(&vote(&n, 3, Vote::Majority), &[0.25, 0.5, 0.25]));
    }

    #[test]
    fn distance_weights_are_inverse_distances() {
        // Weights 1/(0.1+eps), 1/(0.4+eps), 1/(0.4+eps): class 0 has 1/0.1 = 10 of 15.
        let n = [(0, 0.1), (1, 0.4), (1, 0.4)];
        let p = vote(&n, 2, Vote::Distance);
        let w0 = 1.0 / (0.1f32 as f64 + DISTANCE_EPS);
        let w1 = 2.0 / (0.4f32 as f64 + DISTANCE_EPS);
        assert!(close(&p, &[w0 / (w0 + w1), w1 / (w0 + w1)]));
        assert!((p[0] - 2.0 / 3.0).abs() < 1e-4);
    }

    #[test]
    fn exact_duplicate_dominates_but_stays_finite() {
        let p = vote(&[(1, 0.0), (0, 0.5), (0, 0.5)], 2, Vote::Distance);
        assert!(p[1] > 0.9999 && p.iter().all(|x| x.is_finite()));
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn no_neighbours_is_uniform() {
        assert!(close(&vote(&[], 4, Vote::Majority), &[0.25; 4]));
        assert!(close(&vote(&[], 2, Vote::Distance), &[0.5; 2]));
    }

    #[test]
    fn vote_parses_prints_and_serialises() {
        assert_eq!("majority".parse::<Vote>().unwrap(), Vote::Majority);
        assert_eq!("Distance".parse::<Vote>().unwrap(), Vote::Distance);
        assert!("nearest".parse::<Vote>().is_err());
        assert_eq!(Vote::Majority.to_string(), "majority");
        assert_eq!(
            serde_json::to_string(&Vote::Distance).unwrap(),
            "\"distance\""
        );
    }
}
