//! The HyenaDNA `-hf` character tokenizer (`HyenaDNATokenizer`).
//!
//! One id per character, then `[SEP]`; no `[CLS]`. A character missing from the vocabulary,
//! lowercase included, becomes `[UNK]`. Strings such as `"[SEP]"` inside the text are not
//! recognised as special tokens; genovec only feeds validated bases.

use std::collections::HashMap;
use std::path::Path;

use crate::{Error, Result};

/// The vocabulary `tokenization_hyena.py` hard-codes (the `-hf` repos ship no vocab file):
/// seven special tokens, then the characters A C G T N from id 7.
const DEFAULT_VOCAB: [(&str, u32); 12] = [
    ("[CLS]", 0),
    ("[SEP]", 1),
    ("[BOS]", 2),
    ("[MASK]", 3),
    ("[PAD]", 4),
    ("[RESERVED]", 5),
    ("[UNK]", 6),
    ("A", 7),
    ("C", 8),
    ("G", 9),
    ("T", 10),
    ("N", 11),
];

/// Character-level tokenizer with the ids of its three special tokens.
#[derive(Debug, Clone)]
pub struct CharTokenizer {
    /// Single-character entries of the vocabulary.
    chars: HashMap<char, u32>,
    sep: u32,
    unk: u32,
    pad: u32,
}

impl CharTokenizer {
    /// `dir/vocab.json` when present, else the built-in vocabulary.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join("vocab.json");
        if !path.is_file() {
            return Self::from_vocab(
                DEFAULT_VOCAB
                    .iter()
                    .map(|&(t, i)| (t.to_string(), i))
                    .collect(),
                dir,
            );
        }
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let vocab: HashMap<String, u32> =
            serde_json::from_str(&text).map_err(|e| Error::Parse {
                source_name: path.display().to_string(),
                location: format!("line {}", e.line()),
                message: e.to_string(),
            })?;
        Self::from_vocab(vocab, dir)
    }

    /// From a token → id map that must hold `[SEP]`, `[UNK]` and `[PAD]`.
    fn from_vocab(vocab: HashMap<String, u32>, dir: &Path) -> Result<Self> {
        let special = |name: &str| {
            vocab.get(name).copied().ok_or_else(|| Error::Embedder {
                spec: dir.display().to_string(),
                message: format!("vocab.json has no {name} token"),
            })
        };
        let (sep, unk, pad) = (special("[SEP]")?, special("[UNK]")?, special("[PAD]")?);
        let chars = vocab
            .iter()
            .filter_map(|(token, &id)| {
                let mut it = token.chars();
                match (it.next(), it.next()) {
                    (Some(ch), None) => Some((ch, id)),
                    _ => None,
                }
            })
            .collect();
        Ok(CharTokenizer {
            chars,
            sep,
            unk,
            pad,
        })
    }

    /// The built-in vocabulary (for tests).
    #[cfg(test)]
    pub fn builtin() -> Self {
        Self::from_vocab(
            DEFAULT_VOCAB
                .iter()
                .map(|&(t, i)| (t.to_string(), i))
                .collect(),
            Path::new("builtin"),
        )
        .expect("the built-in vocabulary has its special tokens")
    }

    /// Ids of `seq` as is (no uppercasing), `[SEP]` appended.
    pub fn encode(&self, seq: &str) -> Vec<u32> {
        let mut ids: Vec<u32> = seq
            .chars()
            .map(|ch| self.chars.get(&ch).copied().unwrap_or(self.unk))
            .collect();
        ids.push(self.sep);
        ids
    }

    /// The `[PAD]` id.
    pub fn pad_id(&self) -> u32 {
        self.pad
    }
}
