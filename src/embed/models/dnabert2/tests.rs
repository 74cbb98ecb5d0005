use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, IndexOp, Tensor};
use rand::{Rng, SeedableRng};

use super::{alibi_bias, alibi_slopes, Dnabert2};
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

use crate::embed::models::ops::max_diff;

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
    assert_eq!(bias.dims(), [2, 3, 3]);
    let h0: Vec<Vec<f32>> = bias.i(0).unwrap().to_vec2().unwrap();
    assert_eq!(
        h0,
        [[0.0, -0.5, -1.0], [-0.5, 0.0, -0.5], [-1.0, -0.5, 0.0]]
    );
    let h1: Vec<Vec<f32>> = bias.i(1).unwrap().to_vec2().unwrap();
    assert_eq!(h1[0], [0.0, -0.25, -0.5]);
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
    let (ids, mask) = pad_batch(&[prefixed.tokenize("ACGTAC").unwrap()], 3, &Device::Cpu).unwrap();
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
