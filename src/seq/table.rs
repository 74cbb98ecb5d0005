//! CSV and TSV tables with a header row.

use std::path::Path;

use csv::StringRecord;

use super::input::Input;
use super::{
    check_field, check_metadata, fallback_name, non_empty, parse_seq, source_name, text_value,
    Metadata, ReadOptions, SeqRecord, RESERVED_KEYS,
};
use crate::{Error, Result};

/// Reads a delimited table (comma or tab) opened from `path` into records.
pub(super) fn read_table(
    input: Input,
    delimiter: u8,
    path: &Path,
    opts: &ReadOptions,
) -> Result<Vec<SeqRecord>> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .trim(csv::Trim::All)
        .from_reader(input);
    let headers = reader.headers().map_err(|e| csv_error(path, e))?.clone();
    if headers.iter().all(str::is_empty) {
        return Err(Error::Parse {
            source_name: source_name(path),
            location: "line 1".into(),
            message: "the file is empty (expected a header row)".into(),
        });
    }
    let columns = Columns::find(&headers, opts, path)?;
    let mut records = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| csv_error(path, e))?;
        records.push(columns.record(&row, path, opts)?);
    }
    Ok(records)
}

/// Indices of the columns the reader uses; every other named column is metadata.
struct Columns {
    seq: usize,
    label: Option<usize>,
    name: Option<usize>,
    /// (index, key) of the metadata columns.
    extra: Vec<(usize, String)>,
}

impl Columns {
    fn find(headers: &StringRecord, opts: &ReadOptions, path: &Path) -> Result<Columns> {
        let seq = match &opts.seq_column {
            Some(col) => require(headers, col, path)?,
            None => find_any(headers, &["sequence", "seq"])
                .ok_or_else(|| missing(headers, "sequence", path))?,
        };
        let label = match &opts.label_column {
            Some(col) => Some(require(headers, col, path)?),
            None => find_any(headers, &["label"]),
        };
        let name = match &opts.name_column {
            Some(col) => Some(require(headers, col, path)?),
            None => find_any(headers, &["name", "id"]),
        };
        let used = [Some(seq), label, name];
        let extra = headers
            .iter()
            .enumerate()
            .filter(|(i, h)| !used.contains(&Some(*i)) && !h.is_empty() && !reserved(h))
            .map(|(i, h)| (i, h.to_string()))
            .collect();
        Ok(Columns {
            seq,
            label,
            name,
            extra,
        })
    }

    /// The row's metadata: its non-empty cells outside the sequence, label and name columns.
    fn metadata(&self, row: &StringRecord) -> Result<Option<Metadata>, String> {
        let meta: Metadata = self
            .extra
            .iter()
            .filter_map(|(i, key)| {
                let cell = row.get(*i).unwrap_or("").trim();
                (!cell.is_empty()).then(|| (key.clone(), text_value(cell)))
            })
            .collect();
        check_metadata(&meta)?;
        Ok(non_empty(meta))
    }

    fn record(&self, row: &StringRecord, path: &Path, opts: &ReadOptions) -> Result<SeqRecord> {
        let line = row.position().map_or(0, |p| p.line());
        let cell = |i: usize| row.get(i).unwrap_or("").trim();
        let seq = parse_seq(cell(self.seq).as_bytes(), path, || format!("line {line}"))?;
        let name = match self.name.map(cell) {
            Some(name) if !name.is_empty() => name.to_string(),
            _ => fallback_name(path, line),
        };
        let label = match self.label.map(cell) {
            Some(label) if !label.is_empty() => Some(label.to_string()),
            _ => opts.label.clone(),
        };
        let fields = [("name", Some(&name)), ("label", label.as_ref())];
        for (field, value) in fields {
            if let Some(Err(message)) = value.map(|v| check_field(field, v)) {
                return Err(Error::Parse {
                    source_name: source_name(path),
                    location: format!("line {line}"),
                    message,
                });
            }
        }
        let metadata = self.metadata(row).map_err(|message| Error::Parse {
            source_name: source_name(path),
            location: format!("line {line}"),
            message,
        })?;
        Ok(SeqRecord {
            name,
            seq,
            label,
            metadata,
        })
    }
}

/// A column named like a record field (`id` beside a `name` column, say) is not metadata.
fn reserved(header: &str) -> bool {
    RESERVED_KEYS.iter().any(|k| k.eq_ignore_ascii_case(header))
}

/// The index of the column named `wanted`: an exact match, else a case-insensitive one.
fn find_column(headers: &StringRecord, wanted: &str) -> Option<usize> {
    let wanted = wanted.trim();
    headers
        .iter()
        .position(|h| h == wanted)
        .or_else(|| headers.iter().position(|h| h.eq_ignore_ascii_case(wanted)))
}

/// The first of `candidates` present in the header.
fn find_any(headers: &StringRecord, candidates: &[&str]) -> Option<usize> {
    candidates.iter().find_map(|c| find_column(headers, c))
}

/// A column the user asked for by name; its absence is an error.
fn require(headers: &StringRecord, wanted: &str, path: &Path) -> Result<usize> {
    find_column(headers, wanted).ok_or_else(|| missing(headers, wanted, path))
}

fn missing(headers: &StringRecord, column: &str, path: &Path) -> Error {
    Error::MissingColumn {
        source_name: source_name(path),
        column: column.to_string(),
        available: headers.iter().collect::<Vec<_>>().join(", "),
    }
}

/// Converts a csv error into ours, keeping the line it happened on.
fn csv_error(path: &Path, err: csv::Error) -> Error {
    let location = match err.position() {
        Some(pos) => format!("line {}", pos.line()),
        None => "line ?".to_string(),
    };
    let message = match err.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("row has {len} fields but the header has {expected_len}"),
        csv::ErrorKind::Utf8 { err, .. } => {
            format!("field {} is not valid UTF-8", err.field() + 1)
        }
        _ => err.to_string(),
    };
    match err.into_kind() {
        csv::ErrorKind::Io(source) => Error::io(path, source),
        _ => Error::Parse {
            source_name: source_name(path),
            location,
            message,
        },
    }
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
