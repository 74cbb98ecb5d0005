use super::*;
use proptest::prelude::*;
use std::collections::HashMap;

fn idx(kmer: &str, canonical: bool) -> usize {
    kmer_index(kmer.as_bytes(), canonical).unwrap()
}

/// Counts as a map from k-mer string to count, nonzero slots only.
fn named(counts: &[u32], k: usize, canonical: bool) -> HashMap<String, u32> {
    counts
        .iter()
        .enumerate()
        .filter(|(_, &c)| c > 0)
        .map(|(i, &c)| (kmer_string(i, k, canonical), c))
        .collect()
}

fn revcomp(seq: &[u8]) -> Vec<u8> {
    seq.iter()
        .rev()
        .map(|&b| match b {
            b'A' => b'T',
            b'C' => b'G',
            b'G' => b'C',
            b'T' => b'A',
            other => other,
        })
        .collect()
}

/// Naive reference: slide a window, skip it if it holds N, count its string (with
/// `canonical`, the lexicographically smaller of it and its reverse complement).
fn naive_counts(seq: &[u8], k: usize, canonical: bool) -> HashMap<String, u32> {
    let mut map = HashMap::new();
    if seq.len() < k {
        return map;
    }
    for w in seq.windows(k) {
        if w.contains(&b'N') {
            continue;
        }
        let key = if canonical {
            w.to_vec().min(revcomp(w))
        } else {
            w.to_vec()
        };
        *map.entry(String::from_utf8(key).unwrap()).or_insert(0) += 1;
    }
    map
}

fn assert_close(got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() < 1e-6, "slot {i}: got {g}, want {w}");
    }
}

#[test]
fn dims() {
    // plain: 4^k; canonical: odd k 4^k/2, even k (4^k + 4^(k/2))/2
    assert_eq!(kmer_dim(1, false), 4);
    assert_eq!(kmer_dim(1, true), 2); // 4/2
    assert_eq!(kmer_dim(2, false), 16);
    assert_eq!(kmer_dim(2, true), 10); // (16 + 4)/2
    assert_eq!(kmer_dim(3, true), 32); // 64/2
    assert_eq!(kmer_dim(4, true), 136); // (256 + 16)/2
    assert_eq!(kmer_dim(8, false), 65536);
    assert_eq!(kmer_dim(8, true), 32896); // (65536 + 256)/2
    for k in MIN_K..=MAX_K {
        assert_eq!(canonical_table(k).code_of_index.len(), kmer_dim(k, true));
    }
}

#[test]
#[should_panic]
fn k_zero_panics() {
    kmer_dim(0, false);
}

#[test]
#[should_panic]
fn k_nine_panics() {
    kmer_counts(b"ACGTACGTAC", 9, true);
}

#[test]
#[should_panic]
fn wrong_buffer_length_panics() {
    let mut out = vec![0.0; 15];
    kmer_spectrum_into(b"ACGT", 2, false, &mut out);
}

#[test]
fn no_lengths_give_no_spectra() {
    kmer_spectra_into(b"ACGTACGTAAAACCCCGGGGTTTTACGT", &[], true, &mut []);
}

#[test]
fn codes_are_base4_first_base_most_significant() {
    assert_eq!(idx("A", false), 0);
    assert_eq!(idx("T", false), 3);
    assert_eq!(idx("AC", false), 1); // 0*4 + 1
    assert_eq!(idx("CG", false), 6); // 1*4 + 2
    assert_eq!(idx("GT", false), 11); // 2*4 + 3
    assert_eq!(idx("CGT", false), 27); // 1*16 + 2*4 + 3
    assert_eq!(idx("GTT", false), 47); // 2*16 + 3*4 + 3
    assert_eq!(kmer_index(b"ANC", false), None);
    assert_eq!(kmer_index(b"", false), None);
    assert_eq!(kmer_index(b"ACGTACGTA", false), None);
}

#[test]
fn canonical_order_k2() {
    // canonical codes c <= rc(c) in increasing order; CT, GG, GT, TC, TG, TT are not
    // canonical (their reverse complements AG, CC, AC, GA, CA, AA come first).
    let names: Vec<String> = (0..10).map(|i| kmer_string(i, 2, true)).collect();
    assert_eq!(
        names,
        ["AA", "AC", "AG", "AT", "CA", "CC", "CG", "GA", "GC", "TA"]
    );
    assert_eq!(idx("GT", true), idx("AC", true));
    assert_eq!(idx("TT", true), 0);
    assert_eq!(idx("CT", true), 2);
    assert_eq!(idx("TC", true), 7);
    assert_eq!(kmer_string(7, 2, true), "GA");
}

