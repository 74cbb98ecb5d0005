//! Vector arithmetic for search: dot product, squared L2 distance, normalisation; and the
//! largest element-wise difference, which the numeric tests compare outputs with.
//!
//! This and `embed::models::matmul` are the crate's modules allowed to use `unsafe`; here,
//! AVX2+FMA kernels selected by runtime feature detection, with a portable fallback that the
//! compiler auto-vectorises. Both paths are tested against each other.

#![allow(unsafe_code)]

use std::sync::OnceLock;

/// Dot product of two equal-length slices.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked at run time) and the slices have the
        // same length (checked above in debug builds; the kernel only reads min(len) elements).
        return unsafe { x86::dot_avx2(a, b) };
    }
    dot_portable(a, b)
}

/// Squared Euclidean distance of two equal-length slices.
#[inline]
pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: as in `dot`.
        return unsafe { x86::l2_avx2(a, b) };
    }
    l2_portable(a, b)
}

/// Integer dot product of int8 codes with int16 query values, exact in i64.
///
/// Each 32-bit lane of the AVX2 kernel sums `len / 16` pairs of products; with codes in
/// [-127, 127] and values in [-4095, 4095] a lane stays below 2^31 for any `len` under 33,000
/// (the quantizer refuses larger dimensions).
#[inline]
pub fn dot_i8_i16(codes: &[i8], values: &[i16]) -> i64 {
    debug_assert_eq!(codes.len(), values.len());
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 (checked at run time); the kernel reads only
        // min(len) elements of each slice.
        return unsafe { x86::dot_i8_i16_avx2(codes, values) };
    }
    dot_i8_i16_portable(codes, values)
}

fn dot_i8_i16_portable(codes: &[i8], values: &[i16]) -> i64 {
    let mut acc = [0i32; 16];
    let (cc, cv) = (codes.chunks_exact(16), values.chunks_exact(16));
    let tail: i64 = cc
        .remainder()
        .iter()
        .zip(cv.remainder())
        .map(|(&c, &v)| c as i64 * v as i64)
        .sum();
    for (c, v) in cc.zip(cv) {
        for i in 0..16 {
            acc[i] += c[i] as i32 * v[i] as i32;
        }
    }
    acc.iter().map(|&x| x as i64).sum::<i64>() + tail
}

/// Asks the CPU to start loading the first two cache lines of `v`, which a search is about to
/// read (the hardware prefetcher follows the rest). A hint only: results never change.
#[inline]
pub fn prefetch<T>(v: &[T]) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults, whatever the address; `wrapping_add` computes the
    // second line's address without asserting that it lies inside `v`.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let p = v.as_ptr() as *const i8;
        _mm_prefetch::<_MM_HINT_T0>(p);
        _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(64));
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = v;
}

/// Asks the CPU to start loading every cache line of `v`: for short rows (int8 codes, a
/// dozen lines) that the hardware prefetcher would otherwise fetch one miss at a time.
#[inline]
pub fn prefetch_all<T>(v: &[T]) {
    let bytes = std::mem::size_of_val(v);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: as in `prefetch`; every address lies inside `v`.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let p = v.as_ptr() as *const i8;
        for offset in (0..bytes).step_by(64) {
            _mm_prefetch::<_MM_HINT_T0>(p.add(offset));
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

/// Rows per block of [`dot_blocks`]: eight AVX2 registers of independent sums.
pub const BLOCK_ROWS: usize = 64;

/// Dot products of `query` with many rows laid out in blocks of [`BLOCK_ROWS`] rows:
/// `blocks[b * p * 64 + d * 64 + j]` is dimension `d` of row `64 b + j`, `p = query.len()`.
/// Writes row `r`'s product to `out[r]`; `out` holds 64 values per block.
pub fn dot_blocks(query: &[f32], blocks: &[f32], out: &mut [f32]) {
    let block = query.len() * BLOCK_ROWS;
    assert!(
        block > 0
            && blocks.len().is_multiple_of(block)
            && out.len() == blocks.len() / block * BLOCK_ROWS,
        "dot_blocks: blocks and out do not match the query"
    );
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked at run time); the shapes were checked
        // above, and the kernel reads only whole blocks and writes 64 values per block.
        return unsafe { x86::dot_blocks_avx2(query, blocks, out) };
    }
    for (rows, sums) in blocks
        .chunks_exact(block)
        .zip(out.chunks_exact_mut(BLOCK_ROWS))
    {
        sums.fill(0.0);
        for (q, dims) in query.iter().zip(rows.chunks_exact(BLOCK_ROWS)) {
            sums.iter_mut().zip(dims).for_each(|(s, x)| *s += q * x);
        }
    }
}

