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

mod layers;
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

    fn device(&self) -> &Device {
        &self.device
    }
}

#[cfg(test)]
mod tests {
    use super::layers::*;
    use super::tokenizer::*;
    use super::*;
    use crate::embed::models::{fixture, Family, ModelEmbedder};

    /// NT-v2's vocab layout: 6 specials, the 6-mers in `product("ATCG", repeat=6)` order, bases.
    fn v2_vocab() -> Vec<String> {
        let mut vocab: Vec<String> = ["<unk>", "<pad>", "<mask>", "<cls>", "<eos>", "<bos>"]
            .map(String::from)
            .to_vec();
        let kmer = |mut n: usize| -> String {
            let mut s = [b'A'; 6];
            for c in s.iter_mut().rev() {
                *c = b"ATCG"[n % 4];
                n /= 4;
            }
            String::from_utf8(s.to_vec()).unwrap()
        };
        vocab.extend((0..4096).map(kmer));
        vocab.extend(["A", "T", "C", "G", "N"].map(String::from));
        vocab
    }

    fn tokenizer() -> KmerTokenizer {
        let vocab = v2_vocab();
        KmerTokenizer::from_tokens(vocab.iter().map(String::as_str)).unwrap()
    }

    fn names(t: &KmerTokenizer, seq: &str) -> Vec<String> {
        let vocab = v2_vocab();
        t.tokenize(seq)
            .iter()
            .map(|&i| vocab[i as usize].clone())
            .collect()
    }

    #[test]
    fn kmer_ids_follow_product_order() {
        let t = tokenizer();
        assert_eq!(t.tokenize("AAAAAA"), vec![3, 6]);
        assert_eq!(t.tokenize("AAAAAT"), vec![3, 7]);
        assert_eq!(t.tokenize("GGGGGG"), vec![3, 4101]);
        assert_eq!(t.tokenize("ATCGN"), vec![3, 4102, 4103, 4104, 4105, 4106]);
        assert_eq!(t.tokenize(""), vec![3]);
    }

    #[test]
    fn kmers_left_to_right_with_single_base_leftovers() {
        let t = tokenizer();
        assert_eq!(names(&t, "ACGTACG"), ["<cls>", "ACGTAC", "G"]);
        assert_eq!(
            names(&t, "ACNGTACGTA"),
            ["<cls>", "A", "C", "N", "GTACGT", "A"]
        );
        assert_eq!(
            names(&t, "NNAAAAAAAAAAAACC"),
            ["<cls>", "N", "N", "AAAAAA", "AAAAAA", "C", "C"]
        );
    }

    #[test]
    fn unknown_runs_are_one_unk_each() {
        let t = tokenizer();
        assert_eq!(names(&t, "acgtacgtacgt"), ["<cls>", "<unk>"]);
        assert_eq!(
            names(&t, "ACGTAacgtTT"),
            ["<cls>", "A", "C", "G", "T", "A", "<unk>", "T", "T"]
        );
        assert_eq!(names(&t, "ac gt"), ["<cls>", "<unk>", "<unk>"]);
        assert_eq!(names(&t, "AC GT"), ["<cls>", "A", "C", "G", "T"]);
    }

    #[test]
    fn positions_start_after_the_pad_id() {
        assert_eq!(
            fairseq_positions(&[3, 9, 9, 1, 1], 1).collect::<Vec<_>>(),
            [2, 3, 4, 1, 1]
        );
    }

    #[test]
    fn inv_freq_matches_hand_values() {
        let f = inv_freq(16);
        let expected = [
            1.0,
            10f64.powf(-0.5),
            0.1,
            10f64.powf(-1.5),
            0.01,
            10f64.powf(-2.5),
            1e-3,
            10f64.powf(-3.5),
        ];
        assert_eq!(f.len(), 8);
        for (got, want) in f.iter().zip(expected) {
            assert!((*got as f64 - want).abs() <= want * 1e-6, "{got} vs {want}");
        }
    }

