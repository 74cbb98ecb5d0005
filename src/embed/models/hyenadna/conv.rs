//! The long causal convolution of a Hyena operator.
//!
//! [`LongConv`] convolves each channel with its implicit filter over the whole sequence:
//! directly for short inputs, through a real FFT for long ones (candle has no FFT). Both paths compute
//! `y[b,t,c] = Σ_{s≤t} k[t-s,c]·v[b,s,c] + D[c]·v[b,t,c]`, so output `t` only sees inputs
//! `≤ t` and right padding never reaches real tokens.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use crate::embed::models::parallel::{in_parallel, thread_count};

/// Inputs of at least this many tokens take the FFT path. Measured with `time_direct_vs_fft`
/// (one x86-64 core, d = 128, batch 8, transposes included), direct / FFT in ms per layer:
/// 0.23 / 0.50 at T = 64, 0.80 / 1.00 at 112, 1.05 / 1.08 at 128, 1.60 / 1.50 at 160,
/// 4.2 / 2.3 at 256 and 70 / 12.8 at 1024.
pub const FFT_FROM: usize = 128;

/// The long causal convolution with a fixed filter of `max_len` taps per channel.
pub struct LongConv {
    d: usize,
    max_len: usize,
    /// Time-major taps `[max_len, d]`: row `j` holds every channel's filter at lag `j`.
    taps: Vec<f32>,
    /// The `D` skip term per channel.
    skip: Vec<f32>,
    /// FFT plans and filter spectra by FFT size; few sizes exist (see [`fft_size`]).
    plans: Mutex<HashMap<usize, Arc<FftPlan>>>,
}

impl LongConv {
    /// From time-major taps `[max_len, d]` and the skip term `[d]`.
    pub fn new(taps: Vec<f32>, skip: Vec<f32>, max_len: usize) -> Self {
        assert_eq!(taps.len(), max_len * skip.len(), "taps are [max_len, d]");
        LongConv {
            d: skip.len(),
            max_len,
            taps,
            skip,
            plans: Mutex::default(),
        }
    }

    /// `v` `[B, T, d]` (row-major, `T ≤ max_len`) to `y` `[B, T, d]`, by whichever path is faster.
    pub fn forward(&self, v: &[f32], batch: usize, len: usize) -> Vec<f32> {
        match len < FFT_FROM {
            true => self.direct(v, batch, len),
            false => self.fft(v, batch, len),
        }
    }

    /// The convolution as a sum over lags, `O(T²)` per channel, on `v` as laid out: the inner
    /// loop runs over the `d` channels of one token.
    pub fn direct(&self, v: &[f32], batch: usize, len: usize) -> Vec<f32> {
        let d = self.check(v, batch, len);
        let mut y = vec![0f32; v.len()];
        if y.is_empty() {
            return y;
        }
        let threads = thread_count(v.len() * len.div_ceil(2));
        // Later tokens cost more; many small pieces dealt round-robin even the load out.
        let rows_per_piece = (batch * len).div_ceil(8 * threads);
        in_parallel(
            &mut y,
            rows_per_piece * d,
            threads,
            || (),
            |_, offset, piece| {
                for (i, out) in piece.chunks_exact_mut(d).enumerate() {
                    let (b, t) = ((offset / d + i) / len, (offset / d + i) % len);
                    self.direct_token(&v[b * len * d..][..len * d], t, out);
                }
            },
        );
        y
    }

    /// Output `t` of one sequence `seq` `[T, d]`: lags `0..=t` in order, then the skip term, so
    /// the result does not depend on what follows `t`.
    fn direct_token(&self, seq: &[f32], t: usize, out: &mut [f32]) {
        let d = self.d;
        for (k, x) in self
            .taps
            .chunks_exact(d)
            .zip(seq[..(t + 1) * d].chunks_exact(d).rev())
        {
            out.iter_mut()
                .zip(k)
                .zip(x)
                .for_each(|((o, k), x)| *o += k * x);
        }
        let x = &seq[t * d..][..d];
        out.iter_mut()
            .zip(x)
            .zip(&self.skip)
            .for_each(|((o, x), s)| *o += s * x);
    }

    /// The convolution through a real FFT of size `n ≥ 2T`, `O(T log T)` per channel, on a
    /// channel-major copy of `v`.
    pub fn fft(&self, v: &[f32], batch: usize, len: usize) -> Vec<f32> {
        let d = self.check(v, batch, len);
        if v.is_empty() {
            return Vec::new();
        }
        let plan = self.plan(len);
        let mut rows = vec![0f32; v.len()];
        for (seq, dst) in v.chunks_exact(len * d).zip(rows.chunks_exact_mut(len * d)) {
            transpose_into(seq, len, d, dst);
        }
        let n = plan.forward.len();
        let threads = thread_count(batch * d * n * (n.ilog2() as usize + 1));
        let mut out = vec![0f32; v.len()];
        let rows_per_piece = (batch * d).div_ceil(threads);
        in_parallel(
            &mut out,
            rows_per_piece * len,
            threads,
            || FftScratch::new(&plan),
            |s, offset, piece| {
                for (i, y) in piece.chunks_exact_mut(len).enumerate() {
                    let row = offset / len + i;
                    let x = &rows[row * len..][..len];
                    plan.convolve(s, row % d, x, y);
                    let skip = self.skip[row % d];
                    y.iter_mut().zip(x).for_each(|(y, x)| *y += skip * x);
                }
            },
        );
        let mut y = vec![0f32; v.len()];
        for (src, seq) in out.chunks_exact(len * d).zip(y.chunks_exact_mut(len * d)) {
            transpose_into(src, d, len, seq);
        }
        y
    }

