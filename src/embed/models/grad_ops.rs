//! Fused CPU kernels with analytic backward passes, for the forward passes of fine-tuning.
//!
//! When an activation is tracked (see `ops`), softmax, LayerNorm, the rotary embedding and the
//! per-row add and multiply were compositions of candle primitives: 3 to 15 graph nodes each, every one a separate
//! single-threaded pass over the activation forward and one or more backward, and for every
//! node candle's backward makes a zero tensor and adds the node's first gradient to it (11% of
//! an NT-v2 step, BENCHMARKS.md). Here each is one custom op: one pass forward and one backward,
//! split over rows across rayon's threads, and one gradient per input. The values equal the
//! compositions' within f32 rounding (tests); `exp` is [`super::fastmath::exp`].

use candle_core::{
    CpuStorage, CustomOp1, CustomOp2, CustomOp3, DType, Layout, Result, Shape, Storage, Tensor,
};

use super::fastmath::exp;
use super::ops::contiguous_f32;
use super::parallel::{in_parallel, thread_count};

/// Whether `x`'s tracked ops can take this module's kernels: f32 on the CPU.
pub(crate) fn applies(x: &Tensor) -> bool {
    x.device().is_cpu() && x.dtype() == DType::F32
}

/// Softmax over the last axis of a tracked CPU f32 tensor.
pub(crate) fn softmax(x: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op1(Softmax)
}

/// LayerNorm over the last axis, `(x − mean) / √(var + eps) · weight + bias`, with gradients
/// for `x`, `weight` and `bias` (each only when tracked).
pub(crate) fn layer_norm(x: &Tensor, weight: &Tensor, bias: &Tensor, eps: f64) -> Result<Tensor> {
    let eps = eps as f32;
    x.contiguous()?.apply_op3(
        &weight.contiguous()?,
        &bias.contiguous()?,
        LayerNorm { eps },
    )
}

/// Rotary embedding (rotate-half form) of `x` `[B, H, T, D]` with tables `cos`, `sin`
/// `[≥T, D/2]`, as candle's `rope`.
pub(crate) fn rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
    let (_, _, t, d) = x.dims4()?;
    let table = |m: &Tensor| m.narrow(0, 0, t)?.flatten_all()?.to_vec1::<f32>();
    let (cos, sin) = (table(cos)?, table(sin)?);
    if cos.len() * 2 != t * d {
        candle_core::bail!("rope: tables of {} values for T {t}, D {d}", cos.len());
    }
    x.contiguous()?.apply_op1(Rope { cos, sin })
}

/// `x + row` (`add`) or `x · row` over the last axis of `x`, with gradients for both (each
/// only when tracked): candle's broadcast would sum the gradient element by element, and
/// `ops`' repeated row materialises the row `rows` times.
pub(crate) fn row_op(x: &Tensor, row: &Tensor, add: bool) -> Result<Tensor> {
    x.contiguous()?.apply_op2(&row.contiguous()?, RowOp { add })
}

/// Runs `f` on the f32 values of `t` (made contiguous), which must be on the CPU.
pub(crate) fn host<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> Result<R>) -> Result<R> {
    let t = t.contiguous()?;
    let (storage, layout) = t.storage_and_layout();
    match &*storage {
        Storage::Cpu(cpu) => f(contiguous_f32(cpu, layout, "grad op")?),
        _ => candle_core::bail!("grad op: a tensor is not on the CPU"),
    }
}

/// `out` `[rows, width]` filled row by row, `f(row index, row)`, rows split across threads; a
/// last partial row when `width` does not divide `len`.
pub(crate) fn by_rows(len: usize, width: usize, f: impl Fn(usize, &mut [f32]) + Sync) -> Vec<f32> {
    let width = width.max(1);
    let mut out = vec![0f32; len];
    let rows = len / width;
    let threads = thread_count(len * 4);
    let piece = rows.div_ceil(threads).max(1) * width;
    in_parallel(
        &mut out,
        piece,
        threads,
        || (),
        |_, offset, piece| {
            for (r, row) in piece.chunks_mut(width).enumerate() {
                f(offset / width + r, row);
            }
        },
    );
    out
}

/// The last axis of `x`.
fn last_dim(x: &Tensor) -> Result<usize> {
    x.dim(candle_core::D::Minus1)
}

struct Softmax;

