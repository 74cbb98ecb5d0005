//! Multi-head scaled dot-product attention of every sequence in a batch, in one CPU pass.
//!
//! candle's composition for this (copy q, k and v out of the fused projection, rotate, one
//! batched matmul, add the bias, softmax, another batched matmul, transpose back) makes a
//! tensor of `[B, H, T, T]` scores three times over, each allocated, zeroed and streamed
//! through memory, and its softmax calls libm's `expf` per score. Here each sequence and head
//! reads q, k and v where the projection put them, keeps its `[T, T]` scores in one scratch
//! buffer that stays in cache, adds positions (ALiBi or rotary) on the way, and writes its
//! context straight into the output columns of that head. Inside a gradient graph
//! (fine-tuning) the same forward runs with the backward pass of `grad`; other devices keep
//! candle's composition. All compute the same function.

use candle_core::{CpuStorage, CustomOp1, DType, Layout, Result, Shape, Tensor};

use super::fastmath::exp;
use super::matmul::{matmul_into, View};
use super::ops::contiguous_f32;
use super::parallel::{pieces_in_parallel, thread_count};

/// One sequence of the batch: rows `start .. start + queries` of the projections, attending
/// to the first `keys` of those rows (its real tokens; the rest is right padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: usize,
    pub queries: usize,
    pub keys: usize,
}

/// What token positions add to attention.
#[derive(Clone, Copy)]
pub(crate) enum Positions<'a> {
    /// Nothing (the model adds positions to its embeddings instead).
    None,
    /// ALiBi: head `h` adds `-slopes[h] · |i − j|` to the score of query `i`, key `j`.
    Alibi(&'a [f32]),
    /// Rotary embedding of queries and keys in the rotate-half form: the row at position
    /// `p` of a span (counted from its first row) turns by row `p` of `cos` and `sin`, each
    /// `[T, head_dim / 2]` row-major.
    Rotary { cos: &'a [f32], sin: &'a [f32] },
}

/// Whether [`FusedAttention::forward`] applies to `qkv`: an f32 CPU tensor (in a gradient
/// graph or not).
pub(crate) fn fused_applies(qkv: &Tensor) -> bool {
    qkv.device().is_cpu() && qkv.dtype() == DType::F32
}

/// Attention over `qkv` `[N, 3d]`, whose columns are `[q | k | v]` with head `h` at
/// `h·head_dim ..` inside each third, to the context `[N, d]`. Scores are
/// `scale · q·kᵀ + positions`; rows outside every span get zeros.
pub(crate) struct FusedAttention<'a> {
    pub spans: &'a [Span],
    pub heads: usize,
    pub head_dim: usize,
    pub scale: f32,
    pub positions: Positions<'a>,
}

/// Per-thread buffers: one head's scores, and its rotated queries and keys.
#[derive(Default)]
struct Scratch {
    scores: Vec<f32>,
    q: Vec<f32>,
    k: Vec<f32>,
}

impl FusedAttention<'_> {
    /// The context `[N, d]`; `qkv` must satisfy [`fused_applies`]. A `qkv` in a gradient graph
    /// (fine-tuning) gets the backward pass of [`grad`].
    pub fn forward(&self, qkv: &Tensor) -> Result<Tensor> {
        match qkv.track_op() {
            true => grad::TrainableAttention::from(self).forward(qkv),
            false => qkv.contiguous()?.apply_op1_no_bwd(self),
        }
    }

    fn width(&self) -> usize {
        self.heads * self.head_dim
    }

    /// Head `h` of `span`; `out` is that head's context for the span's queries, `[queries,
    /// head_dim]`.
    fn head(&self, qkv: &[f32], span: Span, h: usize, scratch: &mut Scratch, out: &mut [f32]) {
        let (d, dh) = (self.width(), self.head_dim);
        let (nq, nk) = (span.queries, span.keys);
        let rows = &qkv[span.start * 3 * d..];
        let q = self.operand(rows, h * dh, nq, &mut scratch.q);
        let k = self.operand(rows, d + h * dh, nk, &mut scratch.k);
        let v = View::rows(&rows[2 * d + h * dh..], nk, dh, 3 * d);
        let scores = &mut scratch.scores;
        scores.clear();
        scores.resize(nq * nk, 0.0);
        let biased = self.add_alibi(h, nk, scores);
        matmul_into(scores, nk, q, k.t(), self.scale, biased);
        scores.chunks_exact_mut(nk).for_each(softmax);
        let probs = View::rows(scores, nq, nk, nk);
        matmul_into(out, dh, probs, v, 1.0, false);
    }

    /// The first `n` rows of the `dh` columns at `column` of `rows` (width `3d`): in place, or
    /// rotated into `buffer` when positions are rotary.
    fn operand<'b>(
        &self,
        rows: &'b [f32],
        column: usize,
        n: usize,
        buffer: &'b mut Vec<f32>,
    ) -> View<'b> {
        let (stride, dh) = (3 * self.width(), self.head_dim);
        let Positions::Rotary { cos, sin } = self.positions else {
            return View::rows(&rows[column..], n, dh, stride);
        };
        let half = dh / 2;
        buffer.clear();
        for p in 0..n {
            let x = &rows[p * stride + column..][..dh];
            let (c, s) = (&cos[p * half..][..half], &sin[p * half..][..half]);
            let (x1, x2) = x.split_at(half);
            let turned = x1.iter().zip(x2).zip(c.iter().zip(s));
            buffer.extend(turned.clone().map(|((a, b), (c, s))| a * c - b * s));
            buffer.extend(turned.map(|((a, b), (c, s))| a * s + b * c));
        }
        View::rows(buffer, n, dh, dh)
    }

    /// Writes head `h`'s ALiBi into `scores` (rows of `keys`); whether there was any.
    fn add_alibi(&self, h: usize, keys: usize, scores: &mut [f32]) -> bool {
        let Positions::Alibi(slopes) = self.positions else {
            return false;
        };
        let slope = slopes[h];
        for (i, row) in scores.chunks_exact_mut(keys).enumerate() {
            for (j, s) in row.iter_mut().enumerate() {
                *s = slope * -(i.abs_diff(j) as f32);
            }
        }
        true
    }
}

