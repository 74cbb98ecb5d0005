//! The layer stack split in two (`hidden_before` then `forward_from`), which the fine-tune's
//! frozen-prefix cache relies on: for every family and every split point, the two halves give
//! the whole forward pass on a right-padded batch, whatever the pad rows of the stream hold,
//! and the stream entering a layer matches the reference's hidden state there.

mod common;

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, IndexOp, Tensor};
use common::{max_diff, model_fixture};
use genovec::embed::models::{default_device, load_model, pad_batch};
use genovec::embed::LanguageModel;

const TOLERANCE: f32 = 1e-4;

struct Fixture {
    device: Device,
    model: Box<dyn LanguageModel>,
    expected: HashMap<String, Tensor>,
    tokens: Vec<Vec<u32>>,
}

fn fixture(name: &str) -> Fixture {
    let dir = model_fixture(name);
    // The CPU, or the GPU in a `--features cuda` build (benches/gpu_check.sh).
    let device = default_device().unwrap();
    let model = load_model(None, &dir, &device).expect("model loads");
    let expected = candle_core::safetensors::load(dir.join("expected.safetensors"), &device)
        .expect("expected.safetensors");
    let tokens = sequences(&dir)
        .iter()
        .map(|s| model.tokenize(s).unwrap())
        .collect();
    Fixture {
        device,
        model,
        expected,
        tokens,
    }
}

/// The fixture's input sequences, as given (lowercase included).
fn sequences(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("inputs.json")).unwrap();
    let inputs: serde_json::Value = serde_json::from_str(&text).unwrap();
    inputs["sequences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sequence"].as_str().unwrap().to_string())
        .collect()
}

/// `hidden` with every pad row (mask 0) set to `fill`.
fn fill_pads(hidden: &Tensor, mask: &Tensor, fill: f64) -> Tensor {
    let keep = mask.to_dtype(DType::F32).unwrap().unsqueeze(2).unwrap();
    let pads = ((keep.ones_like().unwrap() - &keep).unwrap() * fill).unwrap();
    hidden
        .broadcast_mul(&keep)
        .unwrap()
        .broadcast_add(&pads)
        .unwrap()
}

/// Real-token rows of `[B, T, d]` (pad rows of the output are not compared).
fn real_rows(x: &Tensor, tokens: &[Vec<u32>]) -> Vec<Tensor> {
    tokens
        .iter()
        .enumerate()
        .map(|(b, t)| x.i((b, ..t.len())).unwrap())
        .collect()
}

fn split_gives_the_whole(name: &str) {
    let f = fixture(name);
    let (ids, mask) = pad_batch(&f.tokens, f.model.pad_id(), &f.device).unwrap();
    let whole = real_rows(&f.model.forward(&ids, &mask).unwrap(), &f.tokens);
    let layers = f.model.layer_count();
    assert!(layers >= 2, "{name}: {layers} layers");
    for n in 0..=layers {
        let stream = f.model.hidden_before(&ids, &mask, n).unwrap();
        for fill in [0.0, 3.5] {
            let stream = fill_pads(&stream, &mask, fill);
            let out = f.model.forward_from(&stream, &mask, n).unwrap();
            for (b, (got, want)) in real_rows(&out, &f.tokens).iter().zip(&whole).enumerate() {
                let d = max_diff(got, want);
                assert!(
                    d < TOLERANCE,
                    "{name}: split at {n}, pads {fill}, seq {b}: {d:.2e}"
                );
            }
        }
    }
}

/// The stream entering layer `n < layers` of each sequence alone is the reference's
/// `hidden_states.{n}` (the embedding output, then each layer's output).
fn stream_matches_the_reference(name: &str) {
    let f = fixture(name);
    for (i, tokens) in f.tokens.iter().enumerate() {
        let (ids, mask) =
            pad_batch(std::slice::from_ref(tokens), f.model.pad_id(), &f.device).unwrap();
        for n in 0..f.model.layer_count() {
            let got = f.model.hidden_before(&ids, &mask, n).unwrap().i(0).unwrap();
            let want = &f.expected[&format!("seq{i}.hidden_states.{n}")];
            let d = max_diff(&got, want);
            assert!(d < TOLERANCE, "{name}: seq{i} entering layer {n}: {d:.2e}");
        }
    }
}

#[test]
#[ignore = "needs GENOVEC_SHARED"]
fn split_dnabert2() {
    split_gives_the_whole("dnabert2_tiny");
    stream_matches_the_reference("dnabert2_tiny");
}

#[test]
#[ignore = "needs GENOVEC_SHARED"]
fn split_nt_v1() {
    split_gives_the_whole("nt_v1_tiny");
    stream_matches_the_reference("nt_v1_tiny");
}

#[test]
#[ignore = "needs GENOVEC_SHARED"]
fn split_nt_v2() {
    split_gives_the_whole("nt_v2_tiny");
    stream_matches_the_reference("nt_v2_tiny");
}

#[test]
#[ignore = "needs GENOVEC_SHARED"]
fn split_hyenadna() {
    split_gives_the_whole("hyenadna_tiny");
    stream_matches_the_reference("hyenadna_tiny");
}
