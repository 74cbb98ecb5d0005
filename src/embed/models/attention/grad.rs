//! [`FusedAttention`] with a backward pass, for fine-tuning on the CPU.
//!
//! candle's composition of attention is a dozen graph nodes per layer (per sequence for
//! DNABERT-2), several over `[B, H, T, T]` scores, each with its own passes and gradient. Here
//! the forward is [`FusedAttention`]'s, and the backward recomputes each head's probabilities
//! from `qkv` (cheaper than keeping them: one `[T, T]` buffer per thread) and writes the
//! gradients of q, k and v where the projection put them.

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};

use super::{FusedAttention, Positions, Scratch, Span};
use crate::embed::models::grad_ops::host;
use crate::embed::models::matmul::{matmul_into, View};
use crate::embed::models::parallel::{pieces_in_parallel, thread_count};

/// What [`Positions`] borrows, owned: a graph node keeps its op for the backward pass.
enum OwnedPositions {
    None,
    Alibi(Vec<f32>),
    Rotary { cos: Vec<f32>, sin: Vec<f32> },
}

/// [`FusedAttention`]'s parameters, owned, as a differentiable op.
pub(super) struct TrainableAttention {
    spans: Vec<Span>,
    heads: usize,
    head_dim: usize,
    scale: f32,
    positions: OwnedPositions,
}

impl From<&FusedAttention<'_>> for TrainableAttention {
    fn from(a: &FusedAttention<'_>) -> Self {
        TrainableAttention {
            spans: a.spans.to_vec(),
            heads: a.heads,
            head_dim: a.head_dim,
            scale: a.scale,
            positions: match a.positions {
                Positions::None => OwnedPositions::None,
                Positions::Alibi(slopes) => OwnedPositions::Alibi(slopes.to_vec()),
                Positions::Rotary { cos, sin } => OwnedPositions::Rotary {
                    cos: cos.to_vec(),
                    sin: sin.to_vec(),
                },
            },
        }
    }
}

impl TrainableAttention {
    /// The context `[N, d]` of `qkv` `[N, 3d]` (f32 on the CPU), with a gradient for `qkv`.
    pub fn forward(self, qkv: &Tensor) -> Result<Tensor> {
        qkv.contiguous()?.apply_op1(self)
    }

    fn view(&self) -> FusedAttention<'_> {
        FusedAttention {
            spans: &self.spans,
            heads: self.heads,
            head_dim: self.head_dim,
            scale: self.scale,
            positions: match &self.positions {
                OwnedPositions::None => Positions::None,
                OwnedPositions::Alibi(slopes) => Positions::Alibi(slopes),
                OwnedPositions::Rotary { cos, sin } => Positions::Rotary { cos, sin },
            },
        }
    }
}

impl CustomOp1 for TrainableAttention {
    fn name(&self) -> &'static str {
        "fused-attention-trainable"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        self.view().cpu_fwd(storage, layout)
    }

    fn bwd(&self, qkv: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let view = self.view();
        let dqkv = host(qkv, |x| host(grad, |g| Ok(view.backward(x, g))))?;
        Ok(Some(Tensor::from_vec(dqkv, qkv.shape(), qkv.device())?))
    }
}

/// Per-thread buffers of the backward pass.
#[derive(Default)]
struct GradScratch {
    forward: Scratch,
    /// `dP`, then `dS` in place.
    dp: Vec<f32>,
    /// Gradients of the rotated q and k, before turning back.
    dq: Vec<f32>,
    dk: Vec<f32>,
}

