//! DNABERT-2's layers: embeddings, fused-QKV ALiBi attention, GEGLU MLP, post-LN.

use candle_core::Tensor;
use candle_nn::{Embedding, Module, VarBuilder};

use super::super::attention::{fused_applies, FusedAttention, Positions};
use super::super::gated::{gated, Gate};
use super::super::ops::{self, dense, dense_no_bias, Dense, Norm};
use super::{Batch, Config};

/// `bert.embeddings`: word embedding plus token type 0, then LayerNorm.
pub(super) struct Embeddings {
    word_embeddings: Embedding,
    /// Row 0 of `token_type_embeddings`, `[d]`: every token has type 0.
    token_type: Tensor,
    layer_norm: Norm,
}

impl Embeddings {
    pub(super) fn load(vb: VarBuilder, cfg: &Config) -> candle_core::Result<Self> {
        let word = vb.get((cfg.vocab_size, cfg.hidden_size), "word_embeddings.weight")?;
        let types = vb.get(
            (cfg.type_vocab_size, cfg.hidden_size),
            "token_type_embeddings.weight",
        )?;
        Ok(Embeddings {
            word_embeddings: Embedding::new(word, cfg.hidden_size),
            token_type: types.get(0)?,
            layer_norm: Norm::load(cfg.hidden_size, cfg.layer_norm_eps, vb.pp("LayerNorm"))?,
        })
    }

    /// Token ids `[N]` to hidden states `[N, d]`.
    pub(super) fn forward(&self, ids: &Tensor) -> candle_core::Result<Tensor> {
        let words = self.word_embeddings.forward(ids)?;
        self.layer_norm
            .forward(&words.broadcast_add(&self.token_type)?)
    }
}

/// `attention.self`: the fused `Wqkv` projection and scaled dot-product attention.
pub(super) struct SelfAttention {
    /// Output columns are `[q | k | v]`; head `h` is `h*dh..(h+1)*dh` inside each block.
    wqkv: Dense,
    heads: usize,
    head_dim: usize,
}

impl SelfAttention {
    pub(super) fn load(vb: VarBuilder, cfg: &Config) -> candle_core::Result<Self> {
        Ok(SelfAttention {
            wqkv: dense(cfg.hidden_size, 3 * cfg.hidden_size, vb.pp("Wqkv"))?,
            heads: cfg.num_attention_heads,
            head_dim: cfg.head_dim(),
        })
    }

    /// `x` `[N, d]` (the real tokens of `batch`) to the attention context `[N, d]`. Each
    /// sequence attends only to its own tokens.
    pub(super) fn forward(&self, x: &Tensor, batch: &Batch) -> candle_core::Result<Tensor> {
        let qkv = self.wqkv.forward(x)?;
        if fused_applies(&qkv) {
            let attention = FusedAttention {
                spans: &batch.spans,
                heads: self.heads,
                head_dim: self.head_dim,
                scale: (self.head_dim as f32).powf(-0.5),
                positions: Positions::Alibi(&batch.slopes),
            };
            return attention.forward(&qkv);
        }
        let contexts = batch
            .spans
            .iter()
            .map(|s| {
                let bias = batch.alibi(s.queries, qkv.device())?;
                self.attend(&qkv.narrow(0, s.start, s.queries)?, bias)
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Tensor::cat(&contexts, 0)
    }

    /// One sequence's `qkv` `[L, 3d]` with its ALiBi `bias` `[H, L, L]` to `[L, d]`.
    fn attend(&self, qkv: &Tensor, bias: &Tensor) -> candle_core::Result<Tensor> {
        let len = qkv.dim(0)?;
        // [3, H, L, dh]: one copy, then q, k and v are contiguous views of it.
        let qkv = qkv
            .reshape((len, 3, self.heads, self.head_dim))?
            .permute((1, 2, 0, 3))?
            .contiguous()?;
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        let q = (qkv.get(0)? * scale)?;
        let (k, v) = (qkv.get(1)?, qkv.get(2)?);
        let scores = q.matmul(&k.t()?)?.add(bias)?;
        let probs = ops::softmax_last_dim(&scores)?;
        let context = probs.matmul(&v)?.transpose(0, 1)?;
        context.reshape((len, self.heads * self.head_dim))
    }
}

/// A dense projection, then LayerNorm over it plus the residual (post-LN).
pub(super) struct DenseResidualNorm {
    dense: Dense,
    layer_norm: Norm,
}

impl DenseResidualNorm {
    pub(super) fn forward(&self, x: &Tensor, residual: &Tensor) -> candle_core::Result<Tensor> {
        self.layer_norm
            .forward(&(self.dense.forward(x)? + residual)?)
    }
}

/// `attention`: `self` then `output` (`dense` + `LayerNorm`).
pub(super) struct Attention {
    self_attention: SelfAttention,
    output: DenseResidualNorm,
}

impl Attention {
    pub(super) fn load(vb: VarBuilder, cfg: &Config) -> candle_core::Result<Self> {
        let out = vb.pp("output");
        Ok(Attention {
            self_attention: SelfAttention::load(vb.pp("self"), cfg)?,
            output: DenseResidualNorm {
                dense: dense(cfg.hidden_size, cfg.hidden_size, out.pp("dense"))?,
                layer_norm: Norm::load(cfg.hidden_size, cfg.layer_norm_eps, out.pp("LayerNorm"))?,
            },
        })
    }

    pub(super) fn forward(&self, x: &Tensor, batch: &Batch) -> candle_core::Result<Tensor> {
        self.output
            .forward(&self.self_attention.forward(x, batch)?, x)
    }
}

/// `mlp`: GEGLU, `wo` and LayerNorm.
pub(super) struct Mlp {
    /// No bias; output columns are `[gated | linear]`, `intermediate_size` each.
    gated_layers: Dense,
    /// `wo` + `layernorm`.
    output: DenseResidualNorm,
}

impl Mlp {
    pub(super) fn load(vb: VarBuilder, cfg: &Config) -> candle_core::Result<Self> {
        let (d, i) = (cfg.hidden_size, cfg.intermediate_size);
        Ok(Mlp {
            gated_layers: dense_no_bias(d, 2 * i, vb.pp("gated_layers"))?,
            output: DenseResidualNorm {
                dense: dense(i, d, vb.pp("wo"))?,
                layer_norm: Norm::load(d, cfg.layer_norm_eps, vb.pp("layernorm"))?,
            },
        })
    }

    pub(super) fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let g = self.gated_layers.forward(x)?;
        // The reference uses nn.GELU() (exact erf); candle's `gelu` is the tanh approximation.
        let h = gated(&g, Gate::GeluErf)?;
        self.output.forward(&h, x)
    }
}

/// `encoder.layer.{i}`.
pub(super) struct Layer {
    attention: Attention,
    mlp: Mlp,
}

impl Layer {
    pub(super) fn load(vb: VarBuilder, cfg: &Config) -> candle_core::Result<Self> {
        Ok(Layer {
            attention: Attention::load(vb.pp("attention"), cfg)?,
            mlp: Mlp::load(vb.pp("mlp"), cfg)?,
        })
    }

    pub(super) fn forward(&self, x: &Tensor, batch: &Batch) -> candle_core::Result<Tensor> {
        self.mlp.forward(&self.attention.forward(x, batch)?)
    }
}
