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
    /// For each dense index, the reverse complement of its canonical code (the code itself
    /// for a palindrome).
    partner_of_index: Vec<u32>,
}

impl CanonicalTable {
    fn build(k: usize) -> Self {
        let full = 1usize << (2 * k);
        let mut index_of_code = vec![0u32; full];
        let mut code_of_index = Vec::with_capacity(kmer_dim(k, true));
        let mut partner_of_index = Vec::with_capacity(kmer_dim(k, true));
        for code in 0..full {
            let rc = reverse_complement_code(code, k);
            if code <= rc {
                index_of_code[code] = code_of_index.len() as u32;
                code_of_index.push(code as u32);
                partner_of_index.push(rc as u32);
            } else {
                // rc < code was visited earlier and already has its index.
                index_of_code[code] = index_of_code[rc];
            }
        }
        Self {
            index_of_code,
            code_of_index,
            partner_of_index,
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
    let top = ks.iter().copied().max().unwrap_or(0);
    let mut rest = &mut out[..];
    // Deriving costs a few additions per count of the longest length: for sequences much
    // shorter than that, counting each length on its own is cheaper.
    let short = seq.len() * 8 < 1 << (2 * top);
    if top == 0 || top > DERIVED_MAX_K || short || seq.len() > EXACT_F32_LEN {
        for (&k, &dim) in ks.iter().zip(&dims) {
            let (block, tail) = rest.split_at_mut(dim);
            kmer_spectrum_into(seq, k, canonical, block);
            rest = tail;
        }
        return;
    }
    let counts = counts_through(seq, top);
    for (&k, &dim) in ks.iter().zip(&dims) {
        let (block, tail) = rest.split_at_mut(dim);
        let of_k = &counts[count_offset(k)..count_offset(k + 1)];
        // Counts are below 2^24 here, so each is exact in f32, as the increments of
        // `kmer_spectrum_into` are.
        if canonical {
            let table = canonical_table(k);
            let pairs = table.code_of_index.iter().zip(&table.partner_of_index);
            for (b, (&code, &partner)) in block.iter_mut().zip(pairs) {
                let (code, partner) = (code as usize, partner as usize);
                let both = of_k[code] + if partner == code { 0 } else { of_k[partner] };
                *b = both as f32;
            }
        } else {
            block.iter_mut().zip(of_k).for_each(|(b, &c)| *b = c as f32);
        }
        let total: u32 = of_k.iter().sum();
        if total > 0 {
            let scale = 1.0 / total as f32;
            block.iter_mut().for_each(|x| *x *= scale);
        }
        rest = tail;
    }
}

/// The longest k whose counts [`kmer_spectra_into`] derives from the longest windows (4^6
/// counts are 16 KiB to clear per sequence); beyond, it counts each length on its own.
const DERIVED_MAX_K: usize = 6;

/// Where the counts of length `k` start in [`counts_through`]'s output: after 4 + 16 + ...
/// + 4^(k-1) counts of the shorter lengths.
fn count_offset(k: usize) -> usize {
    ((1usize << (2 * k)) - 4) / 3
}

/// The counts by code (not canonical) of the N-free windows of every length 1..=`top`, one
/// length after another (see [`count_offset`]), from one pass that counts only the windows
/// of length `top`.
///
/// A window of length k < `top` is the prefix of the window of length k + 1 at the same start,
/// unless it is the last k bases of its run of A/C/G/T, so the counts of length k are those of
/// length k + 1 summed over their last base, plus each run's last window. That costs one
/// increment per base and a few thousand additions per sequence, where counting every length
/// costs one increment per base and length.
fn counts_through(seq: &[u8], top: usize) -> Vec<u32> {
    let mut counts = vec![0u32; count_offset(top + 1)];
    let (longest, mask) = (count_offset(top), (1usize << (2 * top)) - 1);
    // The last window of each shorter length in a run that ends with `code`.
    let run_end = |counts: &mut [u32], code: usize, run: usize| {
        for k in 1..top.min(run + 1) {
            counts[count_offset(k) + (code & ((1 << (2 * k)) - 1))] += 1;
        }
    };
    let (mut code, mut run) = (0usize, 0usize); // run: A/C/G/T bases since the last N
    for &b in seq {
        let v = BASE_CODE[b as usize];
        if v > 3 {
            run_end(&mut counts, code, run);
            (code, run) = (0, 0);
            continue;
        }
        code = ((code << 2) | v as usize) & mask;
        run += 1;
        if run >= top {
            counts[longest + code] += 1;
        }
    }
    run_end(&mut counts, code, run);
    for k in (1..top).rev() {
        let (shorter, longer) = counts.split_at_mut(count_offset(k + 1));
        let of_k = &mut shorter[count_offset(k)..];
        for (c, ends) in of_k.iter_mut().zip(longer.chunks_exact(4)) {
            *c += ends.iter().sum::<u32>();
        }
    }
    counts
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
