//! Embedders: turn DNA sequences into fixed-length vectors.
//!
//! Every embedder implements [`Embedder`] and passes the shared contract suite in
//! `contract.rs` (determinism, batch equals one-by-one, dimension, finiteness).

mod composition;
#[cfg(test)]
pub(crate) mod contract;

pub use composition::{Composition, CompositionConfig};

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
/// checkpoint folder (`dnabert2:DIR`, `nt:DIR`, `hyenadna:DIR`, `DIR`).
pub fn from_spec(spec: &str) -> Result<Box<dyn Embedder>> {
    match spec {
        "composition" => Ok(Box::new(Composition::default())),
        other => Err(Error::Embedder {
            spec: other.to_string(),
            message: "unknown embedder; this build supports `composition` (language-model \
                      embedders dnabert2:DIR, nt:DIR, hyenadna:DIR are not built yet)"
                .into(),
        }),
    }
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
