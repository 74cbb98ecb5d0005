//! Gated feed-forward activations in one pass: GEGLU (DNABERT-2) and SwiGLU (NT-v2).
//!
//! Both split the last axis of `x` into halves `[a | b]` and return `act(a) · b`. candle's
//! composition (two `narrow`s, a unary op, a multiply) makes three passes, two over strided
//! views, and its unary kernels are scalar: `gelu_erf` evaluates erf in f64 with branches and
//! `silu` calls libm's `expf` per value. On the CPU this module reads each row once and
//! evaluates the branch-free erf and exp of [`super::fastmath`] in loops the compiler
//! vectorises, and, when `x` is part of a gradient graph (fine-tuning), its backward pass in
//! one more. On other devices and for other dtypes the candle composition is used; both
//! compute the same function.

use std::f32::consts::FRAC_1_SQRT_2;

use candle_core::{CpuStorage, CustomOp1, DType, Layout, Result, Shape, Tensor, D};

use super::fastmath::{erf, exp, gelu_erf};
use super::grad_ops::{by_rows, host};
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
    if x.device().is_cpu() && x.dtype() == DType::F32 {
        let op = Gated { gate, width };
        return match x.track_op() {
            // Fine-tuning: the same kernel, with the backward pass of [`Gated::bwd`].
            true => x.contiguous()?.apply_op1(op),
            false => x.contiguous()?.apply_op1_no_bwd(&op),
        };
    }
    composed(x, gate, width)
}

/// candle's composition of [`gated`], for other devices and dtypes.
fn composed(x: &Tensor, gate: Gate, width: usize) -> Result<Tensor> {
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

    /// For a row `[a | b]` and the output's gradient `g`: `da = g·b·act'(a)`, `db = g·act(a)`.
    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let (w, gate) = (self.width, self.gate);
        let dx = host(arg, |x| {
            host(grad, |g| {
                Ok(by_rows(x.len(), 2 * w, |r, out| {
                    let (a, b) = x[r * 2 * w..(r + 1) * 2 * w].split_at(w);
                    let (da, db) = out.split_at_mut(w);
                    derivatives(gate, a, b, &g[r * w..(r + 1) * w], da, db);
                }))
            })
        })?;
        Ok(Some(Tensor::from_vec(dx, arg.shape(), arg.device())?))
    }
}

/// `out = act(a) · b`, elementwise; separate loops per gate so each one vectorises (16 lanes
/// with AVX-512, 8 with AVX2, else 4).
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+fma", "x86_64+avx2+fma"))]
fn apply(gate: Gate, a: &[f32], b: &[f32], out: &mut [f32]) {
    let zipped = out.iter_mut().zip(a).zip(b);
    match gate {
        Gate::GeluErf => zipped.for_each(|((o, &a), &b)| *o = gelu_erf(a) * b),
        Gate::Silu => zipped.for_each(|((o, &a), &b)| *o = a / (1.0 + exp(-a)) * b),
    }
}

/// `da = g·b·act'(a)` and `db = g·act(a)`, elementwise.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+fma", "x86_64+avx2+fma"))]
fn derivatives(gate: Gate, a: &[f32], b: &[f32], g: &[f32], da: &mut [f32], db: &mut [f32]) {
    let zipped = da.iter_mut().zip(db.iter_mut()).zip(a).zip(b).zip(g);
    match gate {
        Gate::GeluErf => zipped.for_each(|((((da, db), &a), &b), &g)| {
            // d/da of a·Φ(a) is Φ(a) + a·φ(a), with Φ(a) = gelu_erf(a) / a.
            let pdf = exp(-0.5 * a * a) * FRAC_1_SQRT_2PI;
            let cdf = 0.5 * (1.0 + erf(a * FRAC_1_SQRT_2));
            *da = g * b * (cdf + a * pdf);
            *db = g * a * cdf;
        }),
        Gate::Silu => zipped.for_each(|((((da, db), &a), &b), &g)| {
            let s = 1.0 / (1.0 + exp(-a));
            *da = g * b * s * (1.0 + a * (1.0 - s));
            *db = g * a * s;
        }),
    }
}

/// `1 / √(2π)`.
const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var};

    use super::*;
    use crate::embed::models::ops::max_diff;

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
            let slow = composed(&x, gate, 96).unwrap();
            assert!(max_diff(&fast, &slow) < 1e-5, "{gate:?}");
        }
    }

    #[test]
    fn tracked_input_has_the_compositions_gradient() {
        let x = input(23, 40);
        let weights = Tensor::randn(0f32, 1.0, (23, 1, 40), &Device::Cpu).unwrap();
        for gate in [Gate::GeluErf, Gate::Silu] {
            let grad = |f: &dyn Fn(&Tensor) -> Result<Tensor>| {
                let v = Var::from_tensor(&x).unwrap();
                let y = f(v.as_tensor()).unwrap();
                let grads = (y * &weights)
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    .backward()
                    .unwrap();
                grads.get(v.as_tensor()).unwrap().clone()
            };
            let fused = grad(&|t| gated(t, gate));
            let slow = grad(&|t| composed(t, gate, 40));
            assert!(
                max_diff(&fused, &slow) < 1e-4,
                "{gate:?}: {}",
                max_diff(&fused, &slow)
            );
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
