//! Parquet tables (what `genovec export --format parquet`, pandas, polars and LanceDB write):
//! columns are chosen as for CSV ([`super::ReadOptions`]); a `metadata` column of JSON
//! objects (as exported) and every other column of strings, numbers or booleans become the
//! record's metadata; `id`, `vector` and columns of other types (lists, structs) are not
//! read. Rows are numbered from 1 in errors.

use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

use super::{
    check_field, check_metadata, non_empty, parse_seq, source_name, Metadata, ReadOptions,
    SeqRecord, RESERVED_KEYS,
};
use crate::{Error, Result};

/// Reads every row of a Parquet file into records.
pub(super) fn read_parquet(path: &Path, opts: &ReadOptions) -> Result<Vec<SeqRecord>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| parse_error(path, "the file", e))?;
    let columns = Columns::find(reader.schema(), opts, path)?;
    let mut records = Vec::new();
    for batch in reader
        .with_batch_size(8192)
        .build()
        .map_err(|e| parse_error(path, "the file", e))?
    {
        let batch =
            batch.map_err(|e| parse_error(path, &format!("row {}", records.len() + 1), e))?;
        columns.read_batch(&batch, path, opts, &mut records)?;
    }
    Ok(records)
}

fn parse_error(path: &Path, location: &str, e: impl std::fmt::Display) -> Error {
    Error::Parse {
        source_name: source_name(path),
        location: location.to_string(),
        message: e.to_string(),
    }
}

/// The columns the reader uses, by name.
struct Columns {
    seq: String,
    label: Option<String>,
    name: Option<String>,
    /// The exported `metadata` column (JSON text), when present.
    metadata: Option<String>,
    /// Scalar columns that become metadata keys.
    extra: Vec<String>,
}

impl Columns {
    fn find(schema: &Schema, opts: &ReadOptions, path: &Path) -> Result<Columns> {
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        let find = |wanted: &str| {
            (names.iter().find(|n| **n == wanted))
                .or_else(|| names.iter().find(|n| n.eq_ignore_ascii_case(wanted)))
                .map(|n| n.to_string())
        };
        let require = |wanted: &str| {
            find(wanted).ok_or_else(|| Error::MissingColumn {
                source_name: source_name(path),
                column: wanted.to_string(),
                available: names.join(", "),
            })
        };
        let seq = match &opts.seq_column {
            Some(c) => require(c)?,
            None => find("sequence")
                .or_else(|| find("seq"))
                .map_or_else(|| require("sequence"), Ok)?,
        };
        let label = match &opts.label_column {
            Some(c) => Some(require(c)?),
            None => find("label"),
        };
        let name = match &opts.name_column {
            Some(c) => Some(require(c)?),
            None => find("name").or_else(|| find("id")),
        };
        let metadata = find("metadata").filter(|m| Some(m) != name.as_ref());
        let used = [Some(&seq), label.as_ref(), name.as_ref(), metadata.as_ref()];
        let extra = schema
            .fields()
            .iter()
            .filter(|f| scalar(f.data_type()).is_some())
            .map(|f| f.name().clone())
            .filter(|n| !used.contains(&Some(n)))
            .filter(|n| !RESERVED_KEYS.iter().any(|k| k.eq_ignore_ascii_case(n)))
            .collect();
        Ok(Columns {
            seq,
            label,
            name,
            metadata,
            extra,
        })
    }

    fn read_batch(
        &self,
        batch: &RecordBatch,
        path: &Path,
        opts: &ReadOptions,
        out: &mut Vec<SeqRecord>,
    ) -> Result<()> {
        let text = |name: &str| column_text(batch, name, path);
        let seqs = text(&self.seq)?;
        let labels = self.label.as_deref().map(text).transpose()?;
        let names = self.name.as_deref().map(text).transpose()?;
        let meta_json = self.metadata.as_deref().map(text).transpose()?;
        let extra: Vec<(&String, ArrayRef)> = (self.extra.iter())
            .map(|n| Ok((n, column(batch, n, path)?)))
            .collect::<Result<_>>()?;
        for i in 0..batch.num_rows() {
            let row = out.len() + 1;
            let location = || format!("row {row}");
            let cell = |col: &Option<Vec<Option<String>>>| col.as_ref().and_then(|c| c[i].clone());
            let seq = parse_seq(seqs[i].as_deref().unwrap_or("").as_bytes(), path, location)?;
            let name = cell(&names)
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| format!("{}:{row}", source_name(path)));
            let label = cell(&labels)
                .filter(|l| !l.is_empty())
                .or_else(|| opts.label.clone());
            let fields = [("name", Some(&name)), ("label", label.as_ref())];
            for (field, value) in fields {
                if let Some(Err(message)) = value.map(|v| check_field(field, v)) {
                    return Err(parse_error(path, &location(), message));
                }
            }
            let mut meta = match cell(&meta_json) {
                Some(json) => serde_json::from_str::<Metadata>(&json)
                    .map_err(|e| parse_error(path, &location(), format!("metadata: {e}")))?,
                None => Metadata::new(),
            };
            for (key, array) in &extra {
                if let Some(value) = scalar_value(array.as_ref(), i) {
                    meta.insert(key.to_string(), value);
                }
            }
            check_metadata(&meta).map_err(|m| parse_error(path, &location(), m))?;
            out.push(SeqRecord {
                name,
                seq,
                label,
                metadata: non_empty(meta),
            });
        }
        Ok(())
    }
}

/// The kind of JSON value a column of this type gives, if it is a scalar.
fn scalar(t: &DataType) -> Option<DataType> {
    match t {
        DataType::Boolean => Some(DataType::Boolean),
        t if t.is_integer() => Some(DataType::Int64),
        t if t.is_floating() => Some(DataType::Float64),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Some(DataType::Utf8),
        _ => None,
    }
}

fn column(batch: &RecordBatch, name: &str, path: &Path) -> Result<ArrayRef> {
    let array = batch
        .column_by_name(name)
        .expect("the column is in the schema");
    let target = scalar(array.data_type()).unwrap_or(DataType::Utf8);
    arrow_cast::cast(array, &target).map_err(|e| parse_error(path, &format!("column {name:?}"), e))
}

/// A column as text cells (numbers are written out), nulls as `None`.
fn column_text(batch: &RecordBatch, name: &str, path: &Path) -> Result<Vec<Option<String>>> {
    let array = batch
        .column_by_name(name)
        .expect("the column is in the schema");
    let text = arrow_cast::cast(array, &DataType::Utf8)
        .map_err(|e| parse_error(path, &format!("column {name:?}"), e))?;
    let text = text.as_string::<i32>();
    Ok((0..text.len())
        .map(|i| text.is_valid(i).then(|| text.value(i).to_string()))
        .collect())
}

/// Row `i` of a scalar column (cast by [`column`]) as JSON; `None` for a null or a
/// non-finite float.
fn scalar_value(array: &dyn Array, i: usize) -> Option<Value> {
    if array.is_null(i) {
        return None;
    }
    match array.data_type() {
        DataType::Boolean => Some(Value::Bool(array.as_boolean().value(i))),
        DataType::Int64 => Some(Value::from(array.as_primitive::<Int64Type>().value(i))),
        DataType::Float64 => {
            serde_json::Number::from_f64(array.as_primitive::<Float64Type>().value(i))
                .map(Value::Number)
        }
        _ => Some(Value::String(array.as_string::<i32>().value(i).to_string())),
    }
}
