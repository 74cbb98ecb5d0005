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
//! Hidden states stay flat, `[B*T, d]`, between layers so that every projection is one 2-D
//! matmul; only attention reshapes to `[B, H, T, dh]`.

mod layers;

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use serde::Deserialize;
use tokenizers::Tokenizer;

use super::checkpoint::{read_config, weights_builder};
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

/// Additive attention bias on padded keys, as in the reference (`(1 - mask) * -10000`).
/// Its softmax weight underflows to exactly 0 in f32, so real rows ignore the padding.
const MASKED: f64 = -10000.0;

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

/// The ALiBi bias `[1, H, T, T]`: `-slope_h * |i - j|`, symmetric (bidirectional).
fn alibi_bias(slopes: &[f32], len: usize, device: &Device) -> candle_core::Result<Tensor> {
    let mut bias = Vec::with_capacity(slopes.len() * len * len);
    for &slope in slopes {
        for i in 0..len {
            bias.extend((0..len).map(|j| slope * -(i.abs_diff(j) as f32)));
        }
    }
    Tensor::from_vec(bias, (1, slopes.len(), len, len), device)
}

/// ALiBi plus the padding mask, `[B, H, T, T]`, shared by every layer of one forward pass.
fn attention_bias(mask: &Tensor, slopes: &[f32]) -> candle_core::Result<Tensor> {
    let (b, t) = mask.dims2()?;
    // (1 - mask) * MASKED, written as one affine map.
    let padding = mask
        .to_dtype(DType::F32)?
        .affine(-MASKED, MASKED)?
        .reshape((b, 1, 1, t))?;
    padding.broadcast_add(&alibi_bias(slopes, t, mask.device())?)
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

    fn forward_inner(&self, ids: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
        let (b, t) = ids.dims2()?;
        let bias = attention_bias(mask, &self.slopes)?;
        let mut x = self.embeddings.forward(ids)?;
        for layer in &self.layers {
            x = layer.forward(&x, &bias)?;
        }
        // Pad rows are zero, as in the reference (which never computes them).
        let keep = mask.to_dtype(DType::F32)?.reshape((b, t, 1))?;
        x.reshape((b, t, self.cfg.hidden_size))?
            .broadcast_mul(&keep)
    }
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
        self.forward_inner(ids, mask).map_err(Error::model)
    }

    fn device(&self) -> &Device {
        &self.device
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::Path;

    use candle_core::{DType, Device, IndexOp, Tensor};
    use rand::{Rng, SeedableRng};

    use super::{alibi_bias, alibi_slopes, attention_bias, Dnabert2};
    use crate::embed::models::{fixture, pad_batch, Family, LanguageModel, ModelEmbedder};

    /// A hand-made BPE tokenizer with DNABERT-2's layout: specials 0..4, bases 5..8, merges.
    const TOKENIZER: &str = r#"{
      "version": "1.0", "truncation": null, "padding": null,
      "added_tokens": [
        {"id": 0, "content": "[UNK]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
        {"id": 1, "content": "[CLS]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
        {"id": 2, "content": "[SEP]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
        {"id": 3, "content": "[PAD]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
        {"id": 4, "content": "[MASK]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
      "normalizer": null,
      "pre_tokenizer": {"type": "Whitespace"},
      "post_processor": {"type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
        "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [1], "tokens": ["[CLS]"]}, "[SEP]": {"id": "[SEP]", "ids": [2], "tokens": ["[SEP]"]}}},
      "decoder": null,
      "model": {"type": "BPE", "dropout": null, "unk_token": "[UNK]", "continuing_subword_prefix": null,
        "end_of_word_suffix": null, "fuse_unk": false,
        "vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "[PAD]": 3, "[MASK]": 4, "A": 5, "C": 6, "G": 7, "T": 8,
                  "AC": 9, "GT": 10, "ACGT": 11},
        "merges": ["A C", "G T", "AC GT"]}
    }"#;

    /// d 8, 2 heads, GEGLU halves of 6, trained length 8 tokens.
    const CONFIG: &str = r#"{"model_type": "bert", "vocab_size": 12, "hidden_size": 8,
        "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 6,
        "type_vocab_size": 2, "layer_norm_eps": 1e-12, "max_position_embeddings": 8,
        "alibi_starting_size": 8, "hidden_act": "gelu"}"#;

    /// Tensor names and shapes of the tiny model, without the `bert.` prefix.
    fn tiny_shapes() -> Vec<(String, Vec<usize>)> {
        let mut shapes = vec![
            ("embeddings.word_embeddings.weight".to_string(), vec![12, 8]),
            (
                "embeddings.token_type_embeddings.weight".to_string(),
                vec![2, 8],
            ),
            ("embeddings.LayerNorm.weight".to_string(), vec![8]),
            ("embeddings.LayerNorm.bias".to_string(), vec![8]),
        ];
        for i in 0..2 {
            let l = format!("encoder.layer.{i}");
            for (name, shape) in [
                ("attention.self.Wqkv.weight", vec![24, 8]),
                ("attention.self.Wqkv.bias", vec![24]),
                ("attention.output.dense.weight", vec![8, 8]),
                ("attention.output.dense.bias", vec![8]),
                ("attention.output.LayerNorm.weight", vec![8]),
                ("attention.output.LayerNorm.bias", vec![8]),
                ("mlp.gated_layers.weight", vec![12, 8]),
                ("mlp.wo.weight", vec![8, 6]),
                ("mlp.wo.bias", vec![8]),
                ("mlp.layernorm.weight", vec![8]),
                ("mlp.layernorm.bias", vec![8]),
            ] {
                shapes.push((format!("{l}.{name}"), shape));
            }
        }
        shapes
    }

    /// Writes a tiny random checkpoint (seeded) to `dir`, its names under `prefix`.
    fn write_tiny(dir: &Path, prefix: &str) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let tensors: HashMap<String, Tensor> = tiny_shapes()
            .into_iter()
            .map(|(name, shape)| {
                let n = shape.iter().product();
                let values: Vec<f32> = (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect();
                (
                    format!("{prefix}{name}"),
                    Tensor::from_vec(values, shape, &Device::Cpu).unwrap(),
                )
            })
            .collect();
        candle_core::safetensors::save(&tensors, dir.join("model.safetensors")).unwrap();
        std::fs::write(dir.join("config.json"), CONFIG).unwrap();
        std::fs::write(dir.join("tokenizer.json"), TOKENIZER).unwrap();
    }

    fn tiny_model(prefix: &str) -> (tempfile::TempDir, Dnabert2) {
        let dir = tempfile::tempdir().unwrap();
        write_tiny(dir.path(), prefix);
        let model = Dnabert2::load(dir.path(), &Device::Cpu).unwrap();
        (dir, model)
    }

    fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar()
            .unwrap()
    }

    #[test]
    fn slopes_follow_the_mosaicbert_rule() {
        let pow2 = |e: f64| 2f64.powf(e) as f32;
        assert_eq!(alibi_slopes(4), [-2.0, -4.0, -6.0, -8.0].map(pow2));
        assert_eq!(
            alibi_slopes(8),
            (1..=8).map(|e| pow2(-(e as f64))).collect::<Vec<_>>()
        );
        let twelve: Vec<f32> = (1..=8)
            .map(|e| -(e as f64))
            .chain([-0.5, -1.5, -2.5, -3.5])
            .map(pow2)
            .collect();
        let got = alibi_slopes(12);
        assert!(
            got.iter()
                .zip(&twelve)
                .all(|(a, b)| (a - b).abs() <= 1e-7 * b),
            "{got:?}"
        );
        assert_eq!(alibi_slopes(1), [pow2(-8.0)]);
    }

    #[test]
    fn alibi_is_symmetric_distance_times_slope() {
        let bias = alibi_bias(&[0.5, 0.25], 3, &Device::Cpu).unwrap();
        assert_eq!(bias.dims(), [1, 2, 3, 3]);
        let h0: Vec<Vec<f32>> = bias.i((0, 0)).unwrap().to_vec2().unwrap();
        assert_eq!(
            h0,
            [[0.0, -0.5, -1.0], [-0.5, 0.0, -0.5], [-1.0, -0.5, 0.0]]
        );
        let h1: Vec<Vec<f32>> = bias.i((0, 1)).unwrap().to_vec2().unwrap();
        assert_eq!(h1[0], [0.0, -0.25, -0.5]);
    }

    #[test]
    fn padded_keys_get_minus_ten_thousand() {
        let mask = Tensor::new(&[[1f32, 1.0, 0.0]], &Device::Cpu).unwrap();
        let bias = attention_bias(&mask, &[0.5]).unwrap();
        assert_eq!(bias.dims(), [1, 1, 3, 3]);
        let rows: Vec<Vec<f32>> = bias.i((0, 0)).unwrap().to_vec2().unwrap();
        assert_eq!(rows[0], [0.0, -0.5, -10001.0]);
        assert_eq!(rows[2], [-1.0, -0.5, -10000.0]);
    }

    #[test]
    fn tokenizer_is_case_sensitive_bpe_with_cls_and_sep() {
        let (_dir, model) = tiny_model("bert.");
        let tok = |s: &str| model.tokenize(s).unwrap();
        assert_eq!(tok("ACGT"), [1, 11, 2]);
        assert_eq!(tok("ACGTACA"), [1, 11, 9, 5, 2]);
        assert_eq!(tok("GTNAC"), [1, 10, 0, 9, 2], "N is one [UNK]");
        assert_eq!(
            tok("acgt"),
            [1, 0, 0, 0, 0, 2],
            "each lowercase base is one [UNK]"
        );
        assert_eq!(tok(""), [1, 2]);
        assert_eq!(model.pad_id(), 3);
    }

    #[test]
    fn window_fits_the_trained_length() {
        let (_dir, model) = tiny_model("bert.");
        assert_eq!(model.max_bases(), 6);
        let all_unknown = "N".repeat(model.max_bases());
        assert_eq!(model.tokenize(&all_unknown).unwrap().len(), 8);
        assert_eq!(model.hidden_size(), 8);
    }

    #[test]
    fn real_rows_do_not_depend_on_padding_and_pads_are_zero() {
        let (_dir, model) = tiny_model("bert.");
        let short = model.tokenize("ACGTA").unwrap();
        let long = model.tokenize("GTACGTTTACGCA").unwrap();
        let (ids, mask) = pad_batch(std::slice::from_ref(&short), 3, &Device::Cpu).unwrap();
        let alone = model.forward(&ids, &mask).unwrap();
        let (ids, mask) = pad_batch(&[short.clone(), long.clone()], 3, &Device::Cpu).unwrap();
        let batch = model.forward(&ids, &mask).unwrap();
        assert_eq!(batch.dims(), [2, long.len(), 8]);
        let real = batch.i((0..1, 0..short.len())).unwrap();
        assert!(
            max_diff(&real, &alone) <= 1e-5,
            "padding leaks: {}",
            max_diff(&real, &alone)
        );
        let pads = batch.i((0, short.len()..)).unwrap();
        assert_eq!(
            pads.abs()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap(),
            0.0
        );
    }

    #[test]
    fn runs_beyond_the_trained_length() {
        let (_dir, model) = tiny_model("bert.");
        let ids = model.tokenize(&"ACGTTGCA".repeat(5)).unwrap();
        assert!(ids.len() > 8, "longer than max_position_embeddings");
        let (ids, mask) = pad_batch(&[ids], 3, &Device::Cpu).unwrap();
        let out = model.forward(&ids, &mask).unwrap();
        assert_eq!(out.dtype(), DType::F32);
        let values: Vec<f32> = out.flatten_all().unwrap().to_vec1().unwrap();
        assert!(values.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn bare_bertmodel_names_load_like_bert_prefixed_ones() {
        let (_a, prefixed) = tiny_model("bert.");
        let (_b, bare) = tiny_model("");
        let (ids, mask) =
            pad_batch(&[prefixed.tokenize("ACGTAC").unwrap()], 3, &Device::Cpu).unwrap();
        let a = prefixed.forward(&ids, &mask).unwrap();
        let b = bare.forward(&ids, &mask).unwrap();
        assert_eq!(max_diff(&a, &b), 0.0);
    }

    #[test]
    fn missing_tokenizer_is_an_embedder_error() {
        let dir = tempfile::tempdir().unwrap();
        write_tiny(dir.path(), "bert.");
        std::fs::remove_file(dir.path().join("tokenizer.json")).unwrap();
        let err = Dnabert2::load(dir.path(), &Device::Cpu)
            .err()
            .expect("fails");
        assert!(matches!(err, crate::Error::Embedder { .. }), "{err}");
    }

    #[test]
    #[ignore = "needs GENOVEC_SHARED"]
    fn contract() {
        let embedder =
            ModelEmbedder::load(Some(Family::Dnabert2), &fixture("dnabert2_tiny"), false).unwrap();
        crate::embed::contract::run_contract(&embedder, 1e-4);
    }
}
