//! Fine-tuned checkpoint folders: what `finetune --out DIR` writes and `classify --finetuned
//! DIR` loads.
//!
//! The folder is a checkpoint of the base family in its own right: the base folder's
//! config and tokenizer files, `model.safetensors` with every backbone tensor under the base
//! checkpoint's names, plus `head.safetensors` (`weight`, `bias`) and `finetune.json` (the
//! labels and the [`FinetuneReport`]).

use std::collections::HashMap;
use std::path::Path;

use candle_core::Tensor;
use candle_nn::Linear;

use super::classifier::SequenceClassifier;
use super::train::{FinetuneReport, Finetuned};
use crate::embed::models::{default_device, load_model, Family};
use crate::{Error, Result};

const HEAD_FILE: &str = "head.safetensors";
const REPORT_FILE: &str = "finetune.json";
/// Base-folder files that are weights, so not copied: the tuned ones replace them.
const WEIGHT_SUFFIXES: [&str; 4] = [".safetensors", ".bin", ".pt", ".ckpt"];

impl Finetuned {
    /// Writes the folder `out` (created if missing; its files are overwritten).
    pub fn save(&self, out: &Path) -> Result<()> {
        std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
        copy_base_files(&self.report.base, out)?;
        let weights = out.join("model.safetensors");
        self.backbone.save(&weights).map_err(Error::model)?;
        let head: HashMap<String, Tensor> = [("weight", &self.head[0]), ("bias", &self.head[1])]
            .into_iter()
            .map(|(name, var)| (name.to_string(), var.as_tensor().detach()))
            .collect();
        candle_core::safetensors::save(&head, out.join(HEAD_FILE)).map_err(Error::model)?;
        let json = serde_json::to_vec_pretty(&self.report).map_err(Error::model)?;
        let report = out.join(REPORT_FILE);
        std::fs::write(&report, json).map_err(|e| Error::io(&report, e))
    }
}

fn copy_base_files(base: &Path, out: &Path) -> Result<()> {
    let entries = std::fs::read_dir(base).map_err(|e| Error::io(base, e))?;
    for entry in entries {
        let path = entry.map_err(|e| Error::io(base, e))?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let weights = WEIGHT_SUFFIXES.iter().any(|s| name.ends_with(s));
        if path.is_file() && !weights {
            let to = out.join(name);
            std::fs::copy(&path, &to).map_err(|e| Error::io(&to, e))?;
        }
    }
    Ok(())
}

/// Loads a folder written by [`Finetuned::save`], with constant weights (inference only).
pub fn load(dir: &Path) -> Result<(SequenceClassifier, FinetuneReport)> {
    let bad = |message: String| Error::Embedder {
        spec: dir.display().to_string(),
        message,
    };
    let report_path = dir.join(REPORT_FILE);
    let json = std::fs::read(&report_path).map_err(|e| Error::io(&report_path, e))?;
    let report: FinetuneReport = serde_json::from_slice(&json).map_err(|e| {
        bad(format!(
            "{REPORT_FILE} is not a genovec fine-tune record: {e}"
        ))
    })?;
    let family = Family::from_prefix(&report.family)
        .ok_or_else(|| bad(format!("unknown family {:?}", report.family)))?;
    let device = default_device()?;
    let model = load_model(Some(family), dir, &device)?;
    let head = candle_core::safetensors::load(dir.join(HEAD_FILE), &device)
        .map_err(|e| bad(format!("cannot read {HEAD_FILE}: {e}")))?;
    let tensor = |name: &str| {
        head.get(name)
            .cloned()
            .ok_or_else(|| bad(format!("{HEAD_FILE} has no {name:?}")))
    };
    let (weight, bias) = (tensor("weight")?, tensor("bias")?);
    let shape_ok = weight.dims() == [report.labels.len(), model.hidden_size()]
        && bias.dims() == [report.labels.len()];
    if !shape_ok {
        return Err(bad(format!(
            "{HEAD_FILE} is {:?}, but {} labels over {} hidden units were recorded",
            weight.dims(),
            report.labels.len(),
            model.hidden_size()
        )));
    }
    let linear = Linear::new(weight, Some(bias));
    Ok((
        SequenceClassifier::new(model, linear, report.labels.clone()),
        report,
    ))
}