impl CustomOp1 for Softmax {
    fn name(&self) -> &'static str {
        "softmax-last-dim-trainable"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(storage, layout, "softmax")?;
        let w = layout.dims().last().copied().unwrap_or(1).max(1);
        let y = by_rows(x.len(), w, |r, out| {
            let row = &x[r * w..(r + 1) * w];
            let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            let mut sum = 0.0;
            for (o, &v) in out.iter_mut().zip(row) {
                *o = exp(v - max);
                sum += *o;
            }
            let inv = 1.0 / sum;
            out.iter_mut().for_each(|o| *o *= inv);
        });
        Ok((CpuStorage::F32(y), layout.shape().clone()))
    }

    /// `dx = y · (g − Σ g·y)` per row.
    fn bwd(&self, _arg: &Tensor, res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let w = last_dim(res)?;
        let dx = host(res, |y| {
            host(grad, |g| {
                Ok(by_rows(y.len(), w, |r, out| {
                    let (y, g) = (&y[r * w..(r + 1) * w], &g[r * w..(r + 1) * w]);
                    let dot: f32 = y.iter().zip(g).map(|(y, g)| y * g).sum();
                    for ((o, &y), &g) in out.iter_mut().zip(y).zip(g) {
                        *o = y * (g - dot);
                    }
                }))
            })
        })?;
        Ok(Some(Tensor::from_vec(dx, res.shape(), res.device())?))
    }
}

struct LayerNorm {
    eps: f32,
}

/// Mean and `1 / √(var + eps)` of one row.
fn moments(row: &[f32], eps: f32) -> (f32, f32) {
    let n = row.len().max(1) as f32;
    let mean = row.iter().sum::<f32>() / n;
    let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
    (mean, 1.0 / (var + eps).sqrt())
}

impl CustomOp3 for LayerNorm {
    fn name(&self) -> &'static str {
        "layer-norm-trainable"
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
        let x = contiguous_f32(xs, xl, "layer norm")?;
        let (w, b) = (
            contiguous_f32(ws, wl, "layer norm")?,
            contiguous_f32(bs, bl, "layer norm")?,
        );
        let d = w.len();
        if d == 0 || b.len() != d || x.len() % d != 0 {
            candle_core::bail!(
                "layer norm: input {:?}, weight {d}, bias {}",
                xl.dims(),
                b.len()
            );
        }
        let y = by_rows(x.len(), d, |r, out| {
            let row = &x[r * d..(r + 1) * d];
            let (mean, rstd) = moments(row, self.eps);
            for (((o, &v), &w), &b) in out.iter_mut().zip(row).zip(w).zip(b) {
                *o = (v - mean) * rstd * w + b;
            }
        });
        Ok((CpuStorage::F32(y), xl.shape().clone()))
    }

    /// With `x̂` the normalised row and `h = g·weight`: `dx = rstd · (h − mean(h) − x̂ ·
    /// mean(h·x̂))`, `dweight = Σ_rows g·x̂`, `dbias = Σ_rows g`.
    fn bwd(
        &self,
        x: &Tensor,
        weight: &Tensor,
        bias: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let d = weight.elem_count();
        let x_tracked = x.track_op();
        let (dx, dw, db) = host(x, |x| {
            host(weight, |w| {
                host(grad, |g| {
                    // A constant input (the first trained layer's, under `--last-layers`)
                    // needs no gradient.
                    let dx = x_tracked.then(|| x_gradient(x, w, g, self.eps));
                    let (dw, db) = affine_gradients(x, g, d, self.eps);
                    Ok((dx, dw, db))
                })
            })
        })?;
        let (dev, wshape) = (x.device(), weight.shape());
        Ok((
            dx.map(|v| Tensor::from_vec(v, x.shape(), dev))
                .transpose()?,
            Some(Tensor::from_vec(dw, wshape, dev)?).filter(|_| weight.track_op()),
            Some(Tensor::from_vec(db, bias.shape(), dev)?).filter(|_| bias.track_op()),
        ))
    }
}

/// LayerNorm's input gradient (see [`LayerNorm::bwd`]), row by row.
fn x_gradient(x: &[f32], w: &[f32], g: &[f32], eps: f32) -> Vec<f32> {
    let d = w.len();
    by_rows(x.len(), d, |r, out| {
        let (x, g) = (&x[r * d..(r + 1) * d], &g[r * d..(r + 1) * d]);
        let (mean, rstd) = moments(x, eps);
        let (mut h_sum, mut hx_sum) = (0.0, 0.0);
        for ((&x, &g), &w) in x.iter().zip(g).zip(w) {
            let h = g * w;
            h_sum += h;
            hx_sum += h * (x - mean) * rstd;
        }
        let (h_mean, hx_mean) = (h_sum / d as f32, hx_sum / d as f32);
        for (((o, &x), &g), &w) in out.iter_mut().zip(x).zip(g).zip(w) {
            *o = rstd * (g * w - h_mean - (x - mean) * rstd * hx_mean);
        }
    })
}

/// LayerNorm's weight and bias gradients: column sums of `g·x̂` and `g`.
fn affine_gradients(x: &[f32], g: &[f32], d: usize, eps: f32) -> (Vec<f32>, Vec<f32>) {
    let (mut dw, mut db) = (vec![0f32; d], vec![0f32; d]);
    for (x, g) in x.chunks_exact(d).zip(g.chunks_exact(d)) {
        let (mean, rstd) = moments(x, eps);
        for (((dw, db), &x), &g) in dw.iter_mut().zip(db.iter_mut()).zip(x).zip(g) {
            *dw += g * (x - mean) * rstd;
            *db += g;
        }
    }
    (dw, db)
}

