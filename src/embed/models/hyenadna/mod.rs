//! HyenaDNA (the `-hf` port of HazyResearch's code) on candle.
//!
//! Each block is pre-norm: `x += out_proj(x0 · longconv_k(x1 · v))` where `x0, x1, v` come from
//! `in_proj` followed by a causal depthwise short convolution, then `x += mlp(norm2(x))`;
//! `ln_f` closes the stack. The long filter `k` is implicit (an MLP of position, see
//! [`filter`]); the long convolution runs directly or through an FFT (see [`conv`]). The model
//! is causal and takes no attention mask, so right padding leaves real tokens unchanged.
//!
//! Checkpoints: `model.safetensors` or pickle `pytorch_model.bin`, with keys under
//! `hyena.backbone.` (saved from `HyenaDNAForCausalLM`) or `backbone.` (from the bare
//! `HyenaDNAModel`). The three sine layers share one `freq`; only `implicit_filter.1.freq`
//! is read, because safetensors drops the aliases.

mod act;
mod block;
mod conv;
mod fftconv;
mod filter;
mod gates;
mod graph;
mod short;
mod tokenizer;

use std::path::Path;

use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use serde::Deserialize;

use super::checkpoint::weights_builder;
use super::{read_config, LanguageModel};
use crate::{Error, Result};
use block::Backbone;
use tokenizer::CharTokenizer;

/// Key prefixes of the backbone, tried in order.
const PREFIXES: [&str; 2] = ["hyena.backbone", "backbone"];

/// `config.json` (`HyenaConfig`); defaults are those of `configuration_hyena.py`.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// Width of the residual stream and of the embeddings.
    #[serde(default = "defaults::d_model")]
    pub d_model: usize,
    /// Number of Hyena blocks.
    #[serde(default = "defaults::n_layer")]
    pub n_layer: usize,
    /// Width of the MLP; `4 · d_model` when absent.
    #[serde(default)]
    pub d_inner: Option<usize>,
    /// Tokenizer vocabulary size (before padding the embedding table).
    #[serde(default = "defaults::vocab_size")]
    pub vocab_size: usize,
    /// The embedding table has a multiple of this many rows.
    #[serde(default = "defaults::pad_vocab_size_multiple")]
    pub pad_vocab_size_multiple: usize,
    /// Length of the filter grid, and the longest input in tokens.
    #[serde(default = "defaults::max_seq_len")]
    pub max_seq_len: usize,
    /// Width of the filter's positional embedding `z`: `t`, then cosine and sine bands.
    #[serde(default = "defaults::emb_dim")]
    pub emb_dim: usize,
    /// Width of the filter MLP.
    #[serde(default = "defaults::filter_order")]
    pub filter_order: usize,
    /// Hidden layers of the filter MLP after the first.
    #[serde(default = "defaults::num_inner_mlps")]
    pub num_inner_mlps: usize,
    /// Depth of the Hyena recurrence; only 2 is supported.
    #[serde(default = "defaults::hyena_order")]
    pub hyena_order: usize,
    /// Kernel of the short depthwise convolution; only 3 is supported.
    #[serde(default = "defaults::short_filter_order")]
    pub short_filter_order: usize,
    /// The sine frequency when `train_freq` is false (else it is a stored parameter).
    #[serde(default = "defaults::activation_freq")]
    pub activation_freq: f64,
    /// Whether the sine frequency is a trained parameter.
    #[serde(default = "defaults::yes")]
    pub train_freq: bool,
    /// Epsilon of `ln_f`.
    #[serde(default = "defaults::layer_norm_epsilon")]
    pub layer_norm_epsilon: f64,
}

mod defaults {
    pub fn d_model() -> usize {
        256
    }
    pub fn n_layer() -> usize {
        12
    }
    pub fn vocab_size() -> usize {
        12
    }
    pub fn pad_vocab_size_multiple() -> usize {
        8
    }
    pub fn max_seq_len() -> usize {
        1024
    }
    pub fn emb_dim() -> usize {
        3
    }
    pub fn filter_order() -> usize {
        64
    }
    pub fn num_inner_mlps() -> usize {
        2
    }
    pub fn hyena_order() -> usize {
        2
    }
    pub fn short_filter_order() -> usize {
        3
    }
    pub fn activation_freq() -> f64 {
        1.0
    }
    pub fn yes() -> bool {
        true
    }
    pub fn layer_norm_epsilon() -> f64 {
        1e-5
    }
}

