//! QC counts on small sets built with known duplicates, reverse complements, conflicts and
//! near-duplicates.

use rand::{Rng, SeedableRng};

use super::near::identity;
use super::*;
use crate::seq::{reverse_complement, DnaSeq};

fn record(name: &str, seq: &[u8], label: &str) -> SeqRecord {
    SeqRecord {
        name: name.into(),
        seq: DnaSeq::parse(seq).unwrap(),
        label: Some(label.into()),
        metadata: None,
    }
}

fn random(rng: &mut impl Rng, len: usize) -> Vec<u8> {
    (0..len).map(|_| b"ACGT"[rng.gen_range(0..4)]).collect()
}

/// `seq` with `n` substitutions at distinct positions 6 apart.
fn substituted(seq: &[u8], n: usize) -> Vec<u8> {
    let mut out = seq.to_vec();
    for i in 0..n {
        let at = 3 + 6 * i;
        out[at] = if out[at] == b'A' { b'C' } else { b'A' };
    }
    out
}

#[test]
fn each_finding_is_counted_exactly() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let base: Vec<Vec<u8>> = (0..10).map(|_| random(&mut rng, 100)).collect();
    let label = |i: usize| ["a", "b"][i % 2];
    let mut train: Vec<SeqRecord> = (0..10)
        .map(|i| record(&format!("t{i}"), &base[i], label(i)))
        .collect();
    train.push(record("t10", &base[0], "a")); // exact duplicate of t0
    train.push(record("t11", &reverse_complement(&base[1]), "b")); // t1 reversed
    train.push(record("t12", &base[2], "b")); // t2 with another label: a conflict
    let mut edited = base[7].clone();
    edited.remove(40);
    edited.insert(60, b'G');
    let test = vec![
        record("q0", &base[3], label(3)),                      // exact
        record("q1", &reverse_complement(&base[4]), label(4)), // reverse complement
        record("q2", &substituted(&base[5], 3), label(5)),     // 97% identity
        record("q3", &substituted(&base[6], 15), label(6)),    // 85%: below 90%
        record("q4", &random(&mut rng, 100), "a"),             // new
        record("q5", &edited, label(7)),                       // one deletion, one insertion
        record("q6", &reverse_complement(&base[8]), "b"),      // t8 is "a": a conflict
        record("q7", &substituted(&base[9], 2), "a"),          // 98% of t9, which is "b"
    ];
    let report = run(&train, Some(&test), QcOptions::default()).unwrap();
    assert_eq!(report.train.records, 13);
    assert_eq!(report.train.exact_duplicates_within, 2, "t10 and t12");
    assert_eq!(report.train.reverse_complement_duplicates_within, 1, "t11");
    let near_within = report.train.near_duplicates_within;
    assert_eq!(near_within, 6, "t0/t10, t1/t11, t2/t12");
    let test_set = report.test.as_ref().unwrap();
    assert_eq!((test_set.exact_duplicates_within, test_set.records), (0, 8));
    assert_eq!(test_set.near_duplicates_within, 0);
    let across = report.across.as_ref().unwrap();
    assert_eq!(across.exact_duplicates_across, 1, "q0");
    assert_eq!(across.reverse_complement_duplicates_across, 2, "q1 and q6");
    assert_eq!(across.near_duplicates_across, 6, "q0, q1, q2, q5, q6, q7");
    assert_eq!(across.near_duplicate_pairs_across, 6);
    let names: Vec<(&str, &str)> = (across.examples.iter())
        .map(|(t, r, _)| (t.as_str(), r.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("q0", "t3"),
            ("q1", "t4"),
            ("q2", "t5"),
            ("q5", "t7"),
            ("q6", "t8"),
            ("q7", "t9")
        ]
    );
    assert_eq!(across.examples[2].2, 0.97);
    assert_eq!(report.label_conflicts, 2, "t2/t12 and t8/q6");
    assert_eq!(
        report.train.near_duplicate_label_conflicts_within, 1,
        "t2/t12"
    );
    assert_eq!(
        across.near_duplicate_label_conflicts_across, 2,
        "q6/t8 and q7/t9"
    );
    assert_eq!(report.near_duplicate_label_conflicts, 3);
    // A stricter threshold keeps only the exact and reverse-complement pairs.
    let strict = QcOptions {
        identity: 0.99,
        ..QcOptions::default()
    };
    let report = run(&train, Some(&test), strict).unwrap();
    assert_eq!(report.across.unwrap().near_duplicates_across, 3);
}

#[test]
fn identity_is_over_the_shorter_sequence_in_either_orientation() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    let a = random(&mut rng, 100);
    assert_eq!(identity(&a, &a, 0.9), Some(1.0));
    assert_eq!(identity(&a, &substituted(&a, 1), 0.9), Some(0.99));
    assert_eq!(identity(&a, &reverse_complement(&a), 0.9), Some(1.0));
    assert_eq!(identity(&a, &substituted(&a, 11), 0.9), None);
    assert_eq!(identity(&a, &substituted(&a, 10), 0.9), Some(0.9));
    // 95 of 100 bases: five edits over the shorter 95.
    assert_eq!(identity(&a[..95], &a, 0.9), Some(1.0 - 5.0 / 95.0));
    assert_eq!(identity(b"", &a, 0.9), None);
}

