//! Checkpoint folders: which family a folder holds, its config, and its identity.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// The language-model families genovec can load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// DNABERT-2 (`model_type` `bert` with ALiBi).
    Dnabert2,
    /// Nucleotide Transformer v1 or v2 (`model_type` `esm`).
    Nt,
    /// HyenaDNA (`model_type` `hyenadna`).
    HyenaDna,
}

impl Family {
    /// From a spec prefix: `dnabert2`, `nt` or `hyenadna`.
    pub fn from_prefix(prefix: &str) -> Option<Family> {
        match prefix {
            "dnabert2" => Some(Family::Dnabert2),
            "nt" => Some(Family::Nt),
            "hyenadna" => Some(Family::HyenaDna),
            _ => None,
        }
    }
}

/// `dir/config.json` as JSON.
pub fn read_config(dir: &Path) -> Result<serde_json::Value> {
    let path = dir.join("config.json");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::Parse {
        source_name: path.display().to_string(),
        location: format!("line {}", e.line()),
        message: e.to_string(),
    })
}

/// The family named by `config.json`'s `model_type`.
pub fn detect_family(dir: &Path) -> Result<Family> {
    let config = read_config(dir)?;
    match config["model_type"].as_str() {
        Some("bert") => Ok(Family::Dnabert2),
        Some("esm") => Ok(Family::Nt),
        Some("hyenadna") => Ok(Family::HyenaDna),
        other => Err(Error::Embedder {
            spec: dir.display().to_string(),
            message: format!(
                "config.json has model_type {other:?}; expected bert (DNABERT-2), esm (NT) or \
                 hyenadna; or name the family: dnabert2:DIR, nt:DIR, hyenadna:DIR"
            ),
        }),
    }
}

/// The weights file of a checkpoint: `model.safetensors`, else `pytorch_model.bin`.
pub fn weights_file(dir: &Path) -> Result<PathBuf> {
    ["model.safetensors", "pytorch_model.bin"]
        .iter()
        .map(|name| dir.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| Error::Embedder {
            spec: dir.display().to_string(),
            message: "no model.safetensors or pytorch_model.bin in the folder".into(),
        })
}

/// Every tensor of the checkpoint's weights file (`model.safetensors` or pickle
/// `pytorch_model.bin`), as F32 on `device`.
pub fn read_weights(dir: &Path, device: &Device) -> Result<HashMap<String, Tensor>> {
    let path = weights_file(dir)?;
    let read = || -> candle_core::Result<HashMap<String, Tensor>> {
        let raw: Vec<(String, Tensor)> = match path.extension().and_then(|e| e.to_str()) {
            Some("safetensors") => candle_core::safetensors::load(&path, &Device::Cpu)?
                .into_iter()
                .collect(),
            _ => candle_core::pickle::read_all(&path)?,
        };
        raw.into_iter()
            .map(|(name, t)| Ok((name, t.to_dtype(DType::F32)?.to_device(device)?)))
            .collect()
    };
    read().map_err(|e| Error::Embedder {
        spec: dir.display().to_string(),
        message: format!("cannot read {}: {e}", path.display()),
    })
}

/// A [`VarBuilder`] over the checkpoint's weights. With `trainable`, every tensor becomes a
/// [`Var`] in that map, so a forward pass records the graph for fine-tuning and the map can
/// be saved back under the same names; without, the weights are constants.
pub fn weights_builder(
    dir: &Path,
    device: &Device,
    trainable: Option<&VarMap>,
) -> Result<VarBuilder<'static>> {
    let tensors = read_weights(dir, device)?;
    let Some(map) = trainable else {
        return Ok(VarBuilder::from_tensors(tensors, DType::F32, device));
    };
    let mut data = map
        .data()
        .lock()
        .expect("the var map lock is never poisoned");
    for (name, tensor) in tensors {
        data.insert(name, Var::from_tensor(&tensor).map_err(Error::model)?);
    }
    drop(data);
    Ok(VarBuilder::from_varmap(map, DType::F32, device))
}

/// `sha256:` of config.json followed by the weights file, as 16 hex digits: two folders
/// with the same identity produce the same vectors.
pub fn checkpoint_identity(dir: &Path) -> Result<String> {
    let mut hasher = Sha256::new();
    for path in [dir.join("config.json"), weights_file(dir)?] {
        let mut file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut buf).map_err(|e| Error::io(&path, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
    }
    let digest = hasher.finalize();
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    Ok(format!("sha256:{hex}"))
}
