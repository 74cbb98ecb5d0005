//! `external:NAME:DIM`: embeddings computed outside genovec (a model it does not run), stored
//! as given. The spec names the model and fixes the dimension; genovec cannot embed a
//! sequence for it, so such a collection is searched and classified with query vectors.

use super::Embedder;
use crate::{Error, Result};

/// The largest dimension an external embedding may have.
pub const MAX_EXTERNAL_DIM: usize = 65_536;

/// An embedder that only names vectors given from outside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct External {
    spec: String,
    dim: usize,
}

impl External {
    /// Parses `NAME:DIM` (what follows `external:`); NAME is non-empty, DIM in
    /// 1..=[`MAX_EXTERNAL_DIM`].
    pub fn parse(options: &str) -> std::result::Result<External, String> {
        let (name, dim) = options
            .rsplit_once(':')
            .ok_or("expected external:NAME:DIM, e.g. external:esm2:1280")?;
        if name.trim().is_empty() || name.chars().any(char::is_control) {
            return Err("NAME must be non-empty text".into());
        }
        let dim: usize = dim
            .parse()
            .ok()
            .filter(|d| (1..=MAX_EXTERNAL_DIM).contains(d))
            .ok_or_else(|| {
                format!("DIM must be a number from 1 to {MAX_EXTERNAL_DIM}, got {dim:?}")
            })?;
        Ok(External {
            spec: format!("external:{name}:{dim}"),
            dim,
        })
    }
}

/// True for a spec of external embeddings.
pub fn is_external(spec: &str) -> bool {
    spec.starts_with("external:")
}

impl Embedder for External {
    fn name(&self) -> &str {
        "external"
    }

    fn identity(&self) -> String {
        self.spec.clone()
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn embed_batch(&self, _seqs: &[&[u8]]) -> Result<Vec<Vec<f32>>> {
        Err(Error::Embedder {
            spec: self.spec.clone(),
            message: "this collection holds external embeddings, which genovec cannot compute \
                      from a sequence: give vectors (`--vectors FILE`, HTTP \"vectors\", a numpy \
                      array in Python)"
                .into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_sequences_are_refused() {
        let e = External::parse("esm2:1280").unwrap();
        assert_eq!(
            (e.identity().as_str(), e.dim()),
            ("external:esm2:1280", 1280)
        );
        assert_eq!(
            External::parse("my:model:8").unwrap().dim(),
            8,
            "the last ':' splits"
        );
        assert!(External::parse("esm2")
            .unwrap_err()
            .contains("external:NAME:DIM"));
        assert!(External::parse("esm2:0").unwrap_err().contains("DIM"));
        assert!(External::parse(":4").unwrap_err().contains("NAME"));
        let err = e.embed_batch(&[b"ACGT"]).unwrap_err().to_string();
        assert!(
            err.contains("external:esm2:1280") && err.contains("give vectors"),
            "{err}"
        );
    }
}
