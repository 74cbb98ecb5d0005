//! NT's layers: embeddings with token dropout and positions, the FFN, the pre-LN layer and
//! the encoder stack (attention is in `attention`).

use candle_core::{DType, Module, Tensor};
use candle_nn::{Embedding, VarBuilder};

use super::super::gated::{gated, Gate};
use super::super::ops::{dense, dense_no_bias, Dense, Norm};
use super::attention::{Attention, Batch};
use super::rotary::Rotary;
use super::{Config, PositionEmbedding, Version, MASK_RATIO_TRAIN};

type CResult<T> = candle_core::Result<T>;

/// fairseq positions: the n-th non-pad token gets `pad + n`, pads get `pad` (so `<cls>` is 2).
pub(super) fn fairseq_positions(row: &[u32], pad: u32) -> impl Iterator<Item = u32> + '_ {
    let mut seen = 0;
    row.iter().map(move |&id| {
        if id == pad {
            pad
        } else {
            seen += 1;
            pad + seen
        }
    })
}

/// Word embeddings, token dropout and (v1) learned positions.
pub(super) struct Embeddings {
    word_embeddings: Embedding,
    position_embeddings: Option<Embedding>,
    token_dropout: bool,
    pad_id: u32,
    mask_id: u32,
}

impl Embeddings {
    pub(super) fn load(vb: VarBuilder, cfg: &Config) -> CResult<Self> {
        let d = cfg.hidden_size;
        let word_embeddings = candle_nn::embedding(cfg.vocab_size, d, vb.pp("word_embeddings"))?;
        let position_embeddings = match cfg.position_embedding_type {
            PositionEmbedding::Absolute => Some(candle_nn::embedding(
                cfg.max_position_embeddings,
                d,
                vb.pp("position_embeddings"),
            )?),
            // v2 checkpoints may carry an unused table; it is not read.
            PositionEmbedding::Rotary => None,
        };
        Ok(Embeddings {
            word_embeddings,
            position_embeddings,
            token_dropout: cfg.token_dropout,
            pad_id: cfg.pad_token_id,
            mask_id: cfg.mask_token_id,
        })
    }

    /// `[B, T, d]`, zero on padded positions.
    pub(super) fn forward(&self, ids: &Tensor, mask: &Tensor) -> CResult<Tensor> {
        let mut x = self.word_embeddings.forward(ids)?;
        if self.token_dropout {
            x = self.drop_tokens(&x, ids, mask)?;
        }
        if let Some(table) = &self.position_embeddings {
            x = (x + table.forward(&self.positions(ids, table)?)?)?;
        }
        x.broadcast_mul(&mask.unsqueeze(2)?)
    }

    /// Zeroes `<mask>` embeddings and scales by `0.88 / (1 - masked share of real tokens)`;
    /// with no `<mask>` in the input (as always from [`KmerTokenizer`]) this is `x * 0.88`.
    pub(super) fn drop_tokens(&self, x: &Tensor, ids: &Tensor, mask: &Tensor) -> CResult<Tensor> {
        let is_mask = ids.eq(self.mask_id)?.to_dtype(DType::F32)?;
        let observed = (is_mask.sum_keepdim(1)? / mask.sum_keepdim(1)?)?;
        let scale = ((1.0 - observed)?.recip()? * (1.0 - MASK_RATIO_TRAIN))?;
        let keep = (1.0 - is_mask)?.broadcast_mul(&scale)?;
        x.broadcast_mul(&keep.unsqueeze(2)?)
    }

    /// Position ids `[B, T]` for the table; errors instead of indexing past it.
    pub(super) fn positions(&self, ids: &Tensor, table: &Embedding) -> CResult<Tensor> {
        let rows = ids.to_vec2::<u32>()?;
        let pos: Vec<u32> = rows
            .iter()
            .flat_map(|r| fairseq_positions(r, self.pad_id))
            .collect();
        let rows_in_table = table.embeddings().dim(0)?;
        if let Some(&p) = pos.iter().max().filter(|&&p| p as usize >= rows_in_table) {
            candle_core::bail!(
                "input of {} tokens needs position {p}, but the table has {rows_in_table} rows",
                ids.dim(1)?
            );
        }
        Tensor::from_vec(pos, ids.shape(), ids.device())
    }
}

/// The FFN after `LayerNorm`, without its residual.
pub(super) enum FeedForward {
    /// v1: `output.dense(gelu_erf(intermediate.dense(h)))`.
    Gelu { intermediate: Dense, output: Dense },
    /// v2: `intermediate.dense` gives `[u1 | u2]`; `output.dense(silu(u1) * u2)`.
    SwiGlu { intermediate: Dense, output: Dense },
}