    #[test]
    fn rotary_tables_match_hand_values() {
        let (cos, sin) = rotary_tables(3, 4); // inv_freq [1, 0.01], rows of 2
        assert_eq!(&cos[..2], &[1.0, 1.0]);
        assert_eq!(&sin[..2], &[0.0, 0.0]);
        let close = |a: f32, b: f64| (a as f64 - b).abs() < 1e-7;
        assert!(close(cos[2], 1f64.cos()) && close(sin[2], 1f64.sin()));
        assert!(close(cos[5], 0.02f64.cos()) && close(sin[5], 0.02f64.sin()));
    }

    #[test]
    fn rope_is_the_rotate_half_form() {
        let dev = Device::Cpu;
        let x = Tensor::arange(0f32, 24.0, &dev)
            .unwrap()
            .reshape((1, 1, 3, 8))
            .unwrap();
        let x = (x * 0.1).unwrap().sin().unwrap();
        let got = Rotary::new(3, 8, &dev).unwrap().apply(&x).unwrap();
        // Reference: x * cat(cos, cos) + cat(-x2, x1) * cat(sin, sin).
        let (cos, sin) = rotary_tables(3, 8);
        let cos = Tensor::from_vec(cos, (3, 4), &dev).unwrap();
        let sin = Tensor::from_vec(sin, (3, 4), &dev).unwrap();
        let (cos, sin) = (
            Tensor::cat(&[&cos, &cos], 1).unwrap(),
            Tensor::cat(&[&sin, &sin], 1).unwrap(),
        );
        let (x1, x2) = (x.narrow(3, 0, 4).unwrap(), x.narrow(3, 4, 4).unwrap());
        let rotated = Tensor::cat(&[&x2.neg().unwrap(), &x1], 3).unwrap();
        let want = (x.broadcast_mul(&cos).unwrap() + rotated.broadcast_mul(&sin).unwrap()).unwrap();
        let diff = (got - want)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(diff < 1e-6, "{diff}");
    }

    fn config(extra: &str) -> Config {
        let json = format!(
            r#"{{"vocab_size": 4105, "hidden_size": 64, "num_hidden_layers": 2,
                "num_attention_heads": 4, "intermediate_size": 128, "max_position_embeddings": 1002,
                "layer_norm_eps": 1e-12, "pad_token_id": 1, "mask_token_id": 2 {extra}}}"#
        );
        serde_json::from_str(&json).unwrap()
    }

    #[test]
    fn version_and_limits_come_from_the_config() {
        let v1 = config(r#", "position_embedding_type": "absolute", "token_dropout": true"#);
        assert_eq!(v1.version(), Version::V1);
        assert_eq!(max_tokens(&v1, Some(1000)), 1000);
        assert_eq!(max_tokens(&v1, None), 1000);
        assert_eq!(max_tokens(&v1, Some(512)), 512);
        let v2 = config(r#", "position_embedding_type": "rotary", "add_bias_fnn": false"#);
        assert_eq!(v2.version(), Version::V2);
        assert_eq!(v2.position_embedding_type, PositionEmbedding::Rotary);
        assert!(config(r#", "emb_layer_norm_before": true"#)
            .check()
            .is_err());
    }

    #[test]
    #[ignore = "needs GENOVEC_SHARED"]
    fn inv_freq_matches_the_checkpoint_buffer() {
        let path = fixture("nt_v2_tiny").join("model.safetensors");
        let tensors = candle_core::safetensors::load(path, &Device::Cpu).unwrap();
        let name = "esm.encoder.layer.0.attention.self.rotary_embeddings.inv_freq";
        let stored = tensors[name].to_vec1::<f32>().unwrap();
        assert_eq!(inv_freq(16), stored);
    }

    #[test]
    #[ignore = "needs GENOVEC_SHARED"]
    fn contract_nt_v2_tiny() {
        let embedder =
            ModelEmbedder::load(Some(Family::Nt), &fixture("nt_v2_tiny"), false).unwrap();
        crate::embed::contract::run_contract(&embedder, 1e-4);
    }

    #[test]
    #[ignore = "needs GENOVEC_SHARED"]
    fn contract_nt_v1_tiny() {
        let embedder =
            ModelEmbedder::load(Some(Family::Nt), &fixture("nt_v1_tiny"), false).unwrap();
        crate::embed::contract::run_contract(&embedder, 1e-4);
    }
}
