//! Exact and reverse-complement duplicates, and label conflicts, by hashing sequences.

use std::collections::{HashMap, HashSet};

use crate::seq::{reverse_complement, SeqRecord};

fn seq(r: &SeqRecord) -> &[u8] {
    r.seq.as_bytes()
}

/// (exact duplicates, reverse-complement duplicates) within one set: records whose sequence
/// (or, not being an exact duplicate, whose reverse complement) an earlier record has.
pub fn within(records: &[SeqRecord]) -> (usize, usize) {
    let mut seen: HashSet<&[u8]> = HashSet::new();
    let (mut exact, mut rc) = (0, 0);
    for r in records {
        if !seen.insert(seq(r)) {
            exact += 1;
        } else if seen.contains(reverse_complement(seq(r)).as_slice()) && !palindrome(seq(r)) {
            rc += 1;
        }
    }
    (exact, rc)
}

/// (exact, reverse-complement) duplicates across: test records whose sequence (or, if not,
/// whose reverse complement) a training record has.
pub fn across(train: &[SeqRecord], test: &[SeqRecord]) -> (usize, usize) {
    let known: HashSet<&[u8]> = train.iter().map(seq).collect();
    let (mut exact, mut rc) = (0, 0);
    for r in test {
        if known.contains(seq(r)) {
            exact += 1;
        } else if known.contains(reverse_complement(seq(r)).as_slice()) {
            rc += 1;
        }
    }
    (exact, rc)
}

/// Distinct sequences, a sequence and its reverse complement taken as one, whose records
/// carry more than one label (records without a label are left out).
pub fn label_conflicts(records: &[&SeqRecord]) -> usize {
    let mut labels: HashMap<Vec<u8>, HashSet<&str>> = HashMap::new();
    for r in records {
        let Some(label) = r.label.as_deref() else {
            continue;
        };
        labels.entry(canonical(seq(r))).or_default().insert(label);
    }
    labels.values().filter(|l| l.len() > 1).count()
}

/// The smaller of a sequence and its reverse complement.
fn canonical(s: &[u8]) -> Vec<u8> {
    let rc = reverse_complement(s);
    if rc.as_slice() < s {
        rc
    } else {
        s.to_vec()
    }
}

fn palindrome(s: &[u8]) -> bool {
    reverse_complement(s) == s
}