impl Config {
    /// The MLP width.
    pub fn inner_size(&self) -> usize {
        self.d_inner.unwrap_or(4 * self.d_model)
    }

    /// Rows of the embedding table: `vocab_size` rounded up to `pad_vocab_size_multiple`.
    pub fn padded_vocab_size(&self) -> usize {
        self.vocab_size
            .next_multiple_of(self.pad_vocab_size_multiple.max(1))
    }

    /// What this port supports (and the reference's own assertions).
    fn check(&self) -> std::result::Result<(), String> {
        if self.hyena_order != 2 {
            return Err(format!(
                "hyena_order {} is not supported (only 2, as in every released model)",
                self.hyena_order
            ));
        }
        if self.short_filter_order != 3 {
            // The reference pads by 2 whatever the kernel, so only kernel 3 is causal.
            return Err(format!(
                "short_filter_order {} is not supported (only 3)",
                self.short_filter_order
            ));
        }
        if self.emb_dim < 3 || self.emb_dim.is_multiple_of(2) {
            return Err(format!(
                "emb_dim {} must be odd and at least 3",
                self.emb_dim
            ));
        }
        if self.max_seq_len < 2 {
            return Err(format!(
                "max_seq_len {} leaves no room for a base and [SEP]",
                self.max_seq_len
            ));
        }
        Ok(())
    }

    #[cfg(test)]
    fn tiny_for_tests() -> Self {
        serde_json::from_str(
            r#"{"d_model": 8, "n_layer": 1, "filter_order": 6, "emb_dim": 5, "max_seq_len": 40}"#,
        )
        .expect("a valid config")
    }
}

/// A HyenaDNA checkpoint with its character tokenizer.
pub struct HyenaDna {
    cfg: Config,
    backbone: Backbone,
    tokenizer: CharTokenizer,
    device: Device,
}

impl HyenaDna {
    /// Loads `dir`: `config.json`, the weights, and `vocab.json` (the built-in vocabulary of
    /// `tokenization_hyena.py` when absent, as in the `-hf` repos).
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
            .map_err(|e| bad(format!("config.json is not a HyenaDNA config: {e}")))?;
        cfg.check().map_err(bad)?;
        let vb = weights_builder(dir, device, vars)?;
        let prefix = PREFIXES
            .into_iter()
            .find(|p| vb.contains_tensor(&format!("{p}.embeddings.word_embeddings.weight")))
            .ok_or_else(|| {
                bad(format!(
                    "no weights under {}",
                    PREFIXES.map(|p| format!("{p}.")).join(" or ")
                ))
            })?;
        let backbone = Backbone::load(vb.pp(prefix), &cfg)
            .map_err(|e| bad(format!("weights do not match config.json: {e}")))?;
        let tokenizer = CharTokenizer::load(dir)?;
        Ok(HyenaDna {
            cfg,
            backbone,
            tokenizer,
            device: device.clone(),
        })
    }
}

impl HyenaDna {
    /// Inputs past `max_seq_len` tokens are refused: the filter is only defined up to it.
    fn check_len(&self, len: usize) -> Result<()> {
        if len > self.cfg.max_seq_len {
            return Err(Error::InvalidArgument {
                what: "hyenadna input".into(),
                message: format!(
                    "{len} tokens, but the model takes at most max_seq_len = {}",
                    self.cfg.max_seq_len
                ),
            });
        }
        Ok(())
    }
}

