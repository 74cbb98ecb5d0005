//! DNABERT-2 (the MosaicBERT layout of `zhihan1996/DNABERT-2-117M`).
//!
//! * Tokenizer: the checkpoint's BPE `tokenizer.json`, run by the `tokenizers` crate. It has
//!   no normalizer, so it is case-sensitive: lowercase bases and `N` each become one `[UNK]`.
//! * Embeddings: `LN(word[ids] + token_type[0])`. There are no position embeddings.
//! * Each layer is post-LN: ALiBi self-attention with a fused `Wqkv`, then a GEGLU MLP with
//!   exact (erf) GELU on the first half of `gated_layers`.
//! * ALiBi is rebuilt for every input length, as the reference does when an input is longer
//!   than `alibi_starting_size`; it is not a stored tensor.
//!
//! Hidden states stay flat between layers, and hold only the real tokens (`[N, d]`, see
//! [`Unpadded`]), so that every projection is one 2-D matmul that skips the padding, as the
//! reference's `unpad_input` does; attention reshapes each sequence to `[H, L, dh]`.

mod layers;

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use serde::Deserialize;
use tokenizers::Tokenizer;

use super::attention::Span;
use super::checkpoint::{read_config, weights_builder};
use super::unpad::Unpadded;
use super::LanguageModel;
use crate::{Error, Result};
use layers::{Embeddings, Layer};

/// The fields of DNABERT-2's `config.json` the forward pass needs.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// Rows of `word_embeddings`.
    pub vocab_size: usize,
    /// Width of the hidden states.
    pub hidden_size: usize,
    /// Number of encoder layers.
    pub num_hidden_layers: usize,
    /// Attention heads per layer; also fixes the ALiBi slopes.
    pub num_attention_heads: usize,
    /// Width of one GEGLU half (`gated_layers` has twice this many rows).
    pub intermediate_size: usize,
    /// Rows of `token_type_embeddings` (only row 0 is used).
    pub type_vocab_size: usize,
    /// LayerNorm epsilon (1e-12 in the real checkpoint).
    pub layer_norm_eps: f64,
    /// The longest input, in tokens, the model was built for (see [`Dnabert2::max_bases`]).
    pub max_position_embeddings: usize,
}

impl Config {
    fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
}

/// ALiBi slopes of MosaicBERT (`_get_alibi_head_slopes`): a geometric series from
/// `2^(-8/n)` for a power of two `n`; otherwise the series of the power of two below `n`,
/// followed by every other slope of the series for twice that power.
pub fn alibi_slopes(n_heads: usize) -> Vec<f32> {
    fn power_of_two(n: usize) -> Vec<f64> {
        let start = 2f64.powf(-(2f64.powf(-((n as f64).log2() - 3.0))));
        (0..n).map(|i| start * start.powf(i as f64)).collect()
    }
    let slopes = if n_heads.is_power_of_two() {
        power_of_two(n_heads)
    } else {
        let below = 1 << n_heads.ilog2();
        let mut slopes = power_of_two(below);
        slopes.extend(
            power_of_two(2 * below)
                .into_iter()
                .step_by(2)
                .take(n_heads - below),
        );
        slopes
    };
    slopes.into_iter().map(|s| s as f32).collect()
}

/// The ALiBi bias `[H, T, T]`: `-slope_h * |i - j|`, symmetric (bidirectional).
fn alibi_bias(slopes: &[f32], len: usize, device: &Device) -> candle_core::Result<Tensor> {
    let mut bias = Vec::with_capacity(slopes.len() * len * len);
    for &slope in slopes {
        for i in 0..len {
            bias.extend((0..len).map(|j| slope * -(i.abs_diff(j) as f32)));
        }
    }
    Tensor::from_vec(bias, (slopes.len(), len, len), device)
}

/// What every layer of one forward pass shares: where the real tokens are, and the ALiBi
/// slopes. Attention runs on each sequence's own tokens, so no padding mask is added: the
/// reference's `-10000` on padded keys has a softmax weight of exactly 0 in f32.
pub(super) struct Batch {
    pub(super) rows: Unpadded,
    /// Each sequence's rows of the unpadded matrix, for the fused attention.
    pub(super) spans: Vec<Span>,
    pub(super) slopes: Vec<f32>,
    /// candle's path (fine-tuning, other devices): the `[H, L, L]` bias of each length, built
    /// on first use.
    alibi: OnceCell<BTreeMap<usize, Tensor>>,
}

impl Batch {
    fn new(mask: &Tensor, slopes: &[f32]) -> candle_core::Result<Self> {
        let rows = Unpadded::new(mask)?;
        let spans = rows
            .segments()
            .filter(|&(_, len)| len > 0)
            .map(|(start, len)| Span {
                start,
                queries: len,
                keys: len,
            })
            .collect();
        Ok(Batch {
            rows,
            spans,
            slopes: slopes.to_vec(),
            alibi: OnceCell::new(),
        })
    }

    /// The `[H, len, len]` bias; `len` is the length of one of the batch's sequences.
    pub(super) fn alibi(&self, len: usize, device: &Device) -> candle_core::Result<&Tensor> {
        if self.alibi.get().is_none() {
            let map = self
                .rows
                .lengths()
                .into_iter()
                .map(|len| Ok((len, alibi_bias(&self.slopes, len, device)?)))
                .collect::<candle_core::Result<_>>()?;
            let _ = self.alibi.set(map);
        }
        let map = self.alibi.get().expect("set above");
        map.get(&len)
            .ok_or_else(|| candle_core::Error::Msg(format!("no sequence of {len} tokens")))
    }
}

