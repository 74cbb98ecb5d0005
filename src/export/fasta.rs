//! FASTA export: `>name id=ID label=LABEL key=value ...` and the sequence on one line, which
//! `genovec index` reads back (name, label and metadata; `id=` is not metadata there).
//!
//! A header is split at whitespace, so a name's whitespace becomes `_`, and a metadata value
//! that is a list, an object, or a string with whitespace, `=` or nothing in it cannot be
//! written: it is left out and counted ([`Written::fields_left_out`]). Parquet and JSON
//! Lines keep everything.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{buffered, finish_text, ExportRow, Sink, Written};
use crate::{Error, Result};

pub(super) struct FastaSink {
    out: BufWriter<File>,
    path: PathBuf,
    left_out: usize,
}

impl FastaSink {
    pub(super) fn create(path: &Path) -> Result<Self> {
        Ok(FastaSink {
            out: buffered(path)?,
            path: path.to_path_buf(),
            left_out: 0,
        })
    }

    fn header(&mut self, row: &ExportRow) -> String {
        let name: String = row
            .name
            .chars()
            .map(|c| if c.is_whitespace() { '_' } else { c })
            .collect();
        let mut header = format!(">{name} id={} label={}", row.id, row.label);
        for (key, value) in row.metadata.iter().flatten() {
            match header_value(value).filter(|_| header_safe(key)) {
                Some(text) => header.push_str(&format!(" {key}={text}")),
                None => self.left_out += 1,
            }
        }
        header
    }
}

/// A value as a header word, when it can be one that reads back the same.
fn header_value(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if header_safe(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn header_safe(text: &str) -> bool {
    !text.is_empty() && !text.contains(|c: char| c.is_whitespace() || c == '=')
}

impl Sink for FastaSink {
    fn write(&mut self, rows: &[ExportRow]) -> Result<()> {
        for row in rows {
            let header = self.header(row);
            writeln!(self.out, "{header}\n{}", row.sequence)
                .map_err(|e| Error::io(&self.path, e))?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<Written> {
        finish_text(self.out, self.path, self.left_out)
    }
}