/// Softmax of one row of scores, in place.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+fma", "x86_64+avx2+fma"))]
fn softmax(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    row.iter_mut().for_each(|s| *s = exp(*s - max));
    let scale = 1.0 / row.iter().sum::<f32>();
    row.iter_mut().for_each(|s| *s *= scale);
}

impl CustomOp1 for FusedAttention<'_> {
    fn name(&self) -> &'static str {
        "fused-attention"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let qkv = contiguous_f32(storage, layout, "fused-attention")?;
        let (n, width) = layout.shape().dims2()?;
        let d = self.width();
        if width != 3 * d {
            candle_core::bail!("fused-attention: input width {width}, expected {}", 3 * d);
        }
        self.check_spans(n)?;
        // Head-major `[H, N, dh]`, so that every (span, head) pair owns one contiguous piece
        // and all pairs can run in parallel; transposed to `[N, d]` at the end.
        let (dh, count) = (self.head_dim, self.spans.len());
        let mut by_head = vec![0f32; n * d];
        let pieces = self.pieces(&mut by_head, n, dh);
        let work: usize = self.spans.iter().map(|s| s.queries * s.keys * d).sum();
        pieces_in_parallel(
            pieces,
            thread_count(2 * work),
            Scratch::default,
            |scratch, tag, piece| {
                self.head(qkv, self.spans[tag % count], tag / count, scratch, piece)
            },
        );
        let mut out = vec![0f32; n * d];
        for (h, block) in by_head.chunks_exact(n * dh).enumerate() {
            for (row, context) in out.chunks_exact_mut(d).zip(block.chunks_exact(dh)) {
                row[h * dh..(h + 1) * dh].copy_from_slice(context);
            }
        }
        Ok((CpuStorage::F32(out), Shape::from((n, d))))
    }
}

impl FusedAttention<'_> {
    /// A head-major buffer `[H, n, row]` cut into one piece per (span, head) pair, tagged
    /// `h · spans + i`: the span's rows of that head's block. Rows outside every span are in
    /// no piece.
    fn pieces<'b>(
        &self,
        buffer: &'b mut [f32],
        n: usize,
        row: usize,
    ) -> Vec<(usize, &'b mut [f32])> {
        let count = self.spans.len();
        let mut pieces = Vec::with_capacity(self.heads * count);
        for (h, block) in buffer.chunks_exact_mut(n * row).enumerate() {
            let (mut rest, mut at) = (block, 0);
            for (i, span) in self.spans.iter().enumerate() {
                let (_, tail) = rest.split_at_mut((span.start - at) * row);
                let (piece, tail) = tail.split_at_mut(span.queries * row);
                pieces.push((h * count + i, piece));
                (rest, at) = (tail, span.start + span.queries);
            }
        }
        pieces
    }

    /// Spans must be in order, disjoint, inside the `n` rows, with `1 ≤ keys ≤ queries`, and
    /// rotary tables must cover the longest span.
    fn check_spans(&self, n: usize) -> Result<()> {
        let mut end = 0;
        for s in self.spans {
            if s.start < end || s.start + s.queries > n || s.keys == 0 || s.keys > s.queries {
                candle_core::bail!("fused-attention: bad span {s:?} for {n} rows");
            }
            end = s.start + s.queries;
        }
        let longest = self.spans.iter().map(|s| s.queries).max().unwrap_or(0);
        match self.positions {
            Positions::Rotary { cos, sin }
                if cos.len().min(sin.len()) < longest * self.head_dim / 2 =>
            {
                candle_core::bail!("fused-attention: rotary tables shorter than {longest} rows")
            }
            Positions::Alibi(slopes) if slopes.len() < self.heads => {
                candle_core::bail!(
                    "fused-attention: {} ALiBi slopes for {} heads",
                    slopes.len(),
                    self.heads
                )
            }
            _ => Ok(()),
        }
    }
}

mod grad;

#[cfg(test)]
mod tests;