/// Rotary tables for `T` positions, `[T, D/2]` each, row-major.
struct Rope {
    cos: Vec<f32>,
    sin: Vec<f32>,
}

impl Rope {
    /// Rotates each pair `(i, i + D/2)` of each row of `x` `[…, T, D]` by the angle of its
    /// position; `sign` −1 rotates back (the backward pass: a rotation's transpose).
    fn rotate(&self, x: &[f32], d: usize, sign: f32) -> Vec<f32> {
        let (half, t) = (d / 2, self.cos.len() / (d / 2).max(1));
        by_rows(x.len(), d, |r, out| {
            let at = (r % t.max(1)) * half;
            let (cos, sin) = (&self.cos[at..at + half], &self.sin[at..at + half]);
            let (a, b) = x[r * d..(r + 1) * d].split_at(half);
            let (oa, ob) = out.split_at_mut(half);
            for i in 0..half {
                let s = sign * sin[i];
                oa[i] = a[i] * cos[i] - b[i] * s;
                ob[i] = b[i] * cos[i] + a[i] * s;
            }
        })
    }
}

impl CustomOp1 for Rope {
    fn name(&self) -> &'static str {
        "rope-trainable"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(storage, layout, "rope")?;
        let d = layout.dims().last().copied().unwrap_or(0);
        if d % 2 != 0 || self.cos.is_empty() || x.len() % (self.cos.len() * 2) != 0 {
            candle_core::bail!("rope: input {:?} against the tables", layout.dims());
        }
        Ok((
            CpuStorage::F32(self.rotate(x, d, 1.0)),
            layout.shape().clone(),
        ))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let d = last_dim(arg)?;
        let dx = host(grad, |g| Ok(self.rotate(g, d, -1.0)))?;
        Ok(Some(Tensor::from_vec(dx, arg.shape(), arg.device())?))
    }
}

struct RowOp {
    add: bool,
}

impl CustomOp2 for RowOp {
    fn name(&self) -> &'static str {
        "row-op-trainable"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        xl: &Layout,
        rs: &CpuStorage,
        rl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(xs, xl, "row op")?;
        let row = contiguous_f32(rs, rl, "row op")?;
        let d = row.len();
        if d == 0 || xl.dims().last() != Some(&d) {
            candle_core::bail!("row op: input {:?} against a row of {d}", xl.dims());
        }
        let y = by_rows(x.len(), d, |r, out| {
            let xs = &x[r * d..(r + 1) * d];
            let zipped = out.iter_mut().zip(xs).zip(row);
            match self.add {
                true => zipped.for_each(|((o, &x), &v)| *o = x + v),
                false => zipped.for_each(|((o, &x), &v)| *o = x * v),
            }
        });
        Ok((CpuStorage::F32(y), xl.shape().clone()))
    }

    /// add: `dx = g`, `drow = Σ_rows g`; multiply: `dx = g · row`, `drow = Σ_rows g · x`.
    fn bwd(
        &self,
        x: &Tensor,
        row: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let d = row.elem_count();
        let dx = match (x.track_op(), self.add) {
            (false, _) => None,
            (true, true) => Some(grad.clone()),
            (true, false) => Some(self.x_gradient(row, grad, d)?),
        };
        let drow = match row.track_op() {
            false => None,
            true => Some(host(grad, |g| match self.add {
                true => Ok(column_sums(g, g, d, |g, _| g)),
                false => host(x, |x| Ok(column_sums(g, x, d, |g, x| g * x))),
            })?),
        };
        let drow = drow
            .map(|v| Tensor::from_vec(v, row.shape(), row.device()))
            .transpose()?;
        Ok((dx, drow))
    }
}

impl RowOp {
    /// `g · row` for the multiply.
    fn x_gradient(&self, row: &Tensor, grad: &Tensor, d: usize) -> Result<Tensor> {
        let dx = host(row, |row| {
            host(grad, |g| {
                Ok(by_rows(g.len(), d, |r, out| {
                    let g = &g[r * d..(r + 1) * d];
                    for ((o, &g), &v) in out.iter_mut().zip(g).zip(row) {
                        *o = g * v;
                    }
                }))
            })
        })?;
        Tensor::from_vec(dx, grad.shape(), grad.device())
    }
}

/// `Σ_rows f(a, b)` over the columns of two `[rows, d]` matrices.
pub(crate) fn column_sums(a: &[f32], b: &[f32], d: usize, f: impl Fn(f32, f32) -> f32) -> Vec<f32> {
    let mut sums = vec![0f32; d];
    for (a, b) in a.chunks_exact(d).zip(b.chunks_exact(d)) {
        for ((s, &a), &b) in sums.iter_mut().zip(a).zip(b) {
            *s += f(a, b);
        }
    }
    sums
}

#[cfg(test)]
#[path = "grad_ops_tests.rs"]
pub(crate) mod tests;
