//! Seeded synthetic labelled sequences for `genovec demo`: motifs planted in a background.
//!
//! Three classes of 200 bp sequences, all drawn from one seeded generator:
//! - `tata_promoter`: AT-leaning background with a TATA box (TATAAA, sometimes with one
//!   mismatch) planted 25-35 bases before the end, plus an initiator-like `TCAGT` after it;
//! - `cpg_island`: GC-rich background with an excess of CG dinucleotides;
//! - `background`: mildly AT-rich random sequence with no planted motif.
//!
//! Classes overlap on purpose (weak CpG islands, mutated boxes), so accuracy is high but not
//! perfect.

use std::collections::HashSet;
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::seq::{DnaSeq, SeqRecord};
use crate::store::Collection;
use crate::Result;

/// The demo's class names.
pub const CLASSES: [&str; 3] = ["tata_promoter", "cpg_island", "background"];
/// Length of every demo sequence.
pub const LENGTH: usize = 200;

/// `n_per_class` sequences of each class, interleaved, named `<class>_<i>`.
pub fn generate(seed: u64, n_per_class: usize) -> Vec<SeqRecord> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(3 * n_per_class);
    for i in 0..n_per_class {
        for class in CLASSES {
            let seq = match class {
                "tata_promoter" => tata(&mut rng),
                "cpg_island" => cpg(&mut rng),
                _ => background(&mut rng, 0.58),
            };
            let seq = DnaSeq::parse(&seq).expect("the generator writes ACGT only");
            out.push(SeqRecord {
                name: format!("{class}_{i}"),
                seq,
                label: Some(class.to_string()),
                metadata: None,
            });
        }
    }
    out
}

/// True when the collection at `path` holds exactly `records` (same names, labels and
/// sequences, in any order) and nothing else: what `genovec demo` wrote there. The demo
/// replaces such a file freely and any other only when told to.
pub fn holds_exactly(path: &Path, records: &[SeqRecord]) -> Result<bool> {
    let collection = Collection::open_reader(path)?;
    if collection.len() != records.len() {
        return Ok(false);
    }
    let expected: HashSet<(&str, &str, &[u8])> = records
        .iter()
        .map(|r| {
            let label = r.label.as_deref().unwrap_or("");
            (r.name.as_str(), label, r.seq.as_bytes())
        })
        .collect();
    let stored = collection.live_records()?;
    Ok(stored.len() == expected.len()
        && stored.iter().all(|row| {
            let label = collection.label_name(row.label);
            expected.contains(&(row.name.as_str(), label, row.seq.as_slice()))
        }))
}

/// Random bases with the given A+T fraction.
fn background(rng: &mut ChaCha8Rng, at: f64) -> Vec<u8> {
    (0..LENGTH)
        .map(|_| {
            let pick_at = rng.gen_bool(at);
            match (pick_at, rng.gen_bool(0.5)) {
                (true, true) => b'A',
                (true, false) => b'T',
                (false, true) => b'C',
                (false, false) => b'G',
            }
        })
        .collect()
}

fn tata(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut seq = background(rng, 0.6);
    let mut motif = *b"TATAAA";
    if rng.gen_bool(0.3) {
        motif[rng.gen_range(0..6)] = b"ACGT"[rng.gen_range(0..4)];
    }
    let at = LENGTH - rng.gen_range(25..=35);
    seq[at..at + 6].copy_from_slice(&motif);
    let inr = (at + 30).min(LENGTH - 5);
    seq[inr..inr + 5].copy_from_slice(b"TCAGT");
    seq
}

fn cpg(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let strength = rng.gen_range(0.05..0.25);
    let mut seq = background(rng, 0.42);
    let mut i = 0;
    while i + 1 < LENGTH {
        if rng.gen_bool(strength) {
            seq[i..i + 2].copy_from_slice(b"CG");
            i += 2;
        } else {
            i += 1;
        }
    }
    seq
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_seeded_and_labelled() {
        let a = generate(7, 5);
        assert_eq!(a, generate(7, 5));
        assert_ne!(a, generate(8, 5));
        assert_eq!(a.len(), 15);
        assert!(a.iter().all(|r| r.seq.len() == LENGTH && r.label.is_some()));
    }

    #[test]
    fn classes_carry_their_signals() {
        let recs = generate(1, 50);
        let count = |class: &str, pat: &[u8]| -> usize {
            recs.iter()
                .filter(|r| r.label.as_deref() == Some(class))
                .map(|r| {
                    r.seq
                        .as_bytes()
                        .windows(pat.len())
                        .filter(|w| *w == pat)
                        .count()
                })
                .sum()
        };
        assert!(count("cpg_island", b"CG") > 3 * count("background", b"CG"));
        assert!(count("tata_promoter", b"TCAGT") >= 50);
    }

    #[test]
    fn a_collection_is_the_demo_s_only_with_exactly_its_records() {
        use crate::engine::{index_records, IndexOptions};
        let dir = tempfile::tempdir().unwrap();
        let records = generate(3, 4);
        let index = |path: &Path, recs: &[SeqRecord]| {
            index_records(path, recs, &IndexOptions::default(), &mut |_, _, _| {}).unwrap();
        };
        let own = dir.path().join("own.redb");
        index(&own, &records);
        assert!(holds_exactly(&own, &records).unwrap());
        let fewer = dir.path().join("fewer.redb");
        index(&fewer, &records[1..]);
        assert!(!holds_exactly(&fewer, &records).unwrap());
        let mut renamed = records.clone();
        renamed[0].name = "mine".into();
        let other = dir.path().join("other.redb");
        index(&other, &renamed);
        assert!(!holds_exactly(&other, &records).unwrap());
        let not_redb = dir.path().join("notes.redb");
        std::fs::write(&not_redb, b"my notes").unwrap();
        assert!(holds_exactly(&not_redb, &records).is_err());
    }
}
