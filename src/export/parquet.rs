//! Parquet export through the Arrow crates: columns `id` (uint64), `name`, `label`,
//! `sequence` (strings), `metadata` (JSON text, null when a record has none) and `vector`
//! (fixed-size list of float32, the layout LanceDB and pyarrow read as a vector column).
//! Each [`Sink::write`] call becomes one row group, so memory stays at one chunk of rows.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{
    ArrayRef, FixedSizeListArray, Float32Array, RecordBatch, StringArray, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use super::{write_error, ExportRow, Sink, Written};
use crate::{Error, Result};

pub(super) struct ParquetSink {
    writer: ArrowWriter<File>,
    schema: SchemaRef,
    item: Arc<Field>,
    dim: usize,
    path: PathBuf,
}

impl ParquetSink {
    pub(super) fn create(path: &Path, dim: usize) -> Result<Self> {
        let item = Arc::new(Field::new("item", DataType::Float32, false));
        let vector = DataType::FixedSizeList(item.clone(), dim as i32);
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::UInt64, false),
            Field::new("name", DataType::Utf8, false),
            Field::new("label", DataType::Utf8, false),
            Field::new("sequence", DataType::Utf8, false),
            Field::new("metadata", DataType::Utf8, true),
            Field::new("vector", vector, false),
        ]));
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        let file = File::create(path).map_err(|e| Error::io(path, e))?;
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))
            .map_err(|e| write_error(path, e))?;
        Ok(ParquetSink {
            writer,
            schema,
            item,
            dim,
            path: path.to_path_buf(),
        })
    }

    fn batch(&self, rows: &[ExportRow]) -> Result<RecordBatch> {
        let strings = |f: fn(&ExportRow) -> &str| -> ArrayRef {
            Arc::new(rows.iter().map(|r| Some(f(r))).collect::<StringArray>())
        };
        let metadata: StringArray = rows
            .iter()
            .map(|r| {
                r.metadata
                    .as_ref()
                    .map(|m| serde_json::Value::Object(m.clone()).to_string())
            })
            .collect();
        let values: Float32Array = rows.iter().flat_map(|r| r.vector.iter().copied()).collect();
        let vectors =
            FixedSizeListArray::try_new(self.item.clone(), self.dim as i32, Arc::new(values), None)
                .map_err(|e| write_error(&self.path, e))?;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(rows.iter().map(|r| r.id).collect::<UInt64Array>()),
            strings(|r| &r.name),
            strings(|r| &r.label),
            strings(|r| &r.sequence),
            Arc::new(metadata),
            Arc::new(vectors),
        ];
        RecordBatch::try_new(self.schema.clone(), columns).map_err(|e| write_error(&self.path, e))
    }
}

impl Sink for ParquetSink {
    fn write(&mut self, rows: &[ExportRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let batch = self.batch(rows)?;
        self.writer
            .write(&batch)
            .map_err(|e| write_error(&self.path, e))?;
        // One row group per chunk: the writer holds no more than one chunk.
        self.writer.flush().map_err(|e| write_error(&self.path, e))
    }

    fn finish(self: Box<Self>) -> Result<Written> {
        let ParquetSink { writer, path, .. } = *self;
        writer.close().map_err(|e| write_error(&path, e))?;
        Ok(Written {
            files: vec![path],
            fields_left_out: 0,
        })
    }
}
