//! `check`: verifies a whole collection file, beyond what opening it verifies.
//!
//! Opening already checks every record, vector, label, tombstone, metadata entry, client id and the graph (checksums and
//! cross-references). This adds redb's own page checksums (every page of every tree, the
//! de-duplication table included) when no other process holds the file for writing, and the
//! de-duplication table and sequence hashes against the records.

use std::path::Path;

use redb::ReadableTable;
use serde::Serialize;

use super::collection::Collection;
use super::guard::guarded;
use super::open::{self, storage};
use super::tables::{self, DEDUP, VECTORS};
use super::write::{dedup_key, sequence_hash};
use crate::{Error, Result};

/// What a check of a collection file covered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    /// The file.
    pub path: String,
    /// Stored records (deleted ones included), each checksum, vector and sequence hash verified.
    pub records: usize,
    /// Tombstones, each naming a stored record.
    pub tombstones: usize,
    /// Nodes of the persisted graph, verified against the records.
    pub graph_nodes: usize,
    /// De-duplication entries, each naming the record it stands for.
    pub dedup_entries: usize,
    /// Records with metadata, each entry's checksum and JSON verified (at open).
    pub metadata_records: usize,
    /// Live records with a client id, each entry's checksum and key verified and naming a
    /// stored record (at open).
    pub client_ids: usize,
    /// Whether a trained classifier is stored (its checksum verified, its JSON parsed).
    pub classifier: bool,
    /// Whether redb's page checksums were verified: false when another process holds the file
    /// for writing (its tree is still read and checked value by value).
    pub pages_checked: bool,
}

/// Verifies the whole file at `path`; any damage is an error naming it.
pub fn check(path: &Path) -> Result<CheckReport> {
    let pages_checked = check_pages(path)?;
    let collection = Collection::open_reader(path)?;
    guarded(path, || {
        let records = collection.live_and_deleted_rows()?;
        for (id, row) in &records {
            if row.hash != sequence_hash(&row.seq) {
                return Err(corrupt(format!(
                    "record {id}'s sequence hash does not match"
                )));
            }
        }
        let dedup_entries = check_dedup(&collection, &records)?;
        check_float_vectors(&collection)?;
        let classifier = collection.classifier_blob()?;
        if let Some(json) = &classifier {
            serde_json::from_slice::<serde_json::Value>(json)
                .map_err(|e| corrupt(format!("classifier: {e}")))?;
        }
        Ok(CheckReport {
            path: path.display().to_string(),
            records: records.len(),
            tombstones: collection.tombstones,
            graph_nodes: collection.graph_nodes(),
            dedup_entries,
            metadata_records: collection.vectors.meta.iter().flatten().count(),
            client_ids: collection.clients.len(),
            classifier: classifier.is_some(),
            pages_checked,
        })
    })
}

fn corrupt(message: String) -> Error {
    Error::Corrupt {
        path: Default::default(),
        message,
    }
}

/// redb's integrity check (every page checksum of the committed trees). Returns false, having
/// checked nothing, when a writer holds the file.
fn check_pages(path: &Path) -> Result<bool> {
    guarded(path, || {
        let mut db = match open::open_write(path, false) {
            Ok(db) => db,
            Err(Error::CollectionInUse { .. }) => return Ok(false),
            Err(e) => return Err(e),
        };
        db.check_integrity().map_err(storage)?;
        Ok(true)
    })
}

/// A quantized collection loads only codes: check every float vector's checksum here, and
/// that the codes in memory are the ones it gives.
fn check_float_vectors(collection: &Collection) -> Result<()> {
    let (Some(quant), vectors) = (&collection.vectors.quant, &collection.vectors) else {
        return Ok(());
    };
    let txn = collection.db.begin_read()?;
    let table = txn.open_table(VECTORS).map_err(storage)?;
    let dim = vectors.dim;
    let (mut floats, mut codes) = (Vec::with_capacity(dim), Vec::with_capacity(dim));
    for (row, entry) in table.iter().map_err(storage)?.enumerate() {
        let (id, value) = entry.map_err(storage)?;
        let id = id.value();
        floats.clear();
        codes.clear();
        tables::vector_into(id, value.value(), dim, &mut floats).map_err(corrupt)?;
        quant.encode_into(&floats, &mut codes);
        if vectors.ids.get(row) != Some(&id) || codes[..] != vectors.codes[row * dim..][..dim] {
            return Err(corrupt(format!(
                "record {id}'s int8 codes do not match its vector"
            )));
        }
    }
    Ok(())
}

/// Every dedup entry must name a live record whose label and sequence give its key.
fn check_dedup(collection: &Collection, records: &[(u64, super::RecordRow)]) -> Result<usize> {
    let txn = collection.db.begin_read()?;
    let table = txn.open_table(DEDUP).map_err(storage)?;
    let mut count = 0;
    for entry in table.iter().map_err(storage)? {
        let (key, id) = entry.map_err(storage)?;
        let id = id.value();
        let row = records
            .binary_search_by_key(&id, |(i, _)| *i)
            .ok()
            .map(|i| &records[i].1)
            .filter(|_| {
                collection
                    .vectors
                    .row_of(id)
                    .is_some_and(|r| !collection.vectors.deleted[r])
            });
        let matches = row.is_some_and(|row| {
            dedup_key(collection.label_name(row.label), &row.seq) == *key.value()
        });
        if !matches {
            return Err(corrupt(format!(
                "a de-duplication entry names record {id}, which does not match it"
            )));
        }
        count += 1;
    }
    Ok(count)
}

impl Collection {
    /// Every stored row, deleted ones included, in id order.
    fn live_and_deleted_rows(&self) -> Result<Vec<(u64, super::RecordRow)>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(super::tables::RECORDS).map_err(storage)?;
        let mut out = Vec::with_capacity(self.vectors.len());
        for entry in table.iter().map_err(storage)? {
            let (id, value) = entry.map_err(storage)?;
            let row = super::tables::record_from(id.value(), value.value()).map_err(corrupt)?;
            out.push((id.value(), row));
        }
        Ok(out)
    }
}
