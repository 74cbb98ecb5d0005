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

/// [`kmer_spectrum_into`] for several lengths in one pass over `seq`: `out` holds the spectra
/// of `ks` one after another (each [`kmer_dim`]`(k, canonical)` slots, in the order of `ks`),
/// each exactly as [`kmer_spectrum_into`] writes it.
///
/// # Panics
///
/// If a k is not in `1..=8` or `out` is not the sum of the spectra's lengths long.
pub fn kmer_spectra_into(seq: &[u8], ks: &[usize], canonical: bool, out: &mut [f32]) {
    let dims: Vec<usize> = ks.iter().map(|&k| kmer_dim(k, canonical)).collect();
    assert_eq!(
        out.len(),
        dims.iter().sum::<usize>(),
        "spectra buffer has the wrong length"
    );
    if seq.len() > EXACT_F32_LEN || ks.len() > MAX_K {
        let mut rest = &mut out[..];
        for (&k, &dim) in ks.iter().zip(&dims) {
            let (block, tail) = rest.split_at_mut(dim);
            kmer_spectrum_into(seq, k, canonical, block);
            rest = tail;
        }
        return;
    }
    // Per length: where its block starts, its code mask and its slot table.
    let mut starts = [0usize; MAX_K];
    let mut masks = [0usize; MAX_K];
    let mut tables: [&[u32]; MAX_K] = [&[]; MAX_K];
    let mut start = 0;
    for (i, (&k, &dim)) in ks.iter().zip(&dims).enumerate() {
        starts[i] = start;
        masks[i] = (1usize << (2 * k)) - 1;
        if canonical {
            tables[i] = &canonical_table(k).index_of_code;
        }
        start += dim;
    }
    let widest = masks.iter().fold(0, |a, &m| a | m);
    out.fill(0.0);
    let mut totals = [0u32; MAX_K];
    let mut code = 0usize;
    let mut run = 0usize; // A/C/G/T bases since the last N
    for &b in seq {
        let v = BASE_CODE[b as usize];
        if v > 3 {
            run = 0;
            continue;
        }
        code = ((code << 2) | v as usize) & widest;
        run += 1;
        for (i, &k) in ks.iter().enumerate() {
            if run >= k {
                let c = code & masks[i];
                let slot = if canonical { tables[i][c] as usize } else { c };
                out[starts[i] + slot] += 1.0;
                totals[i] += 1;
            }
        }
    }
    for (i, &dim) in dims.iter().enumerate() {
        if totals[i] > 0 {
            let scale = 1.0 / totals[i] as f32;
            out[starts[i]..starts[i] + dim]
                .iter_mut()
                .for_each(|x| *x *= scale);
        }
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
mod tests;
