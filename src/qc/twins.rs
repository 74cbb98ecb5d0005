//! Composition twins: two records with different labels, the same base counts and nearly the
//! same dinucleotide spectrum, yet no near-duplicates of each other. Shuffling a sequence keeps
//! its base counts (a dinucleotide shuffle keeps its 2-mer counts too), so twins are the
//! signature of negatives made by shuffling positives: a model can then tell the classes apart
//! by order alone, or a benchmark leaks the positives' composition into its negatives.
//!
//! Candidates share their exact base counts (A, C, G, T and N), so they are found by grouping,
//! not by comparing every pair; within a group, the dinucleotide spectra are compared by total
//! variation distance (half the L1 distance of the 2-mer frequencies, 0 to 1).

use std::collections::HashMap;

use super::near::identity;
use crate::seq::SeqRecord;

/// The largest spectrum distance of twins by default.
pub const DEFAULT_DISTANCE: f64 = 0.05;

/// Comparisons examined at most in one run; beyond it the report says it stopped early.
const MAX_COMPARISONS: u64 = 200_000_000;

/// What the twin search found between two lists of records (or within one).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Twins {
    /// Twin pairs (first list index, second list index, spectrum distance).
    pub pairs: Vec<(usize, usize, f64)>,
    /// True when [`MAX_COMPARISONS`] stopped the search before every candidate was compared.
    pub truncated: bool,
}

/// A record's base counts and dinucleotide counts.
struct Profile {
    bases: [u32; 5],
    pairs: [u32; 16],
}

fn code(b: u8) -> usize {
    match b {
        b'A' => 0,
        b'C' => 1,
        b'G' => 2,
        b'T' => 3,
        _ => 4,
    }
}

fn profile(seq: &[u8]) -> Profile {
    let (mut bases, mut pairs) = ([0u32; 5], [0u32; 16]);
    for &b in seq {
        bases[code(b)] += 1;
    }
    for w in seq.windows(2) {
        let (a, b) = (code(w[0]), code(w[1]));
        // A window with N is no dinucleotide.
        if a < 4 && b < 4 {
            pairs[a * 4 + b] += 1;
        }
    }
    Profile { bases, pairs }
}

/// Total variation distance of two 2-mer spectra (1 when either has none).
fn distance(a: &Profile, b: &Profile) -> f64 {
    let (na, nb) = (
        a.pairs.iter().sum::<u32>() as f64,
        b.pairs.iter().sum::<u32>() as f64,
    );
    if na == 0.0 || nb == 0.0 {
        return 1.0;
    }
    let l1: f64 = (a.pairs.iter().zip(&b.pairs))
        .map(|(&x, &y)| (x as f64 / na - y as f64 / nb).abs())
        .sum();
    l1 / 2.0
}

/// Twins between `a` and `b` (with `b` `None`: within `a`, each pair once). `identity` is the
/// near-duplicate threshold: a pair that reaches it is a near-duplicate (a label conflict), not
/// a twin.
pub fn find(
    a: &[SeqRecord],
    b: Option<&[SeqRecord]>,
    max_distance: f64,
    identity_at: f64,
) -> Twins {
    let profiles_a: Vec<Profile> = a.iter().map(|r| profile(r.seq.as_bytes())).collect();
    let profiles_b: Vec<Profile> = b
        .unwrap_or_default()
        .iter()
        .map(|r| profile(r.seq.as_bytes()))
        .collect();
    let (other, other_profiles) = match b {
        Some(b) => (b, &profiles_b),
        None => (a, &profiles_a),
    };
    let mut groups: HashMap<[u32; 5], Vec<usize>> = HashMap::new();
    for (j, p) in other_profiles.iter().enumerate() {
        groups.entry(p.bases).or_default().push(j);
    }
    let mut twins = Twins::default();
    let mut compared = 0u64;
    for (i, p) in profiles_a.iter().enumerate() {
        let Some(group) = groups.get(&p.bases) else {
            continue;
        };
        for &j in group {
            // Within one list, each pair once.
            if b.is_none() && j <= i {
                continue;
            }
            compared += 1;
            if compared > MAX_COMPARISONS {
                twins.truncated = true;
                return twins;
            }
            if a[i].label == other[j].label {
                continue;
            }
            let d = distance(p, &other_profiles[j]);
            if d > max_distance {
                continue;
            }
            let (x, y) = (a[i].seq.as_bytes(), other[j].seq.as_bytes());
            if identity(x, y, identity_at).is_none() {
                twins.pairs.push((i, j, d));
            }
        }
    }
    twins
}
