//! Gated feed-forward activations in one pass: GEGLU (DNABERT-2) and SwiGLU (NT-v2).
//!
//! Both split the last axis of `x` into halves `[a | b]` and return `act(a) · b`. candle's
//! composition (two `narrow`s, a unary op, a multiply) makes three passes, two over strided
//! views, and its unary kernels are scalar: `gelu_erf` evaluates erf in f64 with branches and
//! `silu` calls libm's `expf` per value. On the CPU this module reads each row once and
//! evaluates a branch-free erf (Abramowitz & Stegun 7.1.26, |error| < 1e-6 in f32) and exp
//! (Cody–Waite reduction and a degree-6 polynomial) in loops the compiler vectorises. On
//! other devices, for other dtypes, and when `x` is part of a gradient graph (fine-tuning),
//! the candle composition is used; both compute the same function.

use std::f32::consts::{FRAC_1_SQRT_2, LOG2_E};

use candle_core::{CpuStorage, CustomOp1, DType, Layout, Result, Shape, Tensor, D};

use super::ops::contiguous_f32;
use super::parallel::{in_parallel, thread_count};

/// The activation applied to the first half.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Exact (erf) GELU, PyTorch's `nn.GELU()`.
    GeluErf,
    /// `x · sigmoid(x)`.
    Silu,
}

/// `act(a) · b` for `x = [a | b]` along the last axis (which must be even).
pub fn gated(x: &Tensor, gate: Gate) -> Result<Tensor> {
    let width = x.dim(D::Minus1)? / 2;
    if x.device().is_cpu() && !x.track_op() && x.dtype() == DType::F32 {
        return x.contiguous()?.apply_op1_no_bwd(&Gated { gate, width });
    }
    let a = x.narrow(D::Minus1, 0, width)?;
    let a = match gate {
        Gate::GeluErf => a.gelu_erf()?,
        Gate::Silu => a.silu()?,
    };
    a * x.narrow(D::Minus1, width, width)?
}

/// The one-pass CPU kernel of [`gated`].
struct Gated {
    gate: Gate,
    width: usize,
}

impl CustomOp1 for Gated {
    fn name(&self) -> &'static str {
        "gated-activation"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(storage, layout, "gated")?;
        let w = self.width;
        let rows = x.len() / (2 * w).max(1);
        let mut out = vec![0f32; rows * w];
        let threads = thread_count(out.len() * 8);
        let piece = rows.div_ceil(threads) * w;
        let gate = self.gate;
        in_parallel(
            &mut out,
            piece,
            threads,
            || (),
            |_, offset, piece| {
                for (r, row) in piece.chunks_exact_mut(w).enumerate() {
                    let at = (offset / w + r) * 2 * w;
                    let (a, b) = x[at..at + 2 * w].split_at(w);
                    apply(gate, a, b, row);
                }
            },
        );
        let mut dims = layout.dims().to_vec();
        if let Some(last) = dims.last_mut() {
            *last = w;
        }
        Ok((CpuStorage::F32(out), Shape::from(dims)))
    }
}

/// `out = act(a) · b`, elementwise; separate loops per gate so each one vectorises.
fn apply(gate: Gate, a: &[f32], b: &[f32], out: &mut [f32]) {
    let zipped = out.iter_mut().zip(a).zip(b);
    match gate {
        Gate::GeluErf => zipped.for_each(|((o, &a), &b)| *o = gelu_erf(a) * b),
        Gate::Silu => zipped.for_each(|((o, &a), &b)| *o = a / (1.0 + exp(-a)) * b),
    }
}

/// `0.5 · x · (1 + erf(x / √2))`.
fn gelu_erf(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * FRAC_1_SQRT_2))
}

/// Abramowitz & Stegun 7.1.26: `1 − t·P(t)·e^(−x²)` with `t = 1 / (1 + p·|x|)`, odd in x.
fn erf(x: f32) -> f32 {
    const P: f32 = 0.327_591_1;
    const A: [f32; 5] = [
        1.061_405_4,
        -1.453_152_1,
        1.421_413_7,
        -0.284_496_72,
        0.254_829_6,
    ];
    let ax = x.abs();
    let t = 1.0 / (1.0 + P * ax);
    let poly = A.iter().fold(0.0, |acc, &a| acc * t + a) * t;
    (1.0 - poly * exp(-ax * ax)).copysign(x)
}

