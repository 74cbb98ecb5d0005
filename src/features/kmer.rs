//! Overlapping k-mer counts and spectra, plain or canonical.
//!
//! # Encoding
//!
//! Bases are 2-bit codes `A`=0, `C`=1, `G`=2, `T`=3. A k-mer's code is the base-4 number
//! of its bases, first base most significant, so for k = 2 `AA`=0, `AC`=1, ..., `TT`=15.
//! Without `canonical`, a k-mer's index in a count or spectrum vector is its code and the
//! vector has 4^k slots.
//!
//! # Canonical k-mers
//!
//! With `canonical`, a k-mer and its reverse complement share one slot. A class is named by
//! its *canonical code*, `min(code, reverse_complement_code(code))` (for A/C/G/T this is the
//! lexicographically smaller string). The dense index of a class is its rank among all
//! canonical codes in increasing order: for k = 2 the order is
//! `AA AC AG AT CA CC CG GA GC TA` (10 slots; `CT` goes to `AG`, `GT` to `AC`, ...).
//! The number of slots is (4^k + 4^(k/2)) / 2 for even k (palindromes such as `AT` are their
//! own reverse complement) and 4^k / 2 for odd k. The code-to-index tables are built once
//! per k, on first use.
//!
//! # N
//!
//! Any window that contains `N` is skipped: not counted, not in a spectrum's denominator.
//!
//! # Panics
//!
//! Every function taking `k` panics if `k` is not in `1..=8` ([`MIN_K`]..=[`MAX_K`]).

use std::sync::OnceLock;

use super::BASE_CODE;

/// Smallest supported k-mer length.
pub const MIN_K: usize = 1;
/// Largest supported k-mer length.
pub const MAX_K: usize = 8;

/// Longest sequence for which a spectrum is accumulated directly in `f32`: every integer up
/// to 2^24 is exact in `f32`, so no count of a shorter sequence can lose an increment.
const EXACT_F32_LEN: usize = 1 << 24;

const LETTERS: [u8; 4] = *b"ACGT";

fn check_k(k: usize) {
    assert!(
        (MIN_K..=MAX_K).contains(&k),
        "k-mer length k = {k} is outside {MIN_K}..={MAX_K}"
    );
}

/// Number of slots in a count or spectrum vector: 4^k, or with `canonical` the number of
/// canonical k-mers, (4^k + 4^(k/2)) / 2 for even k and 4^k / 2 for odd k.
///
/// k = 1: 4 or 2; k = 2: 16 or 10; k = 3: 64 or 32; k = 8: 65536 or 32896.
///
/// # Panics
///
/// If `k` is not in `1..=8`.
pub fn kmer_dim(k: usize, canonical: bool) -> usize {
    check_k(k);
    let full = 1usize << (2 * k);
    match (canonical, k % 2) {
        (false, _) => full,
        (true, 0) => (full + (1usize << k)) / 2,
        (true, _) => full / 2,
    }
}

/// Code of the reverse complement of the k-mer with code `code`.
///
/// For example, with k = 2, `AC` (code 1) gives `GT` (code 11).
pub fn reverse_complement_code(code: usize, k: usize) -> usize {
    let mut rest = code;
    let mut rc = 0;
    for _ in 0..k {
        rc = (rc << 2) | (3 - (rest & 3));
        rest >>= 2;
    }
    rc
}

/// Lookup tables between k-mer codes and dense canonical indices, for one k.
struct CanonicalTable {
    /// For each of the 4^k codes, the dense index of its canonical class.
    index_of_code: Vec<u32>,
    /// For each dense index, the canonical code, in increasing order.
    code_of_index: Vec<u32>,
}

impl CanonicalTable {
    fn build(k: usize) -> Self {
        let full = 1usize << (2 * k);
        let mut index_of_code = vec![0u32; full];
        let mut code_of_index = Vec::with_capacity(kmer_dim(k, true));
        for code in 0..full {
            let rc = reverse_complement_code(code, k);
            if code <= rc {
                index_of_code[code] = code_of_index.len() as u32;
                code_of_index.push(code as u32);
            } else {
                // rc < code was visited earlier and already has its index.
                index_of_code[code] = index_of_code[rc];
            }
        }
        Self {
            index_of_code,
            code_of_index,
        }
    }
}

/// The canonical table for `k`, built on first use.
fn canonical_table(k: usize) -> &'static CanonicalTable {
    static TABLES: [OnceLock<CanonicalTable>; MAX_K + 1] = [const { OnceLock::new() }; MAX_K + 1];
    check_k(k);
    TABLES[k].get_or_init(|| CanonicalTable::build(k))
}

/// Calls `f` with the code of every N-free window of length `k`, left to right.
#[inline(always)]
fn for_each_code(seq: &[u8], k: usize, mut f: impl FnMut(usize)) {
    let mask = (1usize << (2 * k)) - 1;
    let mut code = 0usize;
    let mut run = 0usize; // A/C/G/T bases since the last N
    for &b in seq {
        let v = BASE_CODE[b as usize];
        if v > 3 {
            code = 0;
            run = 0;
            continue;
        }
        code = ((code << 2) | v as usize) & mask;
        run += 1;
        if run >= k {
            f(code);
        }
    }
}