impl FeedForward {
    pub(super) fn load(vb: VarBuilder, cfg: &Config) -> CResult<Self> {
        let (d, width) = (cfg.hidden_size, cfg.intermediate_size);
        let linear = |i: usize, o: usize, vb: VarBuilder| match cfg.add_bias_fnn.unwrap_or(true) {
            true => dense(i, o, vb),
            false => dense_no_bias(i, o, vb),
        };
        let output = linear(width, d, vb.pp("output").pp("dense"))?;
        let vb = vb.pp("intermediate").pp("dense");
        Ok(match cfg.version() {
            Version::V1 => FeedForward::Gelu {
                intermediate: linear(d, width, vb)?,
                output,
            },
            Version::V2 => FeedForward::SwiGlu {
                intermediate: linear(d, 2 * width, vb)?,
                output,
            },
        })
    }

    pub(super) fn forward(&self, h: &Tensor) -> CResult<Tensor> {
        match self {
            FeedForward::Gelu {
                intermediate,
                output,
            } => output.forward(&intermediate.forward(h)?.gelu_erf()?),
            FeedForward::SwiGlu {
                intermediate,
                output,
            } => output.forward(&gated(&intermediate.forward(h)?, Gate::Silu)?),
        }
    }
}

/// One pre-LN encoder layer.
pub(super) struct Layer {
    attention: Attention,
    layer_norm: Norm,
    feed_forward: FeedForward,
}

impl Layer {
    pub(super) fn load(vb: VarBuilder, cfg: &Config) -> CResult<Self> {
        Ok(Layer {
            attention: Attention::load(vb.pp("attention"), cfg)?,
            layer_norm: Norm::load(cfg.hidden_size, cfg.layer_norm_eps, vb.pp("LayerNorm"))?,
            feed_forward: FeedForward::load(vb, cfg)?,
        })
    }

    pub(super) fn forward(&self, x: &Tensor, batch: &Batch) -> CResult<Tensor> {
        let x = self.attention.forward(x, batch)?;
        &x + self.feed_forward.forward(&self.layer_norm.forward(&x)?)?
    }
}

/// The layers and the final `emb_layer_norm_after`.
pub(super) struct Encoder {
    layers: Vec<Layer>,
    emb_layer_norm_after: Norm,
    rotary: bool,
    head_dim: usize,
}

impl Encoder {
    pub(super) fn load(vb: VarBuilder, cfg: &Config) -> CResult<Self> {
        let layers = (0..cfg.num_hidden_layers)
            .map(|i| Layer::load(vb.pp("layer").pp(i), cfg))
            .collect::<CResult<_>>()?;
        let norm = Norm::load(
            cfg.hidden_size,
            cfg.layer_norm_eps,
            vb.pp("emb_layer_norm_after"),
        )?;
        Ok(Encoder {
            layers,
            emb_layer_norm_after: norm,
            rotary: cfg.position_embedding_type == PositionEmbedding::Rotary,
            head_dim: cfg.head_dim(),
        })
    }

    pub(super) fn forward(&self, x: &Tensor, mask: &Tensor) -> CResult<Tensor> {
        self.forward_from(x, mask, 0)
    }

    pub(super) fn layer_count(&self) -> usize {
        self.layers.len()
    }

    /// The residual stream entering layer `n`: layers `0..n` over the embeddings `x`.
    pub(super) fn hidden_before(&self, x: &Tensor, mask: &Tensor, n: usize) -> CResult<Tensor> {
        self.run(x, mask, &self.layers[..n.min(self.layers.len())])
    }

    /// Layers `first..` over the stream `x` entering layer `first`, then the final norm.
    pub(super) fn forward_from(&self, x: &Tensor, mask: &Tensor, first: usize) -> CResult<Tensor> {
        let rest = &self.layers[first.min(self.layers.len())..];
        self.emb_layer_norm_after.forward(&self.run(x, mask, rest)?)
    }

    fn run(&self, x: &Tensor, mask: &Tensor, layers: &[Layer]) -> CResult<Tensor> {
        let rotary = match self.rotary {
            true => Some(Rotary::new(x.dim(1)?, self.head_dim, x.device())?),
            false => None,
        };
        let batch = Batch::new(mask, rotary)?;
        let mut x = x.clone();
        for layer in layers {
            x = layer.forward(&x, &batch)?;
        }
        Ok(x)
    }
}
