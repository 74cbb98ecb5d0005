//! The HyenaDNA backbone: embeddings, Hyena blocks, final LayerNorm.
//!
//! Activations are `[B, T, d]`, channels last; the reference works channels first inside the
//! operator, which only changes the layout, not the arithmetic.

use candle_core::{Module, Result, Tensor};
use candle_nn::{embedding, Embedding, VarBuilder};

use super::super::ops::{dense, Dense, Norm};
use super::act::gelu_tanh;
use super::conv::LongConv;
use super::filter::ImplicitFilter;
use super::short::ShortConv;
use super::Config;
use super::{gates, graph};

/// The blocks' `norm1`/`norm2` are `nn.LayerNorm(d_model)` with torch's default eps; only
/// `ln_f` takes `layer_norm_epsilon` from the config.
const BLOCK_NORM_EPS: f64 = 1e-5;

/// `mixer`: the order-2 Hyena operator.
pub struct HyenaOperator {
    in_proj: Dense,
    short_filter: ShortConv,
    long_conv: LongConv,
    out_proj: Dense,
    d: usize,
    /// The short filter's `weight` `[3d, 1, 3]` and `bias` as tensors, and the implicit
    /// filter itself: the differentiable path recomputes the taps from them.
    short_weight: Tensor,
    short_bias: Tensor,
    filter: ImplicitFilter,
}

impl HyenaOperator {
    /// Loads the operator and evaluates its implicit filter on the whole grid once.
    pub fn load(vb: VarBuilder, cfg: &Config) -> Result<Self> {
        let d = cfg.d_model;
        let filter = ImplicitFilter::load(vb.pp("filter_fn"), cfg)?;
        let taps: Vec<f32> = filter.taps()?.flatten_all()?.to_vec1()?;
        let short = vb.pp("short_filter");
        Ok(HyenaOperator {
            in_proj: dense(d, 3 * d, vb.pp("in_proj"))?,
            short_filter: ShortConv::load(short.clone(), 3 * d)?,
            long_conv: LongConv::new(taps, filter.bias.to_vec1()?, cfg.max_seq_len),
            out_proj: dense(d, d, vb.pp("out_proj"))?,
            d,
            short_weight: short.get((3 * d, 1, 3), "weight")?,
            short_bias: short.get(3 * d, "bias")?,
            filter,
        })
    }

    /// `h` `[B, T, d]`, `T ≤ max_seq_len`. Between the projections the work is plain loops over
    /// host memory: the convolutions and gates, each one pass. (On a GPU that is a round trip
    /// per layer: the convolutions have no device kernel here.) When `h` carries a gradient
    /// graph, the differentiable path runs instead.
    pub fn forward(&self, h: &Tensor) -> Result<Tensor> {
        if h.track_op() {
            return self.forward_graph(h);
        }
        let (batch, len) = (h.dim(0)?, h.dim(1)?);
        let u: Vec<f32> = self.in_proj.forward(h)?.flatten_all()?.to_vec1()?;
        let (x0, gated) = self.short_filter.gates(&u, batch, len);
        let mut y = self.long_conv.forward(&gated, batch, len);
        y.iter_mut().zip(&x0).for_each(|(y, x0)| *y *= x0);
        self.out_proj
            .forward(&Tensor::from_vec(y, (batch, len, self.d), h.device())?)
    }

    /// The same function in candle ops (see [`graph`]), the taps recomputed from the filter.
    fn forward_graph(&self, h: &Tensor) -> Result<Tensor> {
        let u = self.in_proj.forward(h)?;
        let uc = graph::short_conv(&u, &self.short_weight, &self.short_bias)?;
        let y = graph::long_conv(
            &gates::inner_gate(&uc)?,
            &self.filter.taps()?,
            &self.filter.bias,
        )?;
        self.out_proj.forward(&gates::outer_gate(&uc, &y)?)
    }
}

/// `mlp`: fc1, tanh-approximated GELU, fc2.
pub struct HyenaMlp {
    fc1: Dense,
    fc2: Dense,
}

impl HyenaMlp {
    pub fn load(vb: VarBuilder, cfg: &Config) -> Result<Self> {
        let inner = cfg.inner_size();
        Ok(HyenaMlp {
            fc1: dense(cfg.d_model, inner, vb.pp("fc1"))?,
            fc2: dense(inner, cfg.d_model, vb.pp("fc2"))?,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.fc2.forward(&gelu_tanh(&self.fc1.forward(x)?)?)
    }
}

/// `layers.{i}`: pre-norm residual block, mixer then MLP.
pub struct HyenaBlock {
    norm1: Norm,
    mixer: HyenaOperator,
    norm2: Norm,
    mlp: HyenaMlp,
}

impl HyenaBlock {
    pub fn load(vb: VarBuilder, cfg: &Config) -> Result<Self> {
        Ok(HyenaBlock {
            norm1: Norm::load(cfg.d_model, BLOCK_NORM_EPS, vb.pp("norm1"))?,
            mixer: HyenaOperator::load(vb.pp("mixer"), cfg)?,
            norm2: Norm::load(cfg.d_model, BLOCK_NORM_EPS, vb.pp("norm2"))?,
            mlp: HyenaMlp::load(vb.pp("mlp"), cfg)?,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = (self.mixer.forward(&self.norm1.forward(x)?)? + x)?;
        self.mlp.forward(&self.norm2.forward(&x)?)? + x
    }
}

/// `backbone`: word embeddings, the blocks, `ln_f`.
pub struct Backbone {
    embeddings: Embedding,
    layers: Vec<HyenaBlock>,
    ln_f: Norm,
}

impl Backbone {
    pub fn load(vb: VarBuilder, cfg: &Config) -> Result<Self> {
        let embeddings = embedding(
            cfg.padded_vocab_size(),
            cfg.d_model,
            vb.pp("embeddings.word_embeddings"),
        )?;
        let layers = (0..cfg.n_layer)
            .map(|i| HyenaBlock::load(vb.pp("layers").pp(i), cfg))
            .collect::<Result<_>>()?;
        let ln_f = Norm::load(cfg.d_model, cfg.layer_norm_epsilon, vb.pp("ln_f"))?;
        Ok(Backbone {
            embeddings,
            layers,
            ln_f,
        })
    }

    /// Last hidden states `[B, T, d]` for ids `[B, T]`.
    pub fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        self.forward_from(&self.embeddings.forward(ids)?, 0)
    }

    /// Layers in the stack.
    pub fn layer_count(&self) -> usize {
        self.layers.len()
    }

    /// The residual stream entering layer `n`: the embeddings, then layers `0..n`.
    pub fn hidden_before(&self, ids: &Tensor, n: usize) -> Result<Tensor> {
        let mut x = self.embeddings.forward(ids)?;
        for layer in &self.layers[..n.min(self.layers.len())] {
            x = layer.forward(&x)?;
        }
        Ok(x)
    }

    /// Last hidden states from the stream entering layer `first`: the remaining layers,
    /// then the final norm.
    pub fn forward_from(&self, x: &Tensor, first: usize) -> Result<Tensor> {
        let mut x = x.clone();
        for layer in self.layers.iter().skip(first) {
            x = layer.forward(&x)?;
        }
        self.ln_f.forward(&x)
    }
}
