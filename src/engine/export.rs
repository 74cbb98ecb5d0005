//! `export`: every live record of a collection, with its metadata and stored vector, written
//! in chunks so memory holds one chunk at a time.

use std::path::Path;

use crate::export::{self, ExportFormat, ExportRow, Written};
use crate::progress;
use crate::store::Collection;
use crate::Result;

/// Rows read from the collection and written per step (one Parquet row group).
const CHUNK: usize = 8192;

/// Writes every live record of `collection` to `out` in `format`, in id order.
pub fn export(collection: &Collection, format: ExportFormat, out: &Path) -> Result<Written> {
    let live: Vec<(usize, u64)> = collection
        .vectors()
        .live_rows()
        .map(|(row, id, _)| (row, id))
        .collect();
    let mut sink = export::create(format, out, live.len(), collection.config().dim)?;
    progress::phase("export", Some(live.len() as u64));
    for (done, chunk) in live.chunks(CHUNK).enumerate() {
        let rows: Vec<usize> = chunk.iter().map(|&(row, _)| row).collect();
        let ids: Vec<u64> = chunk.iter().map(|&(_, id)| id).collect();
        let records = collection.rows(&ids)?;
        let vectors = collection.row_vectors(&rows)?;
        let dim = collection.config().dim.max(1);
        let out: Vec<ExportRow> = records
            .into_iter()
            .zip(&ids)
            .zip(vectors.chunks_exact(dim))
            .map(|((record, &id), vector)| ExportRow {
                id,
                name: record.name,
                label: collection.label_name(record.label).to_string(),
                sequence: String::from_utf8_lossy(&record.seq).into_owned(),
                metadata: collection.metadata_of(id).cloned(),
                vector: vector.to_vec(),
            })
            .collect();
        sink.write(&out)?;
        progress::advance((done * CHUNK + chunk.len()) as u64);
    }
    progress::finish();
    sink.finish()
}
