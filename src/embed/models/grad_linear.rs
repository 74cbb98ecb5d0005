//! A trainable linear layer `y = x·Wᵀ + b` as one graph node, for fine-tuning on the CPU.
//!
//! candle's form is five nodes: the input flattened, the weight transposed, the matmul, the
//! bias repeated and added, the output reshaped. Its backward makes a zero tensor and an add
//! for each node's first gradient, the transposed weight's included: a weight-sized memset and
//! add per layer and step. Here gemm reads `W` through strides in both directions, the bias
//! is the output's initial value, and the backward is two strided gemms and a column sum.

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};

use super::grad_ops::{column_sums, host};
use super::matmul::{matmul_into_threads, View};
use super::ops::contiguous_f32;
use super::parallel::thread_count;

/// `x·Wᵀ + b` over the last axis of `x`, `weight` `[out, in]`, `bias` `[out]` (zeros when
/// `None`); gradients for each tracked input.
pub(crate) fn linear(x: &Tensor, weight: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    let bias = match bias {
        Some(b) => b.contiguous()?,
        None => Tensor::zeros(weight.dim(0)?, weight.dtype(), weight.device())?,
    };
    x.contiguous()?
        .apply_op3(&weight.contiguous()?, &bias, Linear)
}

struct Linear;

/// gemm's threads for an `m × k × n` product.
fn threads(m: usize, k: usize, n: usize) -> usize {
    thread_count(m * k * n / 64)
}

impl CustomOp3 for Linear {
    fn name(&self) -> &'static str {
        "linear-trainable"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        xl: &Layout,
        ws: &CpuStorage,
        wl: &Layout,
        bs: &CpuStorage,
        bl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(xs, xl, "linear")?;
        let w = contiguous_f32(ws, wl, "linear")?;
        let b = contiguous_f32(bs, bl, "linear")?;
        let (out, inp) = wl.shape().dims2()?;
        if xl.dims().last() != Some(&inp) || b.len() != out {
            candle_core::bail!("linear: input {:?}, weight {:?}", xl.dims(), wl.dims());
        }
        let n = x.len() / inp.max(1);
        let mut y: Vec<f32> = b.iter().copied().cycle().take(n * out).collect();
        let (xv, wv) = (View::rows(x, n, inp, inp), View::rows(w, out, inp, inp).t());
        matmul_into_threads(&mut y, out, xv, wv, 1.0, true, threads(n, inp, out));
        let mut dims = xl.dims().to_vec();
        if let Some(last) = dims.last_mut() {
            *last = out;
        }
        Ok((CpuStorage::F32(y), Shape::from(dims)))
    }

    /// `dx = g·W`, `dW = gᵀ·x`, `db = Σ_rows g`, each only for a tracked input.
    fn bwd(
        &self,
        x: &Tensor,
        weight: &Tensor,
        bias: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (out, inp) = weight.dims2()?;
        let n = x.elem_count() / inp.max(1);
        let (dx, dw, db) = host(grad, |g| {
            let gv = View::rows(g, n, out, out);
            let dx = match x.track_op() {
                false => None,
                true => Some(host(weight, |w| {
                    let mut dx = vec![0f32; n * inp];
                    let wv = View::rows(w, out, inp, inp);
                    matmul_into_threads(&mut dx, inp, gv, wv, 1.0, false, threads(n, out, inp));
                    Ok(dx)
                })?),
            };
            let dw = match weight.track_op() {
                false => None,
                true => Some(host(x, |x| {
                    let mut dw = vec![0f32; out * inp];
                    let xv = View::rows(x, n, inp, inp);
                    matmul_into_threads(&mut dw, inp, gv.t(), xv, 1.0, false, threads(out, n, inp));
                    Ok(dw)
                })?),
            };
            let db = bias.track_op().then(|| column_sums(g, g, out, |g, _| g));
            Ok((dx, dw, db))
        })?;
        let dev = x.device();
        Ok((
            dx.map(|v| Tensor::from_vec(v, x.shape(), dev))
                .transpose()?,
            dw.map(|v| Tensor::from_vec(v, weight.shape(), dev))
                .transpose()?,
            db.map(|v| Tensor::from_vec(v, bias.shape(), dev))
                .transpose()?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var};

    use super::*;
    use crate::embed::models::grad_ops::tests::agree;
    use crate::embed::models::ops::max_diff;

    fn randn(shape: &[usize]) -> Tensor {
        Tensor::randn(0f32, 1.0, shape, &Device::Cpu).unwrap()
    }

    #[test]
    fn value_and_gradients_equal_candles_linear() {
        let inputs = [randn(&[2, 9, 6]), randn(&[5, 6]), randn(&[5])];
        agree(
            &inputs,
            &[2, 9, 5],
            |t| linear(&t[0], &t[1], Some(&t[2])),
            |t| t[0].broadcast_matmul(&t[1].t()?)?.broadcast_add(&t[2]),
            1e-4,
        );
    }

    #[test]
    fn no_bias_and_a_constant_input_give_only_the_weights_gradient() {
        let x = randn(&[4, 3]);
        let w = Var::from_tensor(&randn(&[2, 3])).unwrap();
        let y = linear(&x, w.as_tensor(), None).unwrap();
        let want = x.matmul(&w.as_tensor().t().unwrap()).unwrap();
        assert!(max_diff(&y, &want) < 1e-5);
        let grads = y.sum_all().unwrap().backward().unwrap();
        assert!(grads.get(&x).is_none());
        let dw = grads.get(w.as_tensor()).unwrap();
        let want_dw = x.sum_keepdim(0).unwrap().broadcast_as((2, 3)).unwrap();
        assert!(max_diff(dw, &want_dw) < 1e-5);
    }

    #[test]
    fn a_weight_of_the_wrong_width_is_an_error() {
        let x = Var::from_tensor(&randn(&[4, 3])).unwrap();
        let err = linear(x.as_tensor(), &randn(&[2, 5]), None).unwrap_err();
        assert!(err.to_string().contains("linear"), "{err}");
    }
}