    /// Asserts that `v` is `[batch, len, d]` with `len ≤ max_len`; returns `d`.
    fn check(&self, v: &[f32], batch: usize, len: usize) -> usize {
        assert!(
            len <= self.max_len && v.len() == batch * len * self.d,
            "v is [B, T, d] with T <= max_len"
        );
        self.d
    }

    /// The plan for inputs of `len` tokens, made on first use.
    fn plan(&self, len: usize) -> Arc<FftPlan> {
        let n = fft_size(len);
        let mut plans = self.plans.lock().unwrap_or_else(|e| e.into_inner());
        plans
            .entry(n)
            .or_insert_with(|| Arc::new(FftPlan::new(n, &self.taps, self.max_len, self.d)))
            .clone()
    }
}

/// The smallest `2^a` or `3·2^a` that is at least `2·len` (and at least 2). Any size
/// `≥ 2·len` gives the same linear convolution; these sizes keep the FFT fast and the plan
/// cache small.
fn fft_size(len: usize) -> usize {
    let need = (2 * len).max(2);
    let pow = need.next_power_of_two();
    match pow / 4 * 3 {
        three if three >= need => three,
        _ => pow,
    }
}

/// Writes `m` `[rows, cols]` transposed into `out` `[cols, rows]`, in cache-sized tiles.
fn transpose_into(m: &[f32], rows: usize, cols: usize, out: &mut [f32]) {
    const TILE: usize = 8;
    for r0 in (0..rows).step_by(TILE) {
        for c0 in (0..cols).step_by(TILE) {
            for r in r0..(r0 + TILE).min(rows) {
                for c in c0..(c0 + TILE).min(cols) {
                    out[c * rows + r] = m[r * cols + c];
                }
            }
        }
    }
}

/// Real FFTs of one size `n` and the spectra of every channel's filter at that size.
struct FftPlan {
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn ComplexToReal<f32>>,
    /// `[d, n/2 + 1]`, scaled by `1/n` so the inverse needs no scaling.
    kernel: Vec<Complex<f32>>,
}

/// Buffers one thread reuses for every row.
struct FftScratch {
    signal: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
}

impl FftScratch {
    fn new(plan: &FftPlan) -> Self {
        let len = plan
            .forward
            .get_scratch_len()
            .max(plan.inverse.get_scratch_len());
        FftScratch {
            signal: plan.forward.make_input_vec(),
            spectrum: plan.forward.make_output_vec(),
            scratch: vec![Complex::default(); len],
        }
    }
}

impl FftPlan {
    /// Transforms the first `n/2` taps of each channel. Inputs have `T ≤ n/2` tokens, so lags
    /// `≥ T` only reach outputs `≥ T` (dropped), and nothing wraps around onto outputs `< T`.
    fn new(n: usize, taps: &[f32], max_len: usize, d: usize) -> Self {
        let mut planner = RealFftPlanner::<f32>::new();
        let (forward, inverse) = (planner.plan_fft_forward(n), planner.plan_fft_inverse(n));
        let used = (n / 2).min(max_len);
        let mut by_channel = vec![0f32; used * d];
        transpose_into(&taps[..used * d], used, d, &mut by_channel);
        let mut signal = forward.make_input_vec();
        let mut spectrum = forward.make_output_vec();
        let mut kernel = Vec::with_capacity(d * spectrum.len());
        for c in 0..d {
            signal.fill(0.0);
            signal[..used].copy_from_slice(&by_channel[c * used..][..used]);
            forward
                .process(&mut signal, &mut spectrum)
                .expect("buffers come from the plan");
            kernel.extend(spectrum.iter().map(|z| z / n as f32));
        }
        FftPlan {
            forward,
            inverse,
            kernel,
        }
    }

    /// One channel row: `y` = the first `T` values of `irfft(rfft(x) · K_c)`.
    fn convolve(&self, s: &mut FftScratch, c: usize, x: &[f32], y: &mut [f32]) {
        let half = s.spectrum.len();
        s.signal[..x.len()].copy_from_slice(x);
        s.signal[x.len()..].fill(0.0);
        self.forward
            .process_with_scratch(&mut s.signal, &mut s.spectrum, &mut s.scratch)
            .expect("plan-sized buffers");
        s.spectrum
            .iter_mut()
            .zip(&self.kernel[c * half..][..half])
            .for_each(|(a, k)| *a *= k);
        // The DC and Nyquist bins of a real signal are real; realfft insists on it.
        s.spectrum[0].im = 0.0;
        s.spectrum[half - 1].im = 0.0;
        self.inverse
            .process_with_scratch(&mut s.spectrum, &mut s.signal, &mut s.scratch)
            .expect("plan-sized buffers");
        y.copy_from_slice(&s.signal[..y.len()]);
    }
}

#[cfg(test)]
mod tests;
