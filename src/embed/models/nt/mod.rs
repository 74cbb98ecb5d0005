//! Nucleotide Transformer (InstaDeepAI) v1 and v2: ESM encoders over 6-mer tokens.
//!
//! * v1 is the stock `transformers` ESM (`EsmForMaskedLM`): learned absolute positions that
//!   start at 2 (fairseq), token-dropout rescaling that stays on at inference, pre-LN layers
//!   with a GELU FFN with biases.
//! * v2 is NT's own ESM code: rotary positions, pre-LN layers, a SwiGLU FFN packed in
//!   `intermediate.dense` and, in every released checkpoint, no FFN bias.
//!
//! Both end with `emb_layer_norm_after`. The version is read from config.json: only NT-v2's
//! code has the `add_bias_fnn` field, and only it uses the SwiGLU FFN. Positions follow
//! `position_embedding_type` and token dropout `token_dropout`, as in both references.

mod attention;
mod layers;
mod rotary;
mod tokenizer;

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use serde::Deserialize;

use super::checkpoint::{read_config, weights_builder};
use super::LanguageModel;
use crate::{Error, Result};
use layers::{Embeddings, Encoder};
use tokenizer::KmerTokenizer;

type CResult<T> = candle_core::Result<T>;

/// ESM's token dropout rescales embeddings by `1 - MASK_RATIO_TRAIN` (0.88) even at inference.
pub(super) const MASK_RATIO_TRAIN: f64 = 0.15 * 0.8;

/// How positions enter the model (`position_embedding_type`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PositionEmbedding {
    /// A learned table indexed by fairseq positions (v1).
    #[default]
    Absolute,
    /// Rotary embeddings on queries and keys (v2).
    Rotary,
}

/// Which NT code a checkpoint was written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// Stock ESM: GELU FFN.
    V1,
    /// NT-v2 custom code: packed SwiGLU FFN.
    V2,
}

/// The fields of config.json the forward pass uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// Rows of the word-embedding table.
    pub vocab_size: usize,
    /// Width of the hidden states.
    pub hidden_size: usize,
    /// Encoder layers.
    pub num_hidden_layers: usize,
    /// Attention heads per layer.
    pub num_attention_heads: usize,
    /// FFN width (v2: of each SwiGLU half).
    pub intermediate_size: usize,
    /// Rows of the (v1) position table.
    pub max_position_embeddings: usize,
    #[serde(default)]
    /// Absolute (v1) or rotary (v2) positions.
    pub position_embedding_type: PositionEmbedding,
    /// Epsilon of every LayerNorm.
    pub layer_norm_eps: f64,
    /// The padding id, also fairseq's position offset.
    pub pad_token_id: u32,
    /// The `<mask>` id, zeroed by token dropout.
    pub mask_token_id: u32,
    #[serde(default)]
    /// Whether embeddings get the token-dropout rescaling (v1).
    pub token_dropout: bool,
    #[serde(default)]
    /// An embedding LayerNorm; no NT checkpoint has one.
    pub emb_layer_norm_before: Option<bool>,
    /// Present only in NT-v2 configs; whether its FFN linears have biases.
    #[serde(default)]
    pub add_bias_fnn: Option<bool>,
}

impl Config {
    /// v2 exactly when the config carries NT-v2's own field.
    pub fn version(&self) -> Version {
        if self.add_bias_fnn.is_some() {
            Version::V2
        } else {
            Version::V1
        }
    }

    fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }

    /// Rejects configs this port does not compute (no NT checkpoint has them).
    fn check(&self) -> std::result::Result<(), String> {
        if self.emb_layer_norm_before == Some(true) {
            return Err("emb_layer_norm_before: true is not supported".into());
        }
        if self.num_attention_heads == 0
            || !self.hidden_size.is_multiple_of(self.num_attention_heads)
        {
            return Err("hidden_size must be a multiple of num_attention_heads".into());
        }
        if self.position_embedding_type == PositionEmbedding::Rotary
            && !self.head_dim().is_multiple_of(2)
        {
            return Err("rotary embeddings need an even head size".into());
        }
        Ok(())
    }
}