/// Calls `f` with the slot (see the module docs) of every N-free window of length `k`.
#[inline(always)]
fn for_each_slot(seq: &[u8], k: usize, canonical: bool, mut f: impl FnMut(usize)) {
    if canonical {
        let table = &canonical_table(k).index_of_code;
        for_each_code(seq, k, |code| f(table[code] as usize));
    } else {
        for_each_code(seq, k, f);
    }
}

/// Overlapping k-mer counts of `seq`, one slot per k-mer (see the module docs for the order).
///
/// Windows containing `N` are skipped. The vector has [`kmer_dim`]`(k, canonical)` slots.
///
/// # Panics
///
/// If `k` is not in `1..=8`.
pub fn kmer_counts(seq: &[u8], k: usize, canonical: bool) -> Vec<u32> {
    let mut counts = vec![0u32; kmer_dim(k, canonical)];
    for_each_slot(seq, k, canonical, |slot| counts[slot] += 1);
    counts
}

/// k-mer spectrum: [`kmer_counts`] divided by the number of counted (N-free) windows, so it
/// sums to 1, or all zeros when no window was counted.
///
/// # Panics
///
/// If `k` is not in `1..=8`.
pub fn kmer_spectrum(seq: &[u8], k: usize, canonical: bool) -> Vec<f32> {
    let mut out = vec![0f32; kmer_dim(k, canonical)];
    kmer_spectrum_into(seq, k, canonical, &mut out);
    out
}

/// [`kmer_spectrum`] written into `out`, which must have [`kmer_dim`]`(k, canonical)` slots.
///
/// Allocates nothing for sequences up to 2^24 bases (counts accumulate in `out` itself);
/// longer ones count in a temporary `u32` vector so that no increment is lost to `f32`
/// rounding. Values are within one ulp of `count / total`.
///
/// # Panics
///
/// If `k` is not in `1..=8` or `out.len() != kmer_dim(k, canonical)`.
pub fn kmer_spectrum_into(seq: &[u8], k: usize, canonical: bool, out: &mut [f32]) {
    let dim = kmer_dim(k, canonical);
    assert_eq!(out.len(), dim, "spectrum buffer has the wrong length");
    if seq.len() > EXACT_F32_LEN {
        let counts = kmer_counts(seq, k, canonical);
        let total: u64 = counts.iter().map(|&c| u64::from(c)).sum();
        let scale = if total == 0 { 0.0 } else { 1.0 / total as f64 };
        for (o, &c) in out.iter_mut().zip(&counts) {
            *o = (f64::from(c) * scale) as f32;
        }
        return;
    }
    out.fill(0.0);
    let mut total = 0u32;
    for_each_slot(seq, k, canonical, |slot| {
        out[slot] += 1.0;
        total += 1;
    });
    if total > 0 {
        let scale = 1.0 / total as f32;
        out.iter_mut().for_each(|x| *x *= scale);
    }
}

/// Name of slot `index`: the k-mer itself, or with `canonical` the class's canonical k-mer
/// (the smaller of a k-mer and its reverse complement).
///
/// For example `kmer_string(1, 2, false) == "AC"` and `kmer_string(7, 2, true) == "GA"`.
///
/// # Panics
///
/// If `k` is not in `1..=8` or `index >= kmer_dim(k, canonical)`.
pub fn kmer_string(index: usize, k: usize, canonical: bool) -> String {
    let dim = kmer_dim(k, canonical);
    assert!(index < dim, "k-mer index {index} is out of range 0..{dim}");
    let code = if canonical {
        canonical_table(k).code_of_index[index] as usize
    } else {
        index
    };
    (0..k)
        .rev()
        .map(|i| LETTERS[(code >> (2 * i)) & 3] as char)
        .collect()
}

/// Slot of the k-mer `kmer` (k = its length): the inverse of [`kmer_string`]. With
/// `canonical`, a k-mer and its reverse complement give the same slot.
///
/// `None` if the length is not in `1..=8` or `kmer` holds anything but `A`, `C`, `G`, `T`.
pub fn kmer_index(kmer: &[u8], canonical: bool) -> Option<usize> {
    let k = kmer.len();
    if !(MIN_K..=MAX_K).contains(&k) {
        return None;
    }
    let mut code = 0usize;
    for &b in kmer {
        let v = BASE_CODE[b as usize];
        if v > 3 {
            return None;
        }
        code = (code << 2) | v as usize;
    }
    Some(if canonical {
        canonical_table(k).index_of_code[code] as usize
    } else {
        code
    })
}

#[cfg(test)]
mod tests {
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
        let base = prop_oneof![
            9 => prop::sample::select(b"ACGT".to_vec()),
            1 => Just(b'N'),
        ];
        prop::collection::vec(base, 0..300)
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
}
