//! Parity of the Nucleotide Transformer port with the reference PyTorch outputs in the
//! `nt_v1_tiny` and `nt_v2_tiny` fixtures: token ids exactly, hidden states and pooled
//! embeddings within 1e-4, one sequence at a time and as a right-padded batch.

mod common;

use std::collections::HashMap;

use candle_core::{Device, IndexOp, Tensor};
use common::{max_diff, model_fixture};
use genovec::embed::models::nt::NucleotideTransformer;
use genovec::embed::models::{masked_mean, pad_batch};
use genovec::embed::LanguageModel;
use serde_json::Value;

const TOLERANCE: f32 = 1e-4;

fn ids(value: &Value) -> Vec<u32> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect()
}

/// The model, the expected tensors and inputs.json of one fixture.
struct Fixture {
    name: &'static str,
    model: NucleotideTransformer,
    expected: HashMap<String, Tensor>,
    inputs: Value,
}

impl Fixture {
    fn load(name: &'static str) -> Fixture {
        let dir = model_fixture(name);
        let model = NucleotideTransformer::load(&dir, &Device::Cpu).expect("model loads");
        let expected =
            candle_core::safetensors::load(dir.join("expected.safetensors"), &Device::Cpu).unwrap();
        let text = std::fs::read_to_string(dir.join("inputs.json")).unwrap();
        Fixture {
            name,
            model,
            expected,
            inputs: serde_json::from_str(&text).unwrap(),
        }
    }

    fn expected(&self, key: &str) -> &Tensor {
        self.expected
            .get(key)
            .unwrap_or_else(|| panic!("no {key} in expected.safetensors"))
    }

    /// Each sequence alone: exact ids, then (hidden, pooled) max diffs.
    fn check_sequences(&self) -> (f32, f32) {
        let mut worst = (0f32, 0f32);
        for seq in self.inputs["sequences"].as_array().unwrap() {
            let i = seq["index"].as_u64().unwrap();
            let got = self
                .model
                .tokenize(seq["sequence"].as_str().unwrap())
                .unwrap();
            assert_eq!(got, ids(&seq["input_ids"]), "token ids of seq{i}");
            let (ids, mask) = pad_batch(&[got], self.model.pad_id(), &Device::Cpu).unwrap();
            let hidden = self.model.forward(&ids, &mask).unwrap();
            let pooled = masked_mean(&hidden, &mask).unwrap();
            let dh = max_diff(
                &hidden.i(0).unwrap(),
                self.expected(&format!("seq{i}.last_hidden_state")),
            );
            let dp = max_diff(
                &pooled.i(0).unwrap(),
                self.expected(&format!("seq{i}.pooled")),
            );
            println!(
                "{} seq{i}: last_hidden_state {dh:.2e}, pooled {dp:.2e}",
                self.name
            );
            worst = (worst.0.max(dh), worst.1.max(dp));
        }
        worst
    }

    /// The padded batch: hidden states on real tokens only, and pooled.
    fn check_batch(&self) -> (f32, f32) {
        let batch = &self.inputs["batch"];
        let masks: Vec<Vec<u32>> = batch["attention_mask"]
            .as_array()
            .unwrap()
            .iter()
            .map(ids)
            .collect();
        let rows: Vec<Vec<u32>> = batch["input_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(ids)
            .collect();
        let real: Vec<Vec<u32>> = rows
            .iter()
            .zip(&masks)
            .map(|(row, mask)| row[..mask.iter().sum::<u32>() as usize].to_vec())
            .collect();
        let (ids, mask) = pad_batch(&real, self.model.pad_id(), &Device::Cpu).unwrap();
        assert_eq!(ids.to_vec2::<u32>().unwrap(), rows, "padded ids");
        let hidden = self.model.forward(&ids, &mask).unwrap();
        let want = self.expected("batch.last_hidden_state");
        let mut dh = 0f32;
        for (r, tokens) in real.iter().enumerate() {
            let n = tokens.len();
            dh = dh.max(max_diff(
                &hidden.i((r, ..n)).unwrap(),
                &want.i((r, ..n)).unwrap(),
            ));
        }
        let pooled = masked_mean(&hidden, &mask).unwrap();
        let dp = max_diff(&pooled, self.expected("batch.pooled"));
        println!(
            "{} batch: last_hidden_state (real tokens) {dh:.2e}, pooled {dp:.2e}",
            self.name
        );
        (dh, dp)
    }
}

fn check(name: &'static str) {
    let fixture = Fixture::load(name);
    let (dh, dp) = fixture.check_sequences();
    let (bh, bp) = fixture.check_batch();
    println!("{name}: max diff per sequence {dh:.2e} / {dp:.2e}, batch {bh:.2e} / {bp:.2e}");
    for (what, diff) in [
        ("hidden", dh),
        ("pooled", dp),
        ("batch hidden", bh),
        ("batch pooled", bp),
    ] {
        assert!(diff <= TOLERANCE, "{name}: {what} differs by {diff}");
    }
}

#[test]
#[ignore = "needs GENOVEC_SHARED"]
fn parity_nt_v1_tiny() {
    check("nt_v1_tiny");
}

#[test]
#[ignore = "needs GENOVEC_SHARED"]
fn parity_nt_v2_tiny() {
    check("nt_v2_tiny");
}
