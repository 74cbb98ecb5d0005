//! Ops with two implementations: candle's fused kernels for inference, and compositions of
//! differentiable primitives when the input is part of a gradient graph.
//!
//! candle's `softmax_last_dim`, the fused `layer_norm` that `LayerNorm::forward` takes on
//! contiguous input, and `rope` are custom ops without a backward pass. A forward pass over
//! trainable variables (fine-tuning, see `finetune`) makes every activation tracked
//! ([`Tensor::track_op`]), so these helpers switch exactly then: to the fused kernels with
//! backward passes of `grad_ops` for f32 on the CPU, else to compositions of candle's
//! differentiable primitives. Inference over constant weights keeps candle's fast kernels. All
//! forms compute the same function.

use candle_core::{CpuStorage, DType, Layout, Result, Tensor, D};
use candle_nn::{LayerNorm, Module, VarBuilder};

use super::panels::Panels;
use super::{grad_linear, grad_ops};

/// The f32 values of a contiguous CPU tensor, for the `cpu_fwd` of a custom op named `op`.
pub(crate) fn contiguous_f32<'a>(
    storage: &'a CpuStorage,
    layout: &Layout,
    op: &str,
) -> Result<&'a [f32]> {
    let (start, end) = layout
        .contiguous_offsets()
        .ok_or_else(|| candle_core::Error::Msg(format!("{op}: input not contiguous")))?;
    Ok(&storage.as_slice::<f32>()?[start..end])
}

/// A linear layer `x·Wᵀ + b` over the last axis, like `candle_nn::Linear`, with the weight
/// stored for the fastest matmul its use allows; the input is flattened to one matrix.
/// `Linear` multiplies by a transposed *view* of `[out, in]` and, for 3-D input, runs one
/// matmul per batch row; gemm packs a row-major right operand faster (1.2x at DNABERT-2's QKV
/// shape, 2.1x at its `wo`, one thread, 110 rows), and faster still when it need not pack the
/// weight at all ([`Panels`]: 1.1-1.35x again at one sequence's 86-116 tokens with the weight
/// in cache; 0-8 % in a whole model, whose weights come from memory at every forward).
pub struct Dense {
    weight: Weight,
    /// Added after the matmul, except for [`Weight::Panels`], which holds its own.
    bias: Option<Tensor>,
    out_dim: usize,
}

/// Whether constant CPU weights take [`Panels`]: not in the `mkl` build, whose point is that
/// candle's matmul (there MKL's sgemm) does the projections.
const PANELS: bool = !cfg!(feature = "mkl");

/// How a [`Dense`] weight is stored.
enum Weight {
    /// A constant f32 weight on the CPU, in gemm's panel layout (the bias inside).
    Panels(Panels),
    /// A constant weight on another device or dtype, or in the `mkl` build: `[in, out]`,
    /// contiguous.
    Transposed(Tensor),
    /// A trainable weight (fine-tuning), `[out, in]` as given: the optimiser updates that very
    /// variable in place, so a rearranged copy would go stale.
    Trainable(Tensor),
}

impl Dense {
    /// From a weight `[out, in]` and an optional bias `[out]`, as `Linear::new`.
    pub fn new(weight: Tensor, bias: Option<Tensor>) -> Result<Self> {
        let out_dim = weight.dim(0)?;
        let weight = if weight.track_op() {
            Weight::Trainable(weight)
        } else if PANELS && weight.device().is_cpu() && weight.dtype() == DType::F32 {
            let panels = Panels::new(&weight, bias.as_ref())?;
            return Ok(Dense {
                weight: Weight::Panels(panels),
                bias: None,
                out_dim,
            });
        } else {
            Weight::Transposed(weight.t()?.contiguous()?)
        };
        Ok(Dense {
            weight,
            bias,
            out_dim,
        })
    }
}

impl Module for Dense {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        // The `mkl` build keeps candle's matmul (MKL's sgemm) for trainable weights too.
        if let (Weight::Trainable(w), true) = (&self.weight, PANELS && grad_ops::applies(x)) {
            // One graph node for the matmul and the bias (see `grad_linear`).
            return grad_linear::linear(x, w, self.bias.as_ref());
        }
        let mut dims = x.dims().to_vec();
        let width = dims.pop().unwrap_or(1);
        let flat = x.reshape((x.elem_count() / width.max(1), width))?;
        let y = match &self.weight {
            // A tracked input (gradients wanted for it) takes the differentiable matmul.
            Weight::Panels(panels) if !flat.track_op() && flat.dtype() == DType::F32 => {
                panels.matmul(&flat)?
            }
            Weight::Panels(_) => candle_core::bail!(
                "dense: a constant CPU f32 layer got a tracked or {:?} input",
                flat.dtype()
            ),
            Weight::Transposed(w) => flat.matmul(w)?,
            Weight::Trainable(w) => flat.matmul(&w.t()?)?,
        };
        let y = match &self.bias {
            Some(bias) => add_row(&y, bias)?,
            None => y,
        };
        dims.push(self.out_dim);
        y.reshape(dims)
    }
}

