//! The Hyena operator's two gates as single graph nodes, for fine-tuning on the CPU.
//!
//! The short convolution's output `uc = [x0 | x1 | v]` (last axis in thirds) is gated twice:
//! `x1 · v` enters the long convolution, `x0 · y` leaves it. candle's form is three `narrow`s
//! and two products, and the backward of each `narrow` pads its gradient with zeros to the
//! whole `uc`: three `uc`-sized buffers, each zeroed, filled and added. Here each gate reads
//! its thirds in place and writes its gradient straight into the thirds it used.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, DType, Layout, Result, Shape, Tensor};

use super::graph::split_last;
use crate::embed::models::grad_ops::{by_rows, host};
use crate::embed::models::ops::contiguous_f32;

/// `x1 · v` of `uc` `[…, 3d]`.
pub fn inner_gate(uc: &Tensor) -> Result<Tensor> {
    if !fused(uc) {
        let parts = split_last(uc, 3)?;
        return parts[1].mul(&parts[2]);
    }
    uc.contiguous()?.apply_op1(Inner)
}

/// `x0 · y` of `uc` `[…, 3d]` and `y` `[…, d]`.
pub fn outer_gate(uc: &Tensor, y: &Tensor) -> Result<Tensor> {
    if !fused(uc) {
        return split_last(uc, 3)?[0].mul(y);
    }
    uc.contiguous()?.apply_op2(&y.contiguous()?, Outer)
}

fn fused(uc: &Tensor) -> bool {
    uc.device().is_cpu() && uc.dtype() == DType::F32
}

/// The width `d` of one third of `layout`'s last axis.
fn third(layout: &Layout) -> Result<usize> {
    match layout.dims().last() {
        Some(&w) if w % 3 == 0 && w > 0 => Ok(w / 3),
        _ => candle_core::bail!("hyena gate: last axis of {:?} is not 3d", layout.dims()),
    }
}

/// Row `r`'s thirds `(x0, x1, v)` of a `[rows, 3d]` buffer.
fn thirds(uc: &[f32], r: usize, d: usize) -> (&[f32], &[f32], &[f32]) {
    let row = &uc[r * 3 * d..(r + 1) * 3 * d];
    (&row[..d], &row[d..2 * d], &row[2 * d..])
}

/// The output's shape: `uc`'s with the last axis a third.
fn gated_shape(layout: &Layout, d: usize) -> Shape {
    let mut dims = layout.dims().to_vec();
    if let Some(last) = dims.last_mut() {
        *last = d;
    }
    Shape::from(dims)
}

struct Inner;

impl CustomOp1 for Inner {
    fn name(&self) -> &'static str {
        "hyena-inner-gate"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let uc = contiguous_f32(storage, layout, "hyena gate")?;
        let d = third(layout)?;
        let out = by_rows(uc.len() / 3, d, |r, out| {
            let (_, x1, v) = thirds(uc, r, d);
            out.iter_mut()
                .zip(x1.iter().zip(v))
                .for_each(|(o, (a, b))| *o = a * b);
        });
        Ok((CpuStorage::F32(out), gated_shape(layout, d)))
    }

    /// `[0 | g·v | g·x1]`.
    fn bwd(&self, uc: &Tensor, res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let d = res.dim(candle_core::D::Minus1)?;
        let duc = host(uc, |u| {
            host(grad, |g| {
                Ok(by_rows(u.len(), 3 * d, |r, out| {
                    let ((_, x1, v), g) = (thirds(u, r, d), &g[r * d..(r + 1) * d]);
                    let (dx1, dv) = out[d..].split_at_mut(d);
                    for i in 0..d {
                        dx1[i] = g[i] * v[i];
                        dv[i] = g[i] * x1[i];
                    }
                }))
            })
        })?;
        Ok(Some(Tensor::from_vec(duc, uc.shape(), uc.device())?))
    }
}

struct Outer;