impl LanguageModel for HyenaDna {
    fn family(&self) -> &'static str {
        "hyenadna"
    }

    fn hidden_size(&self) -> usize {
        self.cfg.d_model
    }

    /// `max_seq_len - 1`: the tokenizer appends `[SEP]`, and the filter grid, so the longest
    /// input the reference accepts, is `max_seq_len` tokens.
    fn max_bases(&self) -> usize {
        self.cfg.max_seq_len - 1
    }

    fn tokenize(&self, seq: &str) -> Result<Vec<u32>> {
        Ok(self.tokenizer.encode(seq))
    }

    fn pad_id(&self) -> u32 {
        self.tokenizer.pad_id()
    }

    /// The mask is not used: the model is causal, so pads on the right never reach real tokens.
    fn forward(&self, ids: &Tensor, _mask: &Tensor) -> Result<Tensor> {
        self.check_len(ids.dim(1).map_err(Error::model)?)?;
        self.backbone.forward(ids).map_err(Error::model)
    }

    fn layer_count(&self) -> usize {
        self.backbone.layer_count()
    }

    fn hidden_before(&self, ids: &Tensor, _mask: &Tensor, layers: usize) -> Result<Tensor> {
        self.check_len(ids.dim(1).map_err(Error::model)?)?;
        self.backbone
            .hidden_before(ids, layers)
            .map_err(Error::model)
    }

    fn forward_from(&self, hidden: &Tensor, _mask: &Tensor, first: usize) -> Result<Tensor> {
        self.check_len(hidden.dim(1).map_err(Error::model)?)?;
        self.backbone
            .forward_from(hidden, first)
            .map_err(Error::model)
    }

    fn device(&self) -> &Device {
        &self.device
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use candle_core::DType;

    use super::tokenizer::CharTokenizer;
    use super::*;
    use crate::embed::models::{fixture, Family, ModelEmbedder};

    #[test]
    fn tokenizer_maps_characters_and_appends_sep() {
        let tok = CharTokenizer::builtin();
        assert_eq!(tok.encode("ACGTN"), vec![7, 8, 9, 10, 11, 1]);
        assert_eq!(tok.encode(""), vec![1]);
        // Lowercase, IUPAC codes, and non-ASCII are [UNK], one per character.
        assert_eq!(tok.encode("acgtRY"), vec![6, 6, 6, 6, 6, 6, 1]);
        assert_eq!(tok.encode("Aé[SEP]"), vec![7, 6, 6, 6, 6, 6, 6, 1]);
        assert_eq!(tok.pad_id(), 4);
    }

    #[test]
    fn vocab_json_overrides_the_builtin_vocabulary() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("vocab.json"),
            r#"{"[SEP]": 3, "[UNK]": 0, "[PAD]": 1, "A": 5, "[CLS]": 9}"#,
        )
        .unwrap();
        let tok = CharTokenizer::load(dir.path()).unwrap();
        assert_eq!((tok.encode("AC"), tok.pad_id()), (vec![5, 0, 3], 1));
        std::fs::write(dir.path().join("vocab.json"), r#"{"A": 5}"#).unwrap();
        assert!(
            CharTokenizer::load(dir.path()).is_err(),
            "special tokens are required"
        );
    }

    #[test]
    fn config_defaults_and_checks() {
        let cfg = Config::tiny_for_tests();
        assert_eq!(
            (cfg.inner_size(), cfg.padded_vocab_size(), cfg.hyena_order),
            (32, 16, 2)
        );
        assert!(cfg.check().is_ok());
        let odd: Config = serde_json::from_str(r#"{"hyena_order": 3}"#).unwrap();
        assert!(odd.check().is_err());
    }

    #[test]
    fn weights_without_a_backbone_are_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"model_type": "hyenadna", "d_model": 8}"#,
        )
        .unwrap();
        let stray = Tensor::zeros(4, DType::F32, &Device::Cpu).unwrap();
        let tensors = HashMap::from([("model.encoder.weight".to_string(), stray)]);
        candle_core::safetensors::save(&tensors, dir.path().join("model.safetensors")).unwrap();
        let err = HyenaDna::load(dir.path(), &Device::Cpu)
            .err()
            .expect("no backbone keys");
        let message = err.to_string();
        assert!(
            message.contains("hyena.backbone.") && message.contains("backbone."),
            "{message}"
        );
    }

    #[test]
    #[ignore = "needs GENOVEC_SHARED"]
    fn tiny_fixture_meets_the_embedder_contract() {
        let embedder =
            ModelEmbedder::load(Some(Family::HyenaDna), &fixture("hyenadna_tiny"), false).unwrap();
        assert_eq!(embedder.model().max_bases(), 1023);
        crate::embed::contract::run_contract(&embedder, 1e-4);
    }
}