/// Scales `v` to unit L2 norm; a zero vector is left as is.
pub fn normalize(v: &mut [f32]) {
    let norm = dot_portable(v, v).sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// `max |a_i − b_i|` of two equal-length slices (0 for empty ones).
///
/// # Panics
/// If the lengths differ.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "slices differ in length");
    a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

fn has_avx2_fma() -> bool {
    static DETECTED: OnceLock<bool> = OnceLock::new();
    *DETECTED.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    })
}

/// Eight independent accumulators let the compiler vectorise without reassociation flags.
fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

fn l2_portable(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| (x - y) * (x - y))
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            let d = x[i] - y[i];
            acc[i] += d * d;
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (mut s0, mut s1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        let mut i = 0;
        while i + 16 <= n {
            let (pa, pb) = (a.as_ptr().add(i), b.as_ptr().add(i));
            s0 = _mm256_fmadd_ps(_mm256_loadu_ps(pa), _mm256_loadu_ps(pb), s0);
            s1 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(8)), _mm256_loadu_ps(pb.add(8)), s1);
            i += 16;
        }
        let mut sum = hsum(_mm256_add_ps(s0, s1));
        while i < n {
            sum += a[i] * b[i];
            i += 1;
        }
        sum
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn l2_avx2(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (mut s0, mut s1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        let mut i = 0;
        while i + 16 <= n {
            let (pa, pb) = (a.as_ptr().add(i), b.as_ptr().add(i));
            let d0 = _mm256_sub_ps(_mm256_loadu_ps(pa), _mm256_loadu_ps(pb));
            let d1 = _mm256_sub_ps(_mm256_loadu_ps(pa.add(8)), _mm256_loadu_ps(pb.add(8)));
            s0 = _mm256_fmadd_ps(d0, d0, s0);
            s1 = _mm256_fmadd_ps(d1, d1, s1);
            i += 16;
        }
        let mut sum = hsum(_mm256_add_ps(s0, s1));
        while i < n {
            let d = a[i] - b[i];
            sum += d * d;
            i += 1;
        }
        sum
    }

    /// Eight accumulators of eight rows each: independent chains keep both FMA units busy.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot_blocks_avx2(query: &[f32], blocks: &[f32], out: &mut [f32]) {
        let p = query.len();
        for (rows, sums) in blocks.chunks_exact(p * 64).zip(out.chunks_exact_mut(64)) {
            let mut acc = [_mm256_setzero_ps(); 8];
            for (d, &q) in query.iter().enumerate() {
                let q = _mm256_set1_ps(q);
                let dims = rows.as_ptr().add(d * 64);
                for (j, a) in acc.iter_mut().enumerate() {
                    *a = _mm256_fmadd_ps(q, _mm256_loadu_ps(dims.add(8 * j)), *a);
                }
            }
            for (j, a) in acc.iter().enumerate() {
                _mm256_storeu_ps(sums.as_mut_ptr().add(8 * j), *a);
            }
        }
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn dot_i8_i16_avx2(codes: &[i8], values: &[i16]) -> i64 {
        let n = codes.len().min(values.len());
        let (mut s0, mut s1) = (_mm256_setzero_si256(), _mm256_setzero_si256());
        let mut i = 0;
        while i + 32 <= n {
            let (pc, pv) = (codes.as_ptr().add(i), values.as_ptr().add(i));
            let c0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(pc as *const __m128i));
            let c1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(pc.add(16) as *const __m128i));
            let v0 = _mm256_loadu_si256(pv as *const __m256i);
            let v1 = _mm256_loadu_si256(pv.add(16) as *const __m256i);
            s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(c0, v0));
            s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(c1, v1));
            i += 32;
        }
        let mut lanes = [0i32; 8];
        _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, _mm256_add_epi32(s0, s1));
        let mut sum: i64 = lanes.iter().map(|&x| x as i64).sum();
        while i < n {
            sum += codes[i] as i64 * values[i] as i64;
            i += 1;
        }
        sum
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn hsum(v: __m256) -> f32 {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps(v, 1);
        let s = _mm_add_ps(lo, hi);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        _mm_cvtss_f32(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pseudo_random(n: usize, seed: u32) -> Vec<f32> {
        let mut x = seed.wrapping_mul(2654435761).max(1);
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x % 2000) as f32 / 1000.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn block_dots_agree_with_the_naive_sums() {
        for p in [1, 5, 32] {
            let query = pseudo_random(p, 3);
            let blocks = pseudo_random(2 * p * BLOCK_ROWS, 4);
            let mut out = vec![0f32; 2 * BLOCK_ROWS];
            dot_blocks(&query, &blocks, &mut out);
            for (r, got) in out.iter().enumerate() {
                let (b, j) = (r / BLOCK_ROWS, r % BLOCK_ROWS);
                let at = |d: usize| blocks[b * p * BLOCK_ROWS + d * BLOCK_ROWS + j];
                let naive: f32 = (0..p).map(|d| query[d] * at(d)).sum();
                assert!(
                    (got - naive).abs() < 1e-4,
                    "p={p} row {r}: {got} vs {naive}"
                );
            }
        }
    }

    #[test]
    fn kernels_agree_with_the_naive_sums() {
        for n in [0, 1, 7, 8, 15, 16, 17, 100, 708] {
            let (a, b) = (pseudo_random(n, 1), pseudo_random(n, 2));
            let naive_dot: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            let naive_l2: f32 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
            let tol = 1e-4 * (1.0 + n as f32);
            assert!((dot(&a, &b) - naive_dot).abs() < tol, "dot n={n}");
            assert!(
                (dot_portable(&a, &b) - naive_dot).abs() < tol,
                "portable dot n={n}"
            );
            assert!((l2_squared(&a, &b) - naive_l2).abs() < tol, "l2 n={n}");
            assert!(
                (l2_portable(&a, &b) - naive_l2).abs() < tol,
                "portable l2 n={n}"
            );
        }
    }

    #[test]
    fn integer_kernels_agree_with_the_naive_sum() {
        for n in [0, 1, 15, 16, 31, 32, 33, 100, 708] {
            let codes: Vec<i8> = pseudo_random(n, 3)
                .iter()
                .map(|x| (x * 127.0) as i8)
                .collect();
            let values: Vec<i16> = pseudo_random(n, 4)
                .iter()
                .map(|x| (x * 4095.0) as i16)
                .collect();
            let naive: i64 = codes
                .iter()
                .zip(&values)
                .map(|(&c, &v)| c as i64 * v as i64)
                .sum();
            assert_eq!(dot_i8_i16(&codes, &values), naive, "n={n}");
            assert_eq!(
                dot_i8_i16_portable(&codes, &values),
                naive,
                "portable n={n}"
            );
        }
        // The extremes of both ranges, all the same sign: the bound in the doc comment.
        let (codes, values) = (vec![-127i8; 4096], vec![-4095i16; 4096]);
        assert_eq!(dot_i8_i16(&codes, &values), 127 * 4095 * 4096);
    }

    #[test]
    fn normalize_gives_unit_norm_and_keeps_zero() {
        let mut v = vec![3.0, 4.0];
        normalize(&mut v);
        assert_eq!(v, vec![0.6, 0.8]);
        let mut z = vec![0.0; 3];
        normalize(&mut z);
        assert_eq!(z, vec![0.0; 3]);
    }
}