#[test]
fn class_statistics_pool_their_bases() {
    let records = [
        record("x1", b"CGCG", "x"),
        record("x2", b"ATNN", "x"),
        record("y1", b"AAAAAA", "y"),
    ];
    let stats = stats::per_class(&records);
    assert_eq!(stats.len(), 2);
    let x = &stats[0];
    assert_eq!(
        (x.label.as_str(), x.records, x.length_min, x.length_max),
        ("x", 2, 4, 4)
    );
    assert_eq!((x.gc, x.n, x.cpg), (0.5, 0.25, 2.0 / 6.0));
    assert_eq!((stats[1].gc, stats[1].length_mean), (0.0, 6.0));
    let md = markdown(&run(&records, None, QcOptions::default()).unwrap());
    assert!(
        md.contains("| x | 2 | 4 / 4 / 4.0 / 4 | 0.5000 | 0.3333 | 0.2500 |"),
        "{md}"
    );
}

fn rotated(seq: &[u8], by: usize) -> Vec<u8> {
    [&seq[by..], &seq[..by]].concat()
}

/// A dinucleotide shuffle of `seq`: two stretches that both run from a base `u` to a base `v`
/// trade places, which keeps every base count and every 2-mer count.
fn dinucleotide_shuffled(seq: &[u8]) -> Vec<u8> {
    let find = |from: usize, to: usize, at: usize| (from..to).find(|&p| seq[p] == seq[at]);
    let (i, j) = (20, 70);
    let k = find(100, 140, i).unwrap();
    let l = find(k + 50, 190, j).unwrap();
    [&seq[..i], &seq[k..l], &seq[j..k], &seq[i..j], &seq[l..]].concat()
}

#[test]
fn composition_twins_are_counted_exactly() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
    let s: Vec<Vec<u8>> = (0..7).map(|_| random(&mut rng, 200)).collect();
    let mut sorted = s[2].clone();
    sorted.sort_unstable();
    let mut swapped = s[3].clone();
    let at = (1..200).find(|&i| swapped[i] != swapped[i - 1]).unwrap();
    swapped.swap(at - 1, at);
    let train = vec![
        record("a0", &s[0], "a"),
        record("b0", &rotated(&s[0], 100), "b"), // a twin of a0
        record("a1", &s[1], "a"),
        record("a1r", &rotated(&s[1], 100), "a"), // same label: no twin
        record("a2", &s[2], "a"),
        record("b2", &sorted, "b"), // same bases, another spectrum: no twin
        record("a3", &s[3], "a"),
        record("b3", &swapped, "b"), // a near-duplicate (a conflict), not a twin
        record("a4", &s[4], "a"),
        record("a5", &s[5], "a"),
        record("a6", &s[6], "a"),
        record("b6", &dinucleotide_shuffled(&s[6]), "b"), // a shuffled negative: a twin
    ];
    let test = vec![
        record("q4", &rotated(&s[4], 100), "b"), // a twin of a4 across
        record("q5", &rotated(&s[5], 100), "a"), // same label as a5: no twin
    ];
    let report = run(&train, Some(&test), QcOptions::default()).unwrap();
    assert_eq!(
        report.train.composition_twins_within, 4,
        "a0, b0, a6 and b6"
    );
    assert_eq!(report.train.composition_twin_pairs_within, 2);
    assert_eq!(report.test.as_ref().unwrap().composition_twins_within, 0);
    let across = report.across.as_ref().unwrap();
    assert_eq!(
        (
            across.composition_twins_across,
            across.composition_twin_pairs_across
        ),
        (1, 1)
    );
    let names: Vec<(&str, &str, &str)> = (report.twin_examples.iter())
        .map(|(set, a, b, _)| (set.as_str(), a.as_str(), b.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("train", "a0", "b0"),
            ("train", "a6", "b6"),
            ("across", "q4", "a4")
        ]
    );
    assert_eq!(
        report.twin_examples[1].3, 0.0,
        "a shuffle keeps every 2-mer count"
    );
    assert!(report
        .twin_examples
        .iter()
        .all(|e| e.3 <= 1.0 / 199.0 + 1e-12));
    assert_eq!(report.label_conflicts, 0, "b3 is no exact copy");
    assert_eq!(report.composition_twins, 3, "a0/b0, a6/b6 and q4/a4");
    // With a distance of 0 the rotations' one changed junction no longer passes; the
    // shuffle, which keeps every 2-mer, still does.
    let exact = QcOptions {
        twin_distance: 0.0,
        ..QcOptions::default()
    };
    let report = run(&train, Some(&test), exact).unwrap();
    assert_eq!(report.train.composition_twin_pairs_within, 1);
    assert_eq!(report.composition_twins, 1);
}

#[test]
fn a_family_that_decides_the_label_scores_as_a_high_risk() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    // Label a is 50 bp, label b is 80 bp; bases are random in both.
    let seqs: Vec<Vec<u8>> = (0..60)
        .map(|i| random(&mut rng, if i % 2 == 0 { 50 } else { 80 }))
        .collect();
    let y: Vec<u32> = (0..60).map(|i| (i % 2) as u32).collect();
    let views: Vec<&[u8]> = seqs.iter().map(Vec::as_slice).collect();
    let folds = crate::split::stratified_folds(&y, 3, 1);
    let length = shortcut::family_accuracy("length", &views, &y, 2, &folds).unwrap();
    let gc = shortcut::family_accuracy("gc", &views, &y, 2, &folds).unwrap();
    assert_eq!(length, 1.0);
    assert!(gc < 0.8, "gc alone {gc}");
    assert_eq!(shortcut::majority_accuracy(&y, 2, &folds), 0.5);
    let high = shortcut::score("length", length, 0.5, 0.9);
    assert_eq!(
        (high.share_of_gain, high.risk.as_str()),
        (Some(1.25), "high")
    );
    assert_eq!(shortcut::score("gc", 0.6, 0.5, 0.9).risk, "low");
    assert_eq!(shortcut::score("gc", 0.75, 0.5, 0.9).risk, "moderate");
    assert_eq!(shortcut::score("gc", 0.7, 0.5, 0.5).share_of_gain, None);
}
