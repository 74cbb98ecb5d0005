//! Writing records out of a collection: Parquet (through the Arrow crates), NPY (the vector
//! matrix, with a sidecar of ids), FASTA and JSON Lines.
//!
//! Every format writes the rows it is given, in order, as they come, so a million records
//! never sit in memory at once. The records carry their id, name, label, sequence,
//! metadata and stored vector (unit length in a cosine collection). Parquet and JSON Lines
//! keep everything; NPY keeps the vectors and ids; FASTA keeps what a header can hold (see
//! [`fasta`]).

mod fasta;
mod npy;
mod parquet;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Serialize;

use crate::seq::Metadata;
use crate::{Error, Result};

/// An export file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Apache Parquet: columns `id`, `name`, `label`, `sequence`, `metadata` (JSON text),
    /// `vector` (fixed-size list of float32).
    Parquet,
    /// NumPy: the `(n, dim)` float32 vector matrix, and the ids in `<stem>.ids.npy`.
    Npy,
    /// FASTA: `>name id=ID label=LABEL key=value ...`, then the sequence.
    Fasta,
    /// JSON Lines: one object per record, every field.
    Jsonl,
}

impl FromStr for ExportFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "parquet" => Ok(Self::Parquet),
            "npy" => Ok(Self::Npy),
            "fasta" => Ok(Self::Fasta),
            "jsonl" => Ok(Self::Jsonl),
            other => Err(format!(
                "unknown export format {other:?} (parquet, npy, fasta or jsonl)"
            )),
        }
    }
}

/// One record as exported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportRow {
    /// Record id.
    pub id: u64,
    /// Record name.
    pub name: String,
    /// Label.
    pub label: String,
    /// The sequence (ACGTN).
    pub sequence: String,
    /// User fields, when the record has any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// The stored vector.
    pub vector: Vec<f32>,
}

/// A writer of one export.
pub trait Sink {
    /// Writes the next rows.
    fn write(&mut self, rows: &[ExportRow]) -> Result<()>;
    /// Completes the files and says which were written and what was left out.
    fn finish(self: Box<Self>) -> Result<Written>;
}

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Written {
    /// The files, main file first.
    pub files: Vec<PathBuf>,
    /// Metadata fields the format could not hold (FASTA only), counted over all records.
    pub fields_left_out: usize,
}

/// Starts an export of `rows` records of dimension `dim` to `path`.
pub fn create(format: ExportFormat, path: &Path, rows: usize, dim: usize) -> Result<Box<dyn Sink>> {
    Ok(match format {
        ExportFormat::Parquet => Box::new(parquet::ParquetSink::create(path, dim)?),
        ExportFormat::Npy => Box::new(npy::NpySink::create(path, rows, dim)?),
        ExportFormat::Fasta => Box::new(fasta::FastaSink::create(path)?),
        ExportFormat::Jsonl => Box::new(JsonlSink {
            out: buffered(path)?,
            path: path.to_path_buf(),
        }),
    })
}

/// A new file behind a buffer.
fn buffered(path: &Path) -> Result<BufWriter<File>> {
    File::create(path)
        .map(BufWriter::new)
        .map_err(|e| Error::io(path, e))
}

/// Flushes a text export (FASTA, JSON Lines) and says what it wrote.
fn finish_text(mut out: BufWriter<File>, path: PathBuf, fields_left_out: usize) -> Result<Written> {
    out.flush().map_err(|e| Error::io(&path, e))?;
    Ok(Written {
        files: vec![path],
        fields_left_out,
    })
}

/// An I/O error writing `path`.
fn write_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::io(path, std::io::Error::other(e.to_string()))
}

/// JSON Lines: every field of every record.
struct JsonlSink {
    out: BufWriter<File>,
    path: PathBuf,
}

impl Sink for JsonlSink {
    fn write(&mut self, rows: &[ExportRow]) -> Result<()> {
        for row in rows {
            serde_json::to_writer(&mut self.out, row).map_err(|e| write_error(&self.path, e))?;
            self.out
                .write_all(b"\n")
                .map_err(|e| Error::io(&self.path, e))?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<Written> {
        finish_text(self.out, self.path, 0)
    }
}