/// The longest input in tokens, `<cls>` included. v1 indexes its position table with
/// `count + pad_token_id` (fairseq), so `max_position_embeddings - pad - 1` tokens fit; v2's
/// rotary has no table, but the same bound (2048) is what it was trained on. The tokenizer's
/// `model_max_length`, when given, is the documented limit and wins if smaller.
fn max_tokens(cfg: &Config, model_max_length: Option<usize>) -> usize {
    let by_table = cfg
        .max_position_embeddings
        .saturating_sub(cfg.pad_token_id as usize + 1);
    model_max_length.map_or(by_table, |m| m.min(by_table))
}

/// `model_max_length` from tokenizer_config.json, if the file exists and states a sane one
/// (HF writes a huge sentinel when there is no limit; it does not fit a u64 and is ignored).
fn model_max_length(dir: &Path) -> Option<usize> {
    let text = std::fs::read_to_string(dir.join("tokenizer_config.json")).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    usize::try_from(value["model_max_length"].as_u64()?).ok()
}

/// `EsmForMaskedLM` saves the backbone under `esm.`; a bare `EsmModel` does not.
fn backbone(vb: VarBuilder<'static>) -> VarBuilder<'static> {
    match vb.contains_tensor("esm.embeddings.word_embeddings.weight") {
        true => vb.pp("esm"),
        false => vb,
    }
}

/// Nucleotide Transformer v1 or v2 with its 6-mer tokenizer.
pub struct NucleotideTransformer {
    config: Config,
    tokenizer: KmerTokenizer,
    embeddings: Embeddings,
    encoder: Encoder,
    max_tokens: usize,
    device: Device,
}

impl NucleotideTransformer {
    /// Loads a checkpoint folder: config.json, vocab.txt, the weights and, if present,
    /// tokenizer_config.json (for `model_max_length`).
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
        let config: Config = serde_json::from_value(read_config(dir)?)
            .map_err(|e| bad(format!("config.json: {e}")))?;
        config
            .check()
            .map_err(|m| bad(format!("config.json: {m}")))?;
        let tokenizer = KmerTokenizer::load(dir)?;
        let vb = backbone(weights_builder(dir, device, vars)?);
        let weights = |e: candle_core::Error| bad(format!("weights do not match config.json: {e}"));
        let embeddings = Embeddings::load(vb.pp("embeddings"), &config).map_err(weights)?;
        let encoder = Encoder::load(vb.pp("encoder"), &config).map_err(weights)?;
        let max_tokens = max_tokens(&config, model_max_length(dir));
        Ok(NucleotideTransformer {
            config,
            tokenizer,
            embeddings,
            encoder,
            max_tokens,
            device: device.clone(),
        })
    }

    /// Which NT code the checkpoint follows.
    pub fn version(&self) -> Version {
        self.config.version()
    }
}

impl LanguageModel for NucleotideTransformer {
    fn family(&self) -> &'static str {
        "nt"
    }

    fn hidden_size(&self) -> usize {
        self.config.hidden_size
    }

    /// A base yields at most one token (N, bases next to N and a run's tail are single
    /// tokens), so a window of `max_tokens - 1` bases plus `<cls>` never exceeds the limit.
    fn max_bases(&self) -> usize {
        self.max_tokens.saturating_sub(1).max(1)
    }

    fn tokenize(&self, seq: &str) -> Result<Vec<u32>> {
        Ok(self.tokenizer.tokenize(seq))
    }

    fn pad_id(&self) -> u32 {
        self.config.pad_token_id
    }

    fn forward(&self, ids: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let run = || -> CResult<Tensor> {
            let mask = mask.to_dtype(DType::F32)?;
            let x = self.embeddings.forward(ids, &mask)?;
            self.encoder.forward(&x, &mask)
        };
        run().map_err(Error::model)
    }

    fn layer_count(&self) -> usize {
        self.encoder.layer_count()
    }

    fn hidden_before(&self, ids: &Tensor, mask: &Tensor, layers: usize) -> Result<Tensor> {
        let run = || -> CResult<Tensor> {
            let mask = mask.to_dtype(DType::F32)?;
            let x = self.embeddings.forward(ids, &mask)?;
            self.encoder.hidden_before(&x, &mask, layers)
        };
        run().map_err(Error::model)
    }

    fn forward_from(&self, hidden: &Tensor, mask: &Tensor, first: usize) -> Result<Tensor> {
        let run = || -> CResult<Tensor> {
            let mask = mask.to_dtype(DType::F32)?;
            self.encoder.forward_from(hidden, &mask, first)
        };
        run().map_err(Error::model)
    }

    fn device(&self) -> &Device {
        &self.device
    }
}

#[cfg(test)]
mod tests;
