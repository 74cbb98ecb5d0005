//! Embedders: turn DNA sequences into fixed-length vectors.
//!
//! Every embedder implements [`Embedder`] and passes the shared contract suite in
//! `contract.rs` (determinism, batch equals one-by-one, dimension, finiteness).

mod composition;
#[cfg(test)]
pub(crate) mod contract;
mod external;
pub mod models;

use std::path::Path;

pub use composition::{Composition, CompositionConfig};
pub use external::{is_external, External, MAX_EXTERNAL_DIM};
pub use models::{Family, LanguageModel, ModelEmbedder};

use crate::{Error, Result};

/// A sequence embedder.
pub trait Embedder: Send + Sync {
    /// The family name, as in the spec (`composition`, `dnabert2`, ...).
    fn name(&self) -> &str;
    /// What makes two instances produce the same vectors: version and parameters, or a
    /// checkpoint hash. Collections record it and refuse another.
    fn identity(&self) -> String;
    /// Length of every vector.
    fn dim(&self) -> usize;
    /// Embeds validated ACGTN sequences, one vector each, in order.
    fn embed_batch(&self, seqs: &[&[u8]]) -> Result<Vec<Vec<f32>>>;
}

/// Builds an embedder from a spec: `composition` (the default), or a model family with a
/// checkpoint folder (`dnabert2:DIR`, `nt:DIR`, `hyenadna:DIR`, `DIR`). `composition:OPTIONS`
/// sets the composition embedder's parameters ([`CompositionConfig::parse_options`]).
///
/// A folder is recognised by its `config.json`; anything else is an error naming the spec.
pub fn from_spec(spec: &str) -> Result<Box<dyn Embedder>> {
    if spec == "composition" {
        return Ok(Box::new(Composition::default()));
    }
    if let Some(options) = spec.strip_prefix("external:") {
        let external = External::parse(options).map_err(|message| Error::Embedder {
            spec: spec.to_string(),
            message,
        })?;
        return Ok(Box::new(external));
    }
    if let Some(options) = spec.strip_prefix("composition:") {
        let config =
            CompositionConfig::parse_options(options).map_err(|message| Error::Embedder {
                spec: spec.to_string(),
                message,
            })?;
        return Ok(Box::new(Composition::new(config)));
    }
    let (family, dir) = model_spec(spec)?;
    let embedder = ModelEmbedder::load(family, dir, false).map_err(|e| match e {
        Error::Embedder { message, .. } => Error::Embedder {
            spec: spec.to_string(),
            message,
        },
        other => other,
    })?;
    Ok(Box::new(embedder))
}

/// The family (if named) and checkpoint folder of a model spec (`dnabert2:DIR`, `nt:DIR`,
/// `hyenadna:DIR` or `DIR`); the folder must hold a `config.json`.
pub fn model_spec(spec: &str) -> Result<(Option<Family>, &Path)> {
    let (family, dir) = match spec.split_once(':') {
        Some((prefix, dir)) => match Family::from_prefix(prefix) {
            Some(f) => (Some(f), dir),
            None => (None, spec),
        },
        None => (None, spec),
    };
    let dir = Path::new(dir);
    if !dir.join("config.json").is_file() {
        return Err(Error::Embedder {
            spec: spec.to_string(),
            message:
                "unknown embedder: expected composition, dnabert2:DIR, nt:DIR, \
                      hyenadna:DIR, external:NAME:DIM or a checkpoint folder DIR with a config.json"
                    .into(),
        });
    }
    Ok((family, dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_composition_builds_and_others_are_clear_errors() {
        assert_eq!(from_spec("composition").unwrap().name(), "composition");
        let err = from_spec("bogus").err().unwrap().to_string();
        assert!(err.contains("bogus"), "{err}");
    }
}