#[test]
fn acgt_plain() {
    // k=1: A, C, G, T once each -> 1/4 each
    assert_eq!(kmer_counts(b"ACGT", 1, false), [1, 1, 1, 1]);
    assert_eq!(kmer_spectrum(b"ACGT", 1, false), [0.25; 4]);
    // k=2: AC(1), CG(6), GT(11) -> 1/3 each
    let mut want = [0u32; 16];
    want[1] = 1;
    want[6] = 1;
    want[11] = 1;
    assert_eq!(kmer_counts(b"ACGT", 2, false), want);
    let mut spec = [0f32; 16];
    spec[1] = 1.0 / 3.0;
    spec[6] = 1.0 / 3.0;
    spec[11] = 1.0 / 3.0;
    assert_close(&kmer_spectrum(b"ACGT", 2, false), &spec);
    // k=3: ACG(6), CGT(27) -> 1/2 each
    let c = kmer_counts(b"ACGT", 3, false);
    assert_eq!((c[6], c[27], c.iter().sum::<u32>()), (1, 1, 2));
    let s = kmer_spectrum(b"ACGT", 3, false);
    assert_eq!((s[6], s[27]), (0.5, 0.5));
}

#[test]
fn acgt_canonical() {
    // k=1 canonical: {A,T} -> slot 0 (A), {C,G} -> slot 1 (C): A+T = 2, C+G = 2
    assert_eq!(kmer_counts(b"ACGT", 1, true), [2, 2]);
    // k=2: AC and GT share slot AC (1); CG is its own reverse complement (slot 6)
    assert_eq!(
        kmer_counts(b"ACGT", 2, true),
        [0, 2, 0, 0, 0, 0, 1, 0, 0, 0]
    );
    let s = kmer_spectrum(b"ACGT", 2, true);
    assert_close(
        &s,
        &[0.0, 2.0 / 3.0, 0.0, 0.0, 0.0, 0.0, 1.0 / 3.0, 0.0, 0.0, 0.0],
    );
    // k=3: ACG and CGT are reverse complements -> one slot, count 2 -> spectrum 1
    let c = kmer_counts(b"ACGT", 3, true);
    assert_eq!(c[idx("ACG", true)], 2);
    assert_eq!(idx("ACG", true), idx("CGT", true));
    assert_eq!(kmer_spectrum(b"ACGT", 3, true)[idx("ACG", true)], 1.0);
}

#[test]
fn with_n_plain() {
    let seq = b"AACGTTNG";
    // k=1: A2 C1 G2 T2, N skipped, total 7
    assert_eq!(kmer_counts(seq, 1, false), [2, 1, 2, 2]);
    assert_close(
        &kmer_spectrum(seq, 1, false),
        &[2.0 / 7.0, 1.0 / 7.0, 2.0 / 7.0, 2.0 / 7.0],
    );
    // k=2: AA AC CG GT TT [TN NG skipped] -> 5 windows, one each
    let c = kmer_counts(seq, 2, false);
    for kmer in ["AA", "AC", "CG", "GT", "TT"] {
        assert_eq!(c[idx(kmer, false)], 1, "{kmer}");
    }
    assert_eq!(c.iter().sum::<u32>(), 5);
    assert_eq!(kmer_spectrum(seq, 2, false)[idx("AA", false)], 0.2);
    // k=3: AAC ACG CGT GTT [TTN TNG skipped] -> 4 windows, 1/4 each
    let c = kmer_counts(seq, 3, false);
    for (kmer, code) in [("AAC", 1), ("ACG", 6), ("CGT", 27), ("GTT", 47)] {
        assert_eq!(c[code], 1, "{kmer}");
    }
    assert_eq!(c.iter().sum::<u32>(), 4);
    assert_eq!(kmer_spectrum(seq, 3, false)[47], 0.25);
}

#[test]
fn with_n_canonical() {
    let seq = b"AACGTTNG";
    // k=2: AA+TT -> AA 2; AC+GT -> AC 2; CG 1; total 5
    let c = kmer_counts(seq, 2, true);
    assert_eq!(c, [2, 2, 0, 0, 0, 0, 1, 0, 0, 0]);
    assert_close(
        &kmer_spectrum(seq, 2, true),
        &[0.4, 0.4, 0.0, 0.0, 0.0, 0.0, 0.2, 0.0, 0.0, 0.0],
    );
    // k=3: AAC+GTT -> AAC (dense 1) 2; ACG+CGT -> ACG (dense 6) 2
    // (dense order: AAA AAC AAG AAT ACA ACC ACG ...)
    let c = kmer_counts(seq, 3, true);
    assert_eq!(c.len(), 32);
    assert_eq!((c[1], c[6], c.iter().sum::<u32>()), (2, 2, 4));
    assert_eq!(kmer_string(6, 3, true), "ACG");
}

#[test]
fn module_doc_example() {
    // ACGNT, k=2: AC, CG, GN, NT -> only AC and CG, 1/2 each
    let s = kmer_spectrum(b"ACGNT", 2, false);
    assert_eq!((s[1], s[6], s.iter().sum::<f32>()), (0.5, 0.5, 1.0));
}

#[test]
fn no_windows_give_zeros() {
    for seq in [&b""[..], b"NNN", b"ACG", b"ACNGTNA"] {
        // none of these has an N-free window of length 4
        assert!(kmer_counts(seq, 4, false).iter().all(|&c| c == 0));
        assert!(kmer_spectrum(seq, 4, true).iter().all(|&x| x == 0.0));
    }
    assert_eq!(kmer_spectrum(b"NNN", 1, false), [0.0; 4]);
}