/// `weight` `[out, in]` and `bias` `[out]` from `vb`, as `candle_nn::linear`.
pub fn dense(in_dim: usize, out_dim: usize, vb: VarBuilder) -> Result<Dense> {
    let weight = vb.get((out_dim, in_dim), "weight")?;
    Dense::new(weight, Some(vb.get(out_dim, "bias")?))
}

/// `weight` `[out, in]` from `vb`, without a bias, as `candle_nn::linear_no_bias`.
pub fn dense_no_bias(in_dim: usize, out_dim: usize, vb: VarBuilder) -> Result<Dense> {
    Dense::new(vb.get((out_dim, in_dim), "weight")?, None)
}

/// `row` `[d]` repeated over the `rows` leading positions of a `[..., d]` tensor, as a
/// `[rows, d]` matrix whose gradient reaches `row` through a matmul.
///
/// candle's backward of a broadcast sums the gradient over the broadcast axes, and its sum over
/// leading axes walks element by element with a division per axis (a third of a HyenaDNA
/// step's time went there). `ones [rows, 1] · row [1, d]` gives the same values exactly (one
/// product by 1.0 each) and its backward is `onesᵀ · grad`, one gemm.
fn repeated(row: &Tensor, rows: usize) -> Result<Tensor> {
    let ones = Tensor::ones((rows, 1), row.dtype(), row.device())?;
    ones.matmul(&row.reshape((1, row.elem_count()))?)
}

/// `x + row` over the last axis; a tracked `row` takes [`repeated`].
pub(crate) fn add_row(x: &Tensor, row: &Tensor) -> Result<Tensor> {
    if (x.track_op() || row.track_op()) && grad_ops::applies(x) {
        return grad_ops::row_op(x, row, true);
    }
    match row.track_op() {
        true => per_row(x, row, |a, b| a + b),
        false => x.broadcast_add(row),
    }
}

/// `x * row` over the last axis; a tracked `row` takes [`repeated`].
pub(crate) fn mul_row(x: &Tensor, row: &Tensor) -> Result<Tensor> {
    if (x.track_op() || row.track_op()) && grad_ops::applies(x) {
        return grad_ops::row_op(x, row, false);
    }
    match row.track_op() {
        true => per_row(x, row, |a, b| a * b),
        false => x.broadcast_mul(row),
    }
}

/// `op(x, row)` with `x` flattened to `[rows, d]` and `row` [`repeated`] to match.
fn per_row(
    x: &Tensor,
    row: &Tensor,
    op: impl Fn(&Tensor, &Tensor) -> Result<Tensor>,
) -> Result<Tensor> {
    let width = row.elem_count().max(1);
    let rows = x.elem_count() / width;
    let flat = x.reshape((rows, width))?;
    op(&flat, &repeated(row, rows)?)?.reshape(x.shape())
}

/// Softmax over the last axis.
pub fn softmax_last_dim(x: &Tensor) -> Result<Tensor> {
    match x.track_op() {
        true if grad_ops::applies(x) => grad_ops::softmax(x),
        true => candle_nn::ops::softmax(x, D::Minus1),
        false => candle_nn::ops::softmax_last_dim(x),
    }
}

/// LayerNorm (mean removed, affine) over the last axis, as `nn.LayerNorm`.
pub struct Norm {
    inner: LayerNorm,
    eps: f64,
}

impl Norm {
    /// Loads `weight` and `bias` of width `size`.
    pub fn load(size: usize, eps: f64, vb: VarBuilder) -> Result<Self> {
        Ok(Norm {
            inner: candle_nn::layer_norm(size, eps, vb)?,
            eps,
        })
    }
}

impl Module for Norm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let tracked = x.track_op() || self.inner.weight().track_op();
        if !tracked {
            return self.inner.forward(x);
        }
        if let (true, Some(bias)) = (grad_ops::applies(x), self.inner.bias()) {
            return grad_ops::layer_norm(x, self.inner.weight(), bias, self.eps);
        }
        let width = x.dim(D::Minus1)? as f64;
        let centred = x.broadcast_sub(&(x.sum_keepdim(D::Minus1)? / width)?)?;
        let var = (centred.sqr()?.sum_keepdim(D::Minus1)? / width)?;
        let normed = centred.broadcast_div(&(var + self.eps)?.sqrt()?)?;
        let scaled = mul_row(&normed, self.inner.weight())?;
        match self.inner.bias() {
            Some(bias) => add_row(&scaled, bias),
            None => Ok(scaled),
        }
    }
}