/// e^x for f32 without libm: `x = n·ln2 + r` with |r| ≤ ln2/2, `e^r` by its degree-6 Taylor
/// polynomial (relative error about 1e-7 there), and `2^n` written into the exponent bits.
/// Relative error below 3e-7 (tested).
/// Inputs are clamped to the range where the result is a normal f32.
fn exp(x: f32) -> f32 {
    // ln 2 = LN2_HI + LN2_LO, LN2_HI = 355/512 so that `n · LN2_HI` is exact for the n here;
    // LN2_LO is ln 2 − 355/512 to f32 precision (not `LN_2 − LN2_HI`, which would carry
    // `LN_2`'s own rounding error, multiplied by n).
    const LN2_HI: f32 = 355.0 / 512.0;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding 1.5·2^23 rounds an f32 of magnitude below 2^22 to an integer (to nearest): plain
    // arithmetic, where `floor` is a libm call on baseline x86-64 and blocks vectorisation.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2_E + ROUND) - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.0 / 720.0;
    for c in [1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0] {
        p = p * r + c;
    }
    // 2^n from the bits of the float n + 127 + 2^23, whose low 23 bits are the integer
    // n + 127 (in 1..=254 after the clamp): no float-to-int cast, whose saturating form the
    // compiler cannot vectorise.
    p * f32::from_bits((n + (127.0 + 8_388_608.0)).to_bits() << 23)
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var};

    use super::*;
    use crate::embed::models::ops::max_diff;

    #[test]
    fn exp_and_erf_are_close_to_f64_references() {
        // Inside the clamp range [-87, 88].
        let grid = (-86_990..=87_990).map(|i| i as f32 * 1e-3);
        let worst_exp = grid
            .map(|x| ((exp(x) as f64 - (x as f64).exp()) / (x as f64).exp()).abs())
            .fold(0.0, f64::max);
        assert!(worst_exp < 3e-7, "exp relative error {worst_exp:e}");
        let worst_erf = (-60_000..=60_000)
            .map(|i| i as f32 * 1e-4)
            .map(|x| (erf(x) as f64 - candle_core::cpu::erf::erf_f64(x as f64)).abs())
            .fold(0.0, f64::max);
        // A&S bound 1.5e-7, plus f32 rounding of the polynomial: 5.8e-7 measured.
        assert!(worst_erf < 1e-6, "erf absolute error {worst_erf:e}");
        assert_eq!(erf(-10.0), -1.0);
        assert_eq!(gelu_erf(0.0), 0.0);
    }

    /// Rows of `[a | b]` spanning the activations' interesting range, the tails included.
    fn input(rows: usize, width: usize) -> Tensor {
        let v: Vec<f32> = (0..rows * 2 * width)
            .map(|i| ((i * 7919) % 2001) as f32 / 100.0 - 10.0)
            .collect();
        Tensor::from_vec(v, (rows, 1, 2 * width), &Device::Cpu).unwrap()
    }

    #[test]
    fn one_pass_equals_candles_composition() {
        let x = input(37, 96);
        for gate in [Gate::GeluErf, Gate::Silu] {
            let fast = gated(&x, gate).unwrap();
            assert_eq!(fast.dims(), &[37, 1, 96]);
            // A tracked input takes candle's own ops.
            let slow = gated(Var::from_tensor(&x).unwrap().as_tensor(), gate).unwrap();
            assert!(max_diff(&fast, &slow) < 1e-5, "{gate:?}");
        }
    }

    #[test]
    fn a_strided_input_is_made_contiguous_first() {
        let t = input(16, 8)
            .reshape((8, 2, 16))
            .unwrap()
            .transpose(0, 1)
            .unwrap();
        assert!(!t.is_contiguous());
        let want = gated(&t.contiguous().unwrap(), Gate::Silu).unwrap();
        assert_eq!(max_diff(&gated(&t, Gate::Silu).unwrap(), &want), 0.0);
    }
}