impl CustomOp2 for Outer {
    fn name(&self) -> &'static str {
        "hyena-outer-gate"
    }

    fn cpu_fwd(
        &self,
        us: &CpuStorage,
        ul: &Layout,
        ys: &CpuStorage,
        yl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (uc, y) = (
            contiguous_f32(us, ul, "hyena gate")?,
            contiguous_f32(ys, yl, "hyena gate")?,
        );
        let d = third(ul)?;
        if y.len() * 3 != uc.len() {
            candle_core::bail!("hyena gate: {:?} against {:?}", ul.dims(), yl.dims());
        }
        let out = by_rows(y.len(), d, |r, out| {
            let ((x0, _, _), y) = (thirds(uc, r, d), &y[r * d..(r + 1) * d]);
            out.iter_mut()
                .zip(x0.iter().zip(y))
                .for_each(|(o, (a, b))| *o = a * b);
        });
        Ok((CpuStorage::F32(out), gated_shape(ul, d)))
    }

    /// `duc = [g·y | 0 | 0]`, `dy = g·x0`.
    fn bwd(
        &self,
        uc: &Tensor,
        y: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let d = y.dim(candle_core::D::Minus1)?;
        let (duc, dy) = host(uc, |u| {
            host(y, |yv| {
                host(grad, |g| {
                    let duc = by_rows(u.len(), 3 * d, |r, out| {
                        let (y, g) = (&yv[r * d..(r + 1) * d], &g[r * d..(r + 1) * d]);
                        out[..d]
                            .iter_mut()
                            .zip(g.iter().zip(y))
                            .for_each(|(o, (g, y))| *o = g * y);
                    });
                    let dy = by_rows(g.len(), d, |r, out| {
                        let ((x0, _, _), g) = (thirds(u, r, d), &g[r * d..(r + 1) * d]);
                        out.iter_mut()
                            .zip(g.iter().zip(x0))
                            .for_each(|(o, (g, x))| *o = g * x);
                    });
                    Ok((duc, dy))
                })
            })
        })?;
        let dev = uc.device();
        Ok((
            Some(Tensor::from_vec(duc, uc.shape(), dev)?).filter(|_| uc.track_op()),
            Some(Tensor::from_vec(dy, y.shape(), dev)?).filter(|_| y.track_op()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var};

    use super::*;
    use crate::embed::models::ops::max_diff;

    /// Both gates, fused and composed, agree on values and on the gradients of `uc` and `y`.
    #[test]
    fn fused_gates_have_the_compositions_values_and_gradients() {
        let uc = Tensor::randn(0f32, 1.0, (2, 5, 12), &Device::Cpu).unwrap();
        let y = Tensor::randn(0f32, 1.0, (2, 5, 4), &Device::Cpu).unwrap();
        let w = Tensor::randn(0f32, 1.0, (2, 5, 4), &Device::Cpu).unwrap();
        let run = |fused: bool| {
            let (uv, yv) = (
                Var::from_tensor(&uc).unwrap(),
                Var::from_tensor(&y).unwrap(),
            );
            let (u, yt) = (uv.as_tensor(), yv.as_tensor());
            let (inner, outer) = match fused {
                true => (inner_gate(u).unwrap(), outer_gate(u, yt).unwrap()),
                false => {
                    let p = split_last(u, 3).unwrap();
                    ((&p[1] * &p[2]).unwrap(), (&p[0] * yt).unwrap())
                }
            };
            let loss = ((&inner * &w).unwrap() + (&outer * &w.cos().unwrap()).unwrap()).unwrap();
            let grads = loss.sum_all().unwrap().backward().unwrap();
            let (gu, gy) = (
                grads.get(u).unwrap().clone(),
                grads.get(yt).unwrap().clone(),
            );
            [inner, outer, gu, gy]
        };
        for (i, (a, b)) in run(true).iter().zip(&run(false)).enumerate() {
            assert_eq!(a.dims(), b.dims());
            assert!(max_diff(a, b) < 1e-6, "output {i}: {}", max_diff(a, b));
        }
    }
}
