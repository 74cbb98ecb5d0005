//! Numerical parity of the HyenaDNA port with the PyTorch reference (`modeling_hyena.py`).
//!
//! Fixtures live in `$GENOVEC_SHARED/fixtures/models/` (default `../shared` beside the crate):
//! `hyenadna_tiny` holds random weights; `hyenadna_anticapt` holds only the reference outputs
//! of a real GPL-3.0 checkpoint, which `benches/fetch_anticapt.sh` downloads into
//! `target/anticapt/finetuned_hyenadna` (or `$GENOVEC_ANTICAPT`).
//!
//! Run with `cargo test --release --test parity_hyenadna -- --include-ignored`.

mod common;

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use common::{anticapt_checkpoint, max_diff, model_fixture};
use genovec::embed::models::hyenadna::HyenaDna;
use genovec::embed::models::{masked_mean, pad_batch, LanguageModel};

/// Tolerance on last hidden states and pooled vectors (the fixture READMEs suggest 1e-4).
const ATOL: f32 = 1e-4;

/// `inputs.json` and `expected.safetensors` of a fixture.
struct Fixture {
    inputs: serde_json::Value,
    expected: HashMap<String, Tensor>,
}

impl Fixture {
    fn open(dir: &Path) -> Self {
        let text = std::fs::read_to_string(dir.join("inputs.json"))
            .unwrap_or_else(|e| panic!("{}: {e} (set GENOVEC_SHARED)", dir.display()));
        let expected =
            candle_core::safetensors::load(dir.join("expected.safetensors"), &Device::Cpu).unwrap();
        Fixture {
            inputs: serde_json::from_str(&text).unwrap(),
            expected,
        }
    }

    fn tensor(&self, key: &str) -> &Tensor {
        self.expected
            .get(key)
            .unwrap_or_else(|| panic!("expected.safetensors has no {key}"))
    }
}

fn ids(value: &serde_json::Value) -> Vec<u32> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

/// Token ids, single-sequence outputs and the right-padded batch against the reference.
fn check_parity(model: &HyenaDna, fixture_dir: &Path) {
    let fx = Fixture::open(fixture_dir);
    let seqs = fx.inputs["sequences"].as_array().unwrap();
    let (mut worst_hidden, mut worst_pooled) = (0f32, 0f32);
    let mut by_name = HashMap::new();
    for (i, s) in seqs.iter().enumerate() {
        let name = s["name"].as_str().unwrap();
        let tokens = model.tokenize(s["sequence"].as_str().unwrap()).unwrap();
        assert_eq!(tokens, ids(&s["input_ids"]), "{name}: token ids");
        let (ids, mask) = pad_batch(
            std::slice::from_ref(&tokens),
            model.pad_id(),
            model.device(),
        )
        .unwrap();
        let hidden = model.forward(&ids, &mask).unwrap();
        let pooled = masked_mean(&hidden, &mask).unwrap();
        let dh = max_diff(
            &hidden.squeeze(0).unwrap(),
            fx.tensor(&format!("seq{i}.last_hidden_state")),
        );
        let dp = max_diff(
            &pooled.squeeze(0).unwrap(),
            fx.tensor(&format!("seq{i}.pooled")),
        );
        println!(
            "{name}: {} tokens, max|diff| last_hidden_state {dh:.2e}, pooled {dp:.2e}",
            tokens.len()
        );
        (worst_hidden, worst_pooled) = (worst_hidden.max(dh), worst_pooled.max(dp));
        by_name.insert(name.to_string(), tokens);
    }
    println!("singles: max|diff| last_hidden_state {worst_hidden:.2e}, pooled {worst_pooled:.2e}");
    assert!(
        worst_hidden <= ATOL && worst_pooled <= ATOL,
        "singles exceed {ATOL}"
    );
    check_batch(model, &fx, &by_name);
}

/// The right-padded batch: real positions and masked means.
fn check_batch(model: &HyenaDna, fx: &Fixture, by_name: &HashMap<String, Vec<u32>>) {
    let batch = &fx.inputs["batch"];
    assert_eq!(batch["padding_side"], "right");
    let rows: Vec<Vec<u32>> = batch["input_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(ids)
        .collect();
    let masks: Vec<Vec<u32>> = batch["attention_mask"]
        .as_array()
        .unwrap()
        .iter()
        .map(ids)
        .collect();
    let real: Vec<Vec<u32>> = rows
        .iter()
        .zip(&masks)
        .map(|(r, m)| r[..m.iter().sum::<u32>() as usize].to_vec())
        .collect();
    for (name, tokens) in batch["order"].as_array().unwrap().iter().zip(&real) {
        assert_eq!(&by_name[name.as_str().unwrap()], tokens, "batch row {name}");
    }
    let (ids, mask) = pad_batch(&real, model.pad_id(), model.device()).unwrap();
    let padded: Vec<Vec<u32>> = ids.to_vec2().unwrap();
    assert_eq!(padded, rows, "pad_batch reproduces batch.input_ids");
    let hidden = model.forward(&ids, &mask).unwrap();
    let expected = fx.tensor("batch.last_hidden_state");
    let mut worst = 0f32;
    for (i, tokens) in real.iter().enumerate() {
        let got = hidden.get(i).unwrap().narrow(0, 0, tokens.len()).unwrap();
        worst = worst.max(max_diff(
            &got,
            &expected.get(i).unwrap().narrow(0, 0, tokens.len()).unwrap(),
        ));
    }
    let dp = max_diff(
        &masked_mean(&hidden, &mask).unwrap(),
        fx.tensor("batch.pooled"),
    );
    println!("batch (right padded): max|diff| last_hidden_state on real tokens {worst:.2e}, pooled {dp:.2e}");
    assert!(worst <= ATOL && dp <= ATOL, "batch exceeds {ATOL}");
}

#[test]
#[ignore = "needs GENOVEC_SHARED"]
fn parity_hyenadna_tiny() {
    let dir = model_fixture("hyenadna_tiny");
    let model = HyenaDna::load(&dir, &Device::Cpu).unwrap();
    assert_eq!((model.hidden_size(), model.max_bases()), (64, 1023));
    check_parity(&model, &dir);
}

#[test]
#[ignore = "needs GENOVEC_SHARED"]
fn parity_hyenadna_anticapt() {
    let model = HyenaDna::load(&anticapt_checkpoint(), &Device::Cpu).unwrap();
    assert_eq!((model.hidden_size(), model.max_bases()), (128, 1025));
    check_parity(&model, &model_fixture("hyenadna_anticapt"));
}
