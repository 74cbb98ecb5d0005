//! The MLP activation: GELU with the tanh approximation (`F.gelu(approximate="tanh")`).
//!
//! candle's `gelu` computes the same formula with libm's `tanhf`, about 20 ns a value here,
//! which made it the costliest op of the whole forward pass. On the CPU this module evaluates
//! tanh as the odd 13/6 rational minimax used by Eigen and ONNX Runtime's MLAS (within a few
//! ulp of tanh), in a plain loop the compiler vectorises.

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};

use crate::embed::models::grad_ops::{by_rows, host};
use crate::embed::models::ops::contiguous_f32;
use crate::embed::models::parallel::{in_parallel, thread_count};

/// `√(2/π)`.
const SQRT_2_OVER_PI: f32 = 0.797_884_6;
/// Beyond this, f32 tanh rounds to ±1.
const TANH_CLAMP: f64 = 7.905_311_107_635_498;
/// Odd numerator, highest power first: α13, α11, …, α1 (the published f64 digits; they are
/// rounded to f32 where used).
const ALPHA: [f64; 7] = [
    -2.760_768_477_423_55e-16,
    2.000_187_904_824_77e-13,
    -8.604_671_522_137_35e-11,
    5.122_297_090_371_14e-8,
    1.485_722_357_179_79e-5,
    6.372_619_288_754_36e-4,
    4.893_524_558_917_86e-3,
];
/// Even denominator, highest power first: β6, β4, β2, β0.
const BETA: [f64; 4] = [
    1.198_258_394_667_02e-6,
    1.185_347_056_866_54e-4,
    2.268_434_632_439e-3,
    4.893_525_185_543_85e-3,
];

/// tanh-approximated GELU of `x`; on non-CPU devices, candle's own op. When `x` carries a
/// gradient graph (fine-tuning), a custom op with the same forward and an analytic backward,
/// since candle's `gelu` calls libm's `tanhf` and `powf` per value in both directions.
pub fn gelu_tanh(x: &Tensor) -> Result<Tensor> {
    if !x.device().is_cpu() {
        return x.gelu();
    }
    if x.track_op() {
        return x.contiguous()?.apply_op1(GeluTanh);
    }
    let mut v: Vec<f32> = x.flatten_all()?.to_vec1()?;
    let threads = thread_count(v.len() * 8);
    let piece = v.len().div_ceil(threads);
    in_parallel(
        &mut v,
        piece,
        threads,
        || (),
        |_, _, p| p.iter_mut().for_each(|x| *x = gelu(*x)),
    );
    Tensor::from_vec(v, x.shape(), x.device())
}

/// `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`.
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + tanh(SQRT_2_OVER_PI * x * (1.0 + 0.044_715 * x * x)))
}

/// d gelu / dx: `0.5·(1 + th) + 0.5·x·(1 - th²)·√(2/π)·(1 + 3·0.044715·x²)`, `th` the tanh.
fn gelu_derivative(x: f32) -> f32 {
    let th = tanh(SQRT_2_OVER_PI * x * (1.0 + 0.044_715 * x * x));
    0.5 * (1.0 + th) + 0.5 * x * (1.0 - th * th) * SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044_715 * x * x)
}

/// [`gelu`] as a candle op with a backward pass, for contiguous F32 input on the CPU.
struct GeluTanh;

/// Values per piece of work split across threads (the op is elementwise).
const PIECE: usize = 1024;

impl CustomOp1 for GeluTanh {
    fn name(&self) -> &'static str {
        "gelu-tanh-rational"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(storage, layout, "gelu")?;
        let y = by_rows(x.len(), PIECE, |r, out| {
            let x = &x[r * PIECE..];
            out.iter_mut().zip(x).for_each(|(o, &x)| *o = gelu(x));
        });
        Ok((CpuStorage::F32(y), layout.shape().clone()))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let dx = host(arg, |x| {
            host(grad, |g| {
                Ok(by_rows(x.len(), PIECE, |r, out| {
                    let (x, g) = (&x[r * PIECE..], &g[r * PIECE..]);
                    for ((o, &x), &g) in out.iter_mut().zip(x).zip(g) {
                        *o = g * gelu_derivative(x);
                    }
                }))
            })
        })?;
        Ok(Some(Tensor::from_vec(dx, arg.shape(), arg.device())?))
    }
}

fn tanh(x: f32) -> f32 {
    let x = x.clamp(-TANH_CLAMP as f32, TANH_CLAMP as f32);
    let x2 = x * x;
    let p = ALPHA.iter().fold(0.0, |acc, &a| acc * x2 + a as f32);
    let q = BETA.iter().fold(0.0, |acc, &b| acc * x2 + b as f32);
    x * p / q
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor};

    use super::*;

    #[test]
    fn rational_tanh_is_close_to_libm() {
        let worst = (-100_000..=100_000)
            .map(|i| i as f32 * 1e-4)
            .map(|x| (tanh(x) as f64 - (x as f64).tanh()).abs())
            .fold(0.0, f64::max);
        assert!(worst < 5e-7, "max |tanh error| {worst:e}");
        assert_eq!((tanh(50.0), tanh(-50.0), tanh(0.0)), (1.0, -1.0, 0.0));
    }

    #[test]
    fn tracked_gelu_has_candles_value_and_gradient() {
        let x = Tensor::arange(-400f32, 400.0, &Device::Cpu)
            .unwrap()
            .affine(1.5e-2, 0.0)
            .unwrap();
        let v = candle_core::Var::from_tensor(&x).unwrap();
        let weights = x.cos().unwrap();
        let grad_of = |y: Tensor| {
            let grads = (y * &weights)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            grads.get(v.as_tensor()).unwrap().to_vec1::<f32>().unwrap()
        };
        let ours = gelu_tanh(v.as_tensor()).unwrap();
        let theirs = v.as_tensor().gelu().unwrap();
        let diff = crate::vecmath::max_abs_diff;
        let values = diff(&ours.to_vec1().unwrap(), &theirs.to_vec1().unwrap());
        assert!(values < 1e-6, "value differs by {values:e}");
        let grads = diff(&grad_of(ours), &grad_of(theirs));
        assert!(grads < 1e-5, "gradient differs by {grads:e}");
    }

    #[test]
    fn gelu_matches_candle() {
        let x = Tensor::arange(-4000f32, 4000.0, &Device::Cpu)
            .unwrap()
            .affine(2.5e-3, 0.0)
            .unwrap();
        let ours: Vec<f32> = gelu_tanh(&x).unwrap().to_vec1().unwrap();
        let theirs: Vec<f32> = x.gelu().unwrap().to_vec1().unwrap();
        let worst = crate::vecmath::max_abs_diff(&ours, &theirs);
        assert!(worst < 1e-6, "max |gelu diff| {worst:e}");
    }
}