/// Rotary embedding in the "rotate half" form, `x` `[B, H, T, head_dim]`.
pub fn rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
    match x.track_op() {
        true if grad_ops::applies(x) => grad_ops::rope(x, cos, sin),
        true => candle_nn::rotary_emb::rope_slow(x, cos, sin),
        false => candle_nn::rotary_emb::rope(x, cos, sin),
    }
}

/// `max |a − b|` over every element of two same-shape tensors: the models' unit tests compare
/// outputs with it.
#[cfg(test)]
pub(crate) fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .and_then(|d| d.abs()?.max_all()?.to_scalar())
        .expect("tensors of the same shape")
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var};

    use super::*;

    /// The same values as constants and as a variable: fast and slow forms agree, and the
    /// slow form carries a gradient.
    fn both(shape: &[usize]) -> (Tensor, Var) {
        let x = Tensor::randn(0f32, 1.0, shape, &Device::Cpu).unwrap();
        let v = Var::from_tensor(&x).unwrap();
        (x, v)
    }

    #[test]
    fn softmax_forms_agree_and_the_tracked_one_has_a_gradient() {
        let (x, v) = both(&[2, 3, 7]);
        let fast = softmax_last_dim(&x).unwrap();
        let slow = softmax_last_dim(v.as_tensor()).unwrap();
        assert!(max_diff(&fast, &slow) < 1e-6);
        let weights = Tensor::arange(0f32, 7.0, &Device::Cpu).unwrap();
        let loss = slow.broadcast_mul(&weights).unwrap().sum_all().unwrap();
        let grads = loss.backward().unwrap();
        let g = grads.get(v.as_tensor()).expect("a gradient");
        assert!(
            g.abs()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap()
                > 0.0
        );
    }

    #[test]
    fn layer_norm_forms_agree_and_the_tracked_one_has_a_gradient() {
        let (x, v) = both(&[2, 5, 8]);
        let w = Tensor::randn(1f32, 0.1, 8, &Device::Cpu).unwrap();
        let b = Tensor::randn(0f32, 0.1, 8, &Device::Cpu).unwrap();
        let norm = Norm {
            inner: LayerNorm::new(w, b, 1e-5),
            eps: 1e-5,
        };
        let fast = norm.forward(&x).unwrap();
        let slow = norm.forward(v.as_tensor()).unwrap();
        assert!(max_diff(&fast, &slow) < 1e-5);
        let loss = slow
            .sqr()
            .unwrap()
            .narrow(2, 0, 3)
            .unwrap()
            .sum_all()
            .unwrap();
        let grads = loss.backward().unwrap();
        assert!(grads.get(v.as_tensor()).is_some());
    }

    #[test]
    fn rope_forms_agree() {
        let (x, v) = both(&[1, 2, 4, 6]);
        let cos = Tensor::randn(0f32, 1.0, (4, 3), &Device::Cpu).unwrap();
        let sin = Tensor::randn(0f32, 1.0, (4, 3), &Device::Cpu).unwrap();
        let fast = rope(&x, &cos, &sin).unwrap();
        let slow = rope(v.as_tensor(), &cos, &sin).unwrap();
        assert!(max_diff(&fast, &slow) < 1e-6);
    }

    #[test]
    fn dense_equals_linear_for_constant_and_trainable_weights() {
        let (w, var) = both(&[5, 8]);
        let b = Tensor::randn(0f32, 1.0, 5, &Device::Cpu).unwrap();
        let x = Tensor::randn(0f32, 1.0, (3, 4, 8), &Device::Cpu).unwrap();
        let want = candle_nn::Linear::new(w.clone(), Some(b.clone()))
            .forward(&x)
            .unwrap();
        let frozen = Dense::new(w, Some(b.clone())).unwrap();
        assert_eq!(matches!(frozen.weight, Weight::Panels(_)), PANELS);
        let got = frozen.forward(&x).unwrap();
        assert_eq!(got.dims(), &[3, 4, 5]);
        assert!(max_diff(&got, &want) < 1e-5);
        // A strided input is flattened by a copy.
        let xt = x.transpose(0, 1).unwrap();
        let want_t = want.transpose(0, 1).unwrap();
        assert!(max_diff(&frozen.forward(&xt).unwrap(), &want_t) < 1e-5);
        // A trainable weight is read at every forward: an in-place update shows.
        let tracked = Dense::new(var.as_tensor().clone(), None).unwrap();
        assert!(matches!(tracked.weight, Weight::Trainable(_)));
        var.set(&var.as_tensor().affine(2.0, 0.0).unwrap()).unwrap();
        let twice = candle_nn::Linear::new(var.as_tensor().detach(), None)
            .forward(&x)
            .unwrap();
        assert!(max_diff(&tracked.forward(&x).unwrap(), &twice) < 1e-5);
    }
}