/// The DNABERT-2 backbone (`bert.*`) with its tokenizer.
pub struct Dnabert2 {
    embeddings: Embeddings,
    layers: Vec<Layer>,
    slopes: Vec<f32>,
    cfg: Config,
    tokenizer: Tokenizer,
    pad_id: u32,
    device: Device,
}

impl Dnabert2 {
    /// Loads `config.json`, `tokenizer.json` and the weights (`model.safetensors` or
    /// `pytorch_model.bin`) from a checkpoint folder.
    /// The weights are constants (see [`Self::load_with`]).
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        Self::load_with(dir, device, None)
    }

    /// With `vars`, every weight is a trainable variable in that map (for fine-tuning).
    pub fn load_with(dir: &Path, device: &Device, vars: Option<&VarMap>) -> Result<Self> {
        let bad = |message: String| Error::Embedder {
            spec: dir.display().to_string(),
            message,
        };
        let cfg: Config = serde_json::from_value(read_config(dir)?)
            .map_err(|e| bad(format!("config.json is not a DNABERT-2 config: {e}")))?;
        if cfg.num_attention_heads == 0 || !cfg.hidden_size.is_multiple_of(cfg.num_attention_heads)
        {
            return Err(bad(
                "config.json: hidden_size is not a multiple of num_attention_heads".into(),
            ));
        }
        let tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| bad(format!("cannot load tokenizer.json: {e}")))?;
        let pad_id = tokenizer
            .token_to_id("[PAD]")
            .ok_or_else(|| bad("tokenizer.json has no [PAD] token".into()))?;
        let vb = backbone(weights_builder(dir, device, vars)?);
        let embeddings = Embeddings::load(vb.pp("embeddings"), &cfg).map_err(Error::model)?;
        let layers = (0..cfg.num_hidden_layers)
            .map(|i| Layer::load(vb.pp(format!("encoder.layer.{i}")), &cfg))
            .collect::<candle_core::Result<Vec<_>>>()
            .map_err(Error::model)?;
        let slopes = alibi_slopes(cfg.num_attention_heads);
        Ok(Dnabert2 {
            embeddings,
            layers,
            slopes,
            cfg,
            tokenizer,
            pad_id,
            device: device.clone(),
        })
    }

    /// Layers `0..n` over the embeddings: with every layer, the last hidden states. Only the
    /// real tokens go through the layers, as in the reference; pad rows of the output are zero.
    fn through(&self, ids: &Tensor, mask: &Tensor, n: usize) -> candle_core::Result<Tensor> {
        let batch = Batch::new(mask, &self.slopes)?;
        let x = self
            .embeddings
            .forward(&batch.rows.gather(&ids.flatten_all()?)?)?;
        let layers = &self.layers[..n.min(self.layers.len())];
        batch.rows.scatter(&run(x, layers, &batch)?)
    }

    /// Layers `first..` over the padded stream `hidden` `[B, T, d]` entering layer `first`.
    fn from(&self, hidden: &Tensor, mask: &Tensor, first: usize) -> candle_core::Result<Tensor> {
        let batch = Batch::new(mask, &self.slopes)?;
        let (b, t, d) = hidden.dims3()?;
        let x = batch.rows.gather(&hidden.reshape((b * t, d))?)?;
        let layers = &self.layers[first.min(self.layers.len())..];
        batch.rows.scatter(&run(x, layers, &batch)?)
    }
}

/// `layers` in turn over the unpadded rows `x`.
fn run(mut x: Tensor, layers: &[Layer], batch: &Batch) -> candle_core::Result<Tensor> {
    for layer in layers {
        x = layer.forward(&x, batch)?;
    }
    Ok(x)
}

/// The backbone's prefix: `bert.` in a `BertForMaskedLM` checkpoint (the real one, which
/// also holds the unused `cls.*` MLM head), none in a bare `BertModel` one.
fn backbone(vb: VarBuilder<'static>) -> VarBuilder<'static> {
    if vb.contains_tensor("bert.embeddings.word_embeddings.weight") {
        vb.pp("bert")
    } else {
        vb
    }
}

impl LanguageModel for Dnabert2 {
    fn family(&self) -> &'static str {
        "dnabert2"
    }

    fn hidden_size(&self) -> usize {
        self.cfg.hidden_size
    }

    /// Every BPE token covers at least one base (unknown characters become one `[UNK]`
    /// each), so `n` bases give at most `n + 2` tokens with `[CLS]` and `[SEP]`. ALiBi lets
    /// the model run on any length, but it was trained on at most `max_position_embeddings`
    /// tokens; this many bases never exceed that, even for a window of all `N`.
    fn max_bases(&self) -> usize {
        self.cfg.max_position_embeddings.saturating_sub(2).max(1)
    }

    fn tokenize(&self, seq: &str) -> Result<Vec<u32>> {
        let encoding = self.tokenizer.encode(seq, true).map_err(Error::model)?;
        Ok(encoding.get_ids().to_vec())
    }

    fn pad_id(&self) -> u32 {
        self.pad_id
    }

    fn forward(&self, ids: &Tensor, mask: &Tensor) -> Result<Tensor> {
        self.through(ids, mask, self.layers.len())
            .map_err(Error::model)
    }

    fn layer_count(&self) -> usize {
        self.layers.len()
    }

    fn hidden_before(&self, ids: &Tensor, mask: &Tensor, layers: usize) -> Result<Tensor> {
        self.through(ids, mask, layers).map_err(Error::model)
    }

    /// There is no final norm (the layers are post-LN): the last layer's output is the result.
    fn forward_from(&self, hidden: &Tensor, mask: &Tensor, first: usize) -> Result<Tensor> {
        self.from(hidden, mask, first).map_err(Error::model)
    }

    fn device(&self) -> &Device {
        &self.device
    }
}

#[cfg(test)]
mod tests;