impl FusedAttention<'_> {
    /// `dqkv` `[N, 3d]` for `qkv` `[N, 3d]` and the context's gradient `g` `[N, d]`: each
    /// (span, head) pair fills its rows of a head-major `[H, N, 3·dh]` buffer (`[dq | dk |
    /// dv]` per row), transposed to `[N, 3d]` at the end. Rows outside every span get zeros.
    fn backward(&self, qkv: &[f32], g: &[f32]) -> Vec<f32> {
        let (d, dh, count) = (self.width(), self.head_dim, self.spans.len());
        let n = qkv.len() / (3 * d).max(1);
        let mut by_head = vec![0f32; n * 3 * d];
        let pieces = self.pieces(&mut by_head, n, 3 * dh);
        let work: usize = self.spans.iter().map(|s| s.queries * s.keys * d).sum();
        pieces_in_parallel(
            pieces,
            thread_count(5 * work),
            GradScratch::default,
            |scratch, tag, piece| {
                let (span, h) = (self.spans[tag % count], tag / count);
                self.head_backward(qkv, g, span, h, scratch, piece)
            },
        );
        let mut out = vec![0f32; n * 3 * d];
        for (h, block) in by_head.chunks_exact(n * 3 * dh).enumerate() {
            for (row, grads) in out.chunks_exact_mut(3 * d).zip(block.chunks_exact(3 * dh)) {
                for part in 0..3 {
                    let to = part * d + h * dh;
                    row[to..to + dh].copy_from_slice(&grads[part * dh..(part + 1) * dh]);
                }
            }
        }
        out
    }

    /// Head `h` of `span`: with `P` the probabilities and `dO` the context's gradient,
    /// `dV = Pᵀ·dO`, `dP = dO·Vᵀ`, `dS = P ∘ (dP − rowsum(dP ∘ P))`, `dQ = scale · dS·K`,
    /// `dK = scale · dSᵀ·Q` (q and k rotated; their gradients are turned back).
    fn head_backward(
        &self,
        qkv: &[f32],
        g: &[f32],
        span: Span,
        h: usize,
        scratch: &mut GradScratch,
        out: &mut [f32],
    ) {
        let (d, dh) = (self.width(), self.head_dim);
        let (nq, nk) = (span.queries, span.keys);
        let rows = &qkv[span.start * 3 * d..];
        let fwd = &mut scratch.forward;
        let q = self.operand(rows, h * dh, nq, &mut fwd.q);
        let k = self.operand(rows, d + h * dh, nk, &mut fwd.k);
        let v = View::rows(&rows[2 * d + h * dh..], nk, dh, 3 * d);
        let probs = &mut fwd.scores;
        probs.clear();
        probs.resize(nq * nk, 0.0);
        let biased = self.add_alibi(h, nk, probs);
        matmul_into(probs, nk, q, k.t(), self.scale, biased);
        probs.chunks_exact_mut(nk).for_each(super::softmax);
        let p = View::rows(probs, nq, nk, nk);
        let d_out = View::rows(&g[span.start * d + h * dh..], nq, dh, d);
        let stride = 3 * dh;
        matmul_into(&mut out[2 * dh..], stride, p.t(), d_out, 1.0, false);
        let dp = &mut scratch.dp;
        dp.clear();
        dp.resize(nq * nk, 0.0);
        matmul_into(dp, nk, d_out, v.t(), 1.0, false);
        for (ds, p) in dp.chunks_exact_mut(nk).zip(probs.chunks_exact(nk)) {
            let dot: f32 = ds.iter().zip(p).map(|(a, b)| a * b).sum();
            ds.iter_mut()
                .zip(p)
                .for_each(|(ds, &p)| *ds = p * (*ds - dot));
        }
        let ds = View::rows(dp, nq, nk, nk);
        let Positions::Rotary { cos, sin } = self.positions else {
            matmul_into(out, stride, ds, k, self.scale, false);
            matmul_into(&mut out[dh..], stride, ds.t(), q, self.scale, false);
            return;
        };
        for (buffer, a, b, rows) in [
            (&mut scratch.dq, ds, k, nq),
            (&mut scratch.dk, ds.t(), q, nk),
        ] {
            buffer.clear();
            buffer.resize(rows * dh, 0.0);
            matmul_into(buffer, dh, a, b, self.scale, false);
        }
        turn_back(&scratch.dq, cos, sin, dh, out, stride);
        turn_back(&scratch.dk, cos, sin, dh, &mut out[dh..], stride);
    }
}

/// Rows `[a | b]` of the rotated operand's gradient `grad` (`dh` wide) turned back by the
/// transpose of the rotation at each row's position, into rows `stride` apart of `out`.
fn turn_back(grad: &[f32], cos: &[f32], sin: &[f32], dh: usize, out: &mut [f32], stride: usize) {
    let half = dh / 2;
    for (p, row) in grad.chunks_exact(dh).enumerate() {
        let (c, s) = (&cos[p * half..][..half], &sin[p * half..][..half]);
        let (ga, gb) = row.split_at(half);
        let (oa, ob) = out[p * stride..][..dh].split_at_mut(half);
        for i in 0..half {
            oa[i] = ga[i] * c[i] + gb[i] * s[i];
            ob[i] = gb[i] * c[i] - ga[i] * s[i];
        }
    }
}