#[test]
fn into_overwrites_buffer() {
    let mut out = vec![7.0f32; 4];
    kmer_spectrum_into(b"AAC", 1, false, &mut out);
    assert_close(&out, &[2.0 / 3.0, 1.0 / 3.0, 0.0, 0.0]);
    kmer_spectrum_into(b"N", 1, false, &mut out);
    assert_eq!(out, [0.0; 4]);
}

#[test]
fn very_long_sequence_loses_no_count() {
    // 2^24 + 10 A's: in f32, 2^24 + 1 rounds back to 2^24, so a direct f32 count would
    // stop at 2^24 and give A a share below 1.
    let seq = vec![b'A'; (1 << 24) + 10];
    assert_eq!(kmer_spectrum(&seq, 1, false), [1.0, 0.0, 0.0, 0.0]);
    assert_eq!(kmer_counts(&seq, 2, false)[0], (1 << 24) + 9);
}

#[test]
fn kmer_string_round_trip() {
    for k in MIN_K..=MAX_K {
        for canonical in [false, true] {
            for i in 0..kmer_dim(k, canonical) {
                let s = kmer_string(i, k, canonical);
                assert_eq!(s.len(), k);
                assert_eq!(kmer_index(s.as_bytes(), canonical), Some(i), "{s}");
                if canonical {
                    // the name is the smaller of the k-mer and its reverse complement
                    assert!(s.as_bytes() <= revcomp(s.as_bytes()).as_slice());
                }
            }
        }
    }
    assert_eq!(kmer_string(0, 8, false), "AAAAAAAA");
    assert_eq!(kmer_string(65535, 8, false), "TTTTTTTT");
}

#[test]
fn reverse_complement_codes() {
    assert_eq!(
        reverse_complement_code(idx("AC", false), 2),
        idx("GT", false)
    );
    assert_eq!(
        reverse_complement_code(idx("AT", false), 2),
        idx("AT", false)
    );
    assert_eq!(
        reverse_complement_code(idx("AACGTTTG", false), 8),
        idx("CAAACGTT", false)
    );
}

fn dna() -> impl Strategy<Value = Vec<u8>> {
    dna_up_to(300)
}

/// Sequences of up to `len` bases, about one in ten an N.
fn dna_up_to(len: usize) -> impl Strategy<Value = Vec<u8>> {
    let base = prop_oneof![
        9 => prop::sample::select(b"ACGT".to_vec()),
        1 => Just(b'N'),
    ];
    prop::collection::vec(base, 0..len)
}

proptest! {
    #[test]
    fn matches_naive_reference(seq in dna(), k in 1usize..=8, canonical: bool) {
        let counts = kmer_counts(&seq, k, canonical);
        prop_assert_eq!(counts.len(), kmer_dim(k, canonical));
        prop_assert_eq!(named(&counts, k, canonical), naive_counts(&seq, k, canonical));
    }

    #[test]
    fn total_is_n_free_windows(seq in dna(), k in 1usize..=8, canonical: bool) {
        let windows = if seq.len() < k {
            0
        } else {
            seq.windows(k).filter(|w| !w.contains(&b'N')).count()
        };
        let total: u32 = kmer_counts(&seq, k, canonical).iter().sum();
        prop_assert_eq!(total as usize, windows);
    }

    #[test]
    fn spectrum_sums_to_one_or_zero(seq in dna(), k in 1usize..=8, canonical: bool) {
        let spectrum = kmer_spectrum(&seq, k, canonical);
        let sum: f64 = spectrum.iter().map(|&x| f64::from(x)).sum();
        let any = kmer_counts(&seq, k, canonical).iter().any(|&c| c > 0);
        if any {
            prop_assert!((sum - 1.0).abs() < 1e-5, "sum {}", sum);
        } else {
            prop_assert_eq!(sum, 0.0);
        }
    }

    #[test]
    fn canonical_is_strand_symmetric(seq in dna(), k in 1usize..=8) {
        prop_assert_eq!(kmer_counts(&seq, k, true), kmer_counts(&revcomp(&seq), k, true));
    }

    #[test]
    fn spectra_in_one_pass_equal_each_spectrum_bit_for_bit(
        seq in dna_up_to(1_500),
        ks in prop::collection::vec(1usize..=8, 1..6),
        canonical: bool,
    ) {
        let want: Vec<f32> = ks.iter().flat_map(|&k| kmer_spectrum(&seq, k, canonical)).collect();
        let mut got = vec![f32::NAN; want.len()];
        kmer_spectra_into(&seq, &ks, canonical, &mut got);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        prop_assert_eq!(bits(&got), bits(&want));
    }

    #[test]
    fn spectrum_is_counts_over_total(seq in dna(), k in 1usize..=4, canonical: bool) {
        let counts = kmer_counts(&seq, k, canonical);
        let total: u32 = counts.iter().sum();
        let spectrum = kmer_spectrum(&seq, k, canonical);
        for (&c, &x) in counts.iter().zip(&spectrum) {
            let want = if total == 0 { 0.0 } else { c as f32 / total as f32 };
            prop_assert!((x - want).abs() <= 1e-6);
        }
    }
}
