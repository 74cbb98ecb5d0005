//! NT's 6-mer tokenizer (`EsmTokenizer` over NT's vocabulary).

use std::collections::HashMap;
use std::path::Path;

use crate::{Error, Result};

/// NT's `EsmTokenizer`: `<cls>`, then every vocab entry matched whole, longest first, left to
/// right. With NT's vocab this is "6-mer if the next 6 bases are all ACGT, else one base", so
/// N and the tail of a run are single tokens. A run of characters outside the vocab
/// (lowercase included) is one `<unk>`; whitespace separates such runs and yields nothing, as
/// in the reference's `str.split()` of leftovers. No end token (NT's `eos_token` is null).
pub(super) struct KmerTokenizer {
    ids: HashMap<Vec<u8>, u32>,
    longest: usize,
    cls: u32,
    unk: u32,
}

impl KmerTokenizer {
    pub(super) fn load(dir: &Path) -> Result<Self> {
        let path = dir.join("vocab.txt");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        Self::from_tokens(text.lines().map(str::trim)).map_err(|message| Error::Embedder {
            spec: dir.display().to_string(),
            message,
        })
    }

    /// The vocab in id order; a repeated token keeps its last id, as in the reference.
    pub(super) fn from_tokens<'a>(
        tokens: impl IntoIterator<Item = &'a str>,
    ) -> std::result::Result<Self, String> {
        let ids: HashMap<Vec<u8>, u32> = (0u32..)
            .zip(tokens)
            .map(|(id, token)| (token.as_bytes().to_vec(), id))
            .collect();
        let id = |t: &str| {
            ids.get(t.as_bytes())
                .copied()
                .ok_or(format!("vocab.txt has no {t}"))
        };
        let (cls, unk) = (id("<cls>")?, id("<unk>")?);
        let longest = ids.keys().map(Vec::len).max().unwrap_or(0);
        Ok(KmerTokenizer {
            ids,
            longest,
            cls,
            unk,
        })
    }

    pub(super) fn tokenize(&self, seq: &str) -> Vec<u32> {
        let bytes = seq.as_bytes();
        let mut out = Vec::with_capacity(bytes.len() / 6 + 8);
        out.push(self.cls);
        let (mut i, mut in_unknown) = (0, false);
        while i < bytes.len() {
            if let Some((id, len)) = self.longest_match(&bytes[i..]) {
                out.push(id);
                i += len;
                in_unknown = false;
                continue;
            }
            if bytes[i].is_ascii_whitespace() {
                in_unknown = false;
            } else if !in_unknown {
                out.push(self.unk);
                in_unknown = true;
            }
            i += 1;
        }
        out
    }

    pub(super) fn longest_match(&self, rest: &[u8]) -> Option<(u32, usize)> {
        (1..=self.longest.min(rest.len()))
            .rev()
            .find_map(|n| self.ids.get(&rest[..n]).map(|&id| (id, n)))
    }
}
