//! Per-class statistics of one set: counts, lengths and base composition.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::seq::SeqRecord;

/// One label's records in one set. Rates are pooled over the class's bases.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassStats {
    /// The label (`""` for records without one).
    pub label: String,
    /// Records with the label.
    pub records: usize,
    /// Shortest sequence.
    pub length_min: usize,
    /// Median length (the upper median of an even count).
    pub length_median: usize,
    /// Mean length.
    pub length_mean: f64,
    /// Longest sequence.
    pub length_max: usize,
    /// G and C among all bases.
    pub gc: f64,
    /// CG dinucleotides per dinucleotide position.
    pub cpg: f64,
    /// N among all bases.
    pub n: f64,
}

/// Statistics per label, sorted by label.
pub fn per_class(records: &[SeqRecord]) -> Vec<ClassStats> {
    let mut by_label: BTreeMap<&str, Vec<&[u8]>> = BTreeMap::new();
    for r in records {
        let label = r.label.as_deref().unwrap_or("");
        by_label.entry(label).or_default().push(r.seq.as_bytes());
    }
    by_label
        .into_iter()
        .map(|(label, seqs)| class(label, &seqs))
        .collect()
}

fn class(label: &str, seqs: &[&[u8]]) -> ClassStats {
    let mut lengths: Vec<usize> = seqs.iter().map(|s| s.len()).collect();
    lengths.sort_unstable();
    let bases: usize = lengths.iter().sum();
    let (mut gc, mut n, mut cpg, mut pairs) = (0usize, 0usize, 0usize, 0usize);
    for s in seqs {
        for &b in s.iter() {
            match b.to_ascii_uppercase() {
                b'G' | b'C' => gc += 1,
                b'N' => n += 1,
                _ => {}
            }
        }
        pairs += s.len().saturating_sub(1);
        cpg += s
            .windows(2)
            .filter(|w| w[0].eq_ignore_ascii_case(&b'C') && w[1].eq_ignore_ascii_case(&b'G'))
            .count();
    }
    let rate = |count: usize, of: usize| {
        if of == 0 {
            0.0
        } else {
            count as f64 / of as f64
        }
    };
    ClassStats {
        label: label.to_string(),
        records: seqs.len(),
        length_min: lengths.first().copied().unwrap_or(0),
        length_median: lengths.get(lengths.len() / 2).copied().unwrap_or(0),
        length_mean: rate(bases, seqs.len()),
        length_max: lengths.last().copied().unwrap_or(0),
        gc: rate(gc, bases),
        cpg: rate(cpg, pairs),
        n: rate(n, bases),
    }
}
