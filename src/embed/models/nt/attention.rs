//! NT's self-attention: the key mask, the per-batch state every layer shares, the QKV
//! projection and pre-LN attention with its residual (fused on the CPU, else candle's
//! composition).

use candle_core::{DType, Module, Tensor};
use candle_nn::VarBuilder;

use super::super::attention::{fused_applies, FusedAttention, Positions, Span};
use super::super::ops::{self, dense, Dense, Norm};
use super::rotary::Rotary;
use super::Config;

type CResult<T> = candle_core::Result<T>;

/// Additive key mask `[B, 1, 1, T]`: 0 on real tokens, `f32::MIN` on pads, as the reference.
/// Every row has a real key (`<cls>`), so softmax never sees a fully masked row.
pub(super) fn attention_bias(mask: &Tensor) -> CResult<Tensor> {
    (1.0 - mask)?
        .affine(f32::MIN as f64, 0.0)?
        .unsqueeze(1)?
        .unsqueeze(1)
}

/// One span per batch row for the fused attention (all `T` queries, the row's real keys),
/// when every row of the `[B, T]` mask is right padding (as `pad_batch` makes it): ones, then
/// zeros, at least one one. `None` for any other pattern, which candle's path handles.
pub(super) fn key_spans(mask: &Tensor) -> CResult<Option<Vec<Span>>> {
    let rows = mask.to_dtype(DType::F32)?.to_vec2::<f32>()?;
    let mut spans = Vec::with_capacity(rows.len());
    for (b, row) in rows.iter().enumerate() {
        let keys = row.iter().take_while(|&&m| m != 0.0).count();
        if keys == 0 || row[keys..].iter().any(|&m| m != 0.0) {
            return Ok(None);
        }
        spans.push(Span {
            start: b * row.len(),
            queries: row.len(),
            keys,
        });
    }
    Ok(Some(spans))
}

/// What every layer of one forward pass shares.
pub(super) struct Batch {
    /// The additive key mask, for candle's path.
    bias: Tensor,
    rotary: Option<Rotary>,
    /// The fused attention's spans (see [`key_spans`]).
    spans: Option<Vec<Span>>,
}

impl Batch {
    /// For the `[B, T]` mask, with the rotary tables when the model has them.
    pub(super) fn new(mask: &Tensor, rotary: Option<Rotary>) -> CResult<Self> {
        Ok(Batch {
            bias: attention_bias(mask)?,
            rotary,
            spans: key_spans(mask)?,
        })
    }
}

/// `query`, `key` and `value` as one `[3d, d]` matmul. The query part is scaled by
/// `head_dim^-0.5`, which the reference applies to the query before rotary (the two commute,
/// and for power-of-two head sizes the scaling is exact).
enum Qkv {
    /// Constant weights: stacked and scaled once, at load.
    Fused(Dense),
    /// Trainable weights (fine-tuning): the variables themselves (weight, bias per
    /// projection), stacked at each forward so that the optimiser's in-place updates are read.
    Trainable {
        parts: Vec<(Tensor, Tensor)>,
        q_scale: f64,
    },
}

impl Qkv {
    fn load(vb: VarBuilder, cfg: &Config) -> CResult<Self> {
        let d = cfg.hidden_size;
        let parts = ["query", "key", "value"]
            .into_iter()
            .map(|name| {
                Ok((
                    vb.pp(name).get((d, d), "weight")?,
                    vb.pp(name).get(d, "bias")?,
                ))
            })
            .collect::<CResult<Vec<_>>>()?;
        let q_scale = (cfg.head_dim() as f64).powf(-0.5);
        Ok(match parts[0].0.track_op() {
            true => Qkv::Trainable { parts, q_scale },
            false => Qkv::Fused(stack(&parts, q_scale)?),
        })
    }

    fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        match self {
            Qkv::Fused(fused) => fused.forward(x),
            Qkv::Trainable { parts, q_scale } => stack(parts, *q_scale)?.forward(x),
        }
    }
}

/// `[q_scale·Wq; Wk; Wv]` and the biases alike, as one layer.
fn stack(parts: &[(Tensor, Tensor)], q_scale: f64) -> CResult<Dense> {
    let (mut w, mut b) = (Vec::new(), Vec::new());
    for (i, (wi, bi)) in parts.iter().enumerate() {
        // Only the query is scaled: an affine by 1 would be one more weight-sized copy, and
        // one more graph node, at every fine-tuning step.
        match i {
            0 => {
                w.push(wi.affine(q_scale, 0.0)?);
                b.push(bi.affine(q_scale, 0.0)?);
            }
            _ => {
                w.push(wi.clone());
                b.push(bi.clone());
            }
        }
    }
    Dense::new(Tensor::cat(&w, 0)?, Some(Tensor::cat(&b, 0)?))
}

/// Pre-LN self-attention with its residual.
pub(super) struct Attention {
    layer_norm: Norm,
    qkv: Qkv,
    output: Dense,
    heads: usize,
    head_dim: usize,
}

impl Attention {
    pub(super) fn load(vb: VarBuilder, cfg: &Config) -> CResult<Self> {
        let d = cfg.hidden_size;
        Ok(Attention {
            layer_norm: Norm::load(d, cfg.layer_norm_eps, vb.pp("LayerNorm"))?,
            qkv: Qkv::load(vb.pp("self"), cfg)?,
            output: dense(d, d, vb.pp("output").pp("dense"))?,
            heads: cfg.num_attention_heads,
            head_dim: cfg.head_dim(),
        })
    }

    /// `x + Wo·softmax(q·kᵀ + bias)·v` over heads: fused when it applies, else batched as
    /// `[B, H, T, head_dim]` matmuls.
    pub(super) fn forward(&self, x: &Tensor, batch: &Batch) -> CResult<Tensor> {
        let (b, t, d) = x.dims3()?;
        let qkv = self.qkv.forward(&self.layer_norm.forward(x)?)?;
        let context = match &batch.spans {
            Some(spans) if fused_applies(&qkv) => {
                let attention = FusedAttention {
                    spans,
                    heads: self.heads,
                    head_dim: self.head_dim,
                    // The query weights are pre-scaled (see `Qkv`).
                    scale: 1.0,
                    positions: batch
                        .rotary
                        .as_ref()
                        .map_or(Positions::None, Rotary::positions),
                };
                attention
                    .forward(&qkv.reshape((b * t, 3 * d))?)?
                    .reshape((b, t, d))?
            }
            _ => self.composed(&qkv, batch)?,
        };
        x + self.output.forward(&context)?
    }

    /// candle's composition of attention: `qkv` `[B, T, 3d]` to the context `[B, T, d]`.
    fn composed(&self, qkv: &Tensor, batch: &Batch) -> CResult<Tensor> {
        let (b, t, width) = qkv.dims3()?;
        let qkv = qkv
            .reshape((b, t, 3, self.heads, self.head_dim))?
            .permute((2, 0, 3, 1, 4))?;
        let (mut q, mut k) = (qkv.get(0)?.contiguous()?, qkv.get(1)?.contiguous()?);
        let v = qkv.get(2)?.contiguous()?;
        if let Some(rotary) = &batch.rotary {
            q = rotary.apply(&q)?;
            k = rotary.apply(&k)?;
        }
        let scores = q.matmul(&k.t()?)?.broadcast_add(&batch.bias)?;
        let probs = ops::softmax_last_dim(&scores)?;
        probs
            .matmul(&v)?
            .transpose(1, 2)?
            .reshape((b, t, width / 3))
    }
}
