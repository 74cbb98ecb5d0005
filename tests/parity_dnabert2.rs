//! Numerical parity of the DNABERT-2 port with the reference PyTorch outputs stored in the
//! fixture folders under `GENOVEC_SHARED` (default `../shared` beside the crate).

mod common;

use std::collections::HashMap;

use candle_core::{DType, Device, IndexOp, Tensor};
use common::{max_diff, model_fixture};
use genovec::embed::models::dnabert2::Dnabert2;
use genovec::embed::models::{masked_mean, pad_batch, LanguageModel};

const TOLERANCE: f32 = 1e-4;

/// `inputs.json` as JSON.
fn inputs(dir: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("inputs.json")).expect("inputs.json");
    serde_json::from_str(&text).expect("inputs.json parses")
}

fn ids(value: &serde_json::Value) -> Vec<u32> {
    value
        .as_array()
        .expect("id list")
        .iter()
        .map(|v| v.as_u64().expect("id") as u32)
        .collect()
}

/// Each sequence alone: exact token ids, then last hidden state and pooled within tolerance.
fn check_sequences(
    model: &Dnabert2,
    input: &serde_json::Value,
    expected: &HashMap<String, Tensor>,
) {
    for (i, seq) in input["sequences"]
        .as_array()
        .expect("sequences")
        .iter()
        .enumerate()
    {
        let name = seq["name"].as_str().unwrap();
        let tokens = model.tokenize(seq["sequence"].as_str().unwrap()).unwrap();
        assert_eq!(tokens, ids(&seq["input_ids"]), "{name}: token ids");
        let (ids, mask) = pad_batch(&[tokens], model.pad_id(), &Device::Cpu).unwrap();
        let hidden = model.forward(&ids, &mask).unwrap();
        let pooled = masked_mean(&hidden, &mask).unwrap();
        let d_hidden = max_diff(
            &hidden.get(0).unwrap(),
            &expected[&format!("seq{i}.last_hidden_state")],
        );
        let d_pooled = max_diff(
            &pooled.get(0).unwrap(),
            &expected[&format!("seq{i}.pooled")],
        );
        println!("{name}: last_hidden_state {d_hidden:.3e}, pooled {d_pooled:.3e}");
        assert!(
            d_hidden <= TOLERANCE && d_pooled <= TOLERANCE,
            "{name}: {d_hidden} / {d_pooled}"
        );
    }
}

/// The right-padded batch: hidden states on real tokens only, and pooled.
fn check_batch(model: &Dnabert2, input: &serde_json::Value, expected: &HashMap<String, Tensor>) {
    let rows: Vec<Vec<u32>> = input["batch"]["input_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(ids)
        .collect();
    let lengths: Vec<usize> = input["sequences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["num_tokens"].as_u64().unwrap() as usize)
        .collect();
    // inputs.json's rows are already padded; pad_batch pads the unpadded ones the same way.
    let unpadded: Vec<Vec<u32>> = rows
        .iter()
        .zip(&lengths)
        .map(|(r, &n)| r[..n].to_vec())
        .collect();
    let (ids, mask) = pad_batch(&unpadded, model.pad_id(), &Device::Cpu).unwrap();
    let want_ids = expected["batch.input_ids"].to_dtype(DType::U32).unwrap();
    assert_eq!(
        ids.to_vec2::<u32>().unwrap(),
        want_ids.to_vec2::<u32>().unwrap(),
        "batch ids"
    );
    assert_eq!(
        ids.to_vec2::<u32>().unwrap(),
        rows,
        "batch ids as in inputs.json"
    );
    let hidden = model.forward(&ids, &mask).unwrap();
    let want = &expected["batch.last_hidden_state"];
    let mut worst = 0f32;
    for (b, &n) in lengths.iter().enumerate() {
        worst = worst.max(max_diff(
            &hidden.i((b, ..n)).unwrap(),
            &want.i((b, ..n)).unwrap(),
        ));
    }
    let d_pooled = max_diff(
        &masked_mean(&hidden, &mask).unwrap(),
        &expected["batch.pooled"],
    );
    println!("batch: last_hidden_state (real tokens) {worst:.3e}, pooled {d_pooled:.3e}");
    assert!(
        worst <= TOLERANCE && d_pooled <= TOLERANCE,
        "batch: {worst} / {d_pooled}"
    );
}

#[test]
#[ignore = "needs GENOVEC_SHARED"]
fn parity_dnabert2_tiny() {
    let dir = model_fixture("dnabert2_tiny");
    let model = Dnabert2::load(&dir, &Device::Cpu).expect("fixture loads");
    let expected =
        candle_core::safetensors::load(dir.join("expected.safetensors"), &Device::Cpu).unwrap();
    let input = inputs(&dir);
    check_sequences(&model, &input, &expected);
    check_batch(&model, &input, &expected);
}
