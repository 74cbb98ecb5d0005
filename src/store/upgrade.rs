//! In-place upgrade of files written before values carried checksums (format version 1).
//!
//! Version 1 stored the same tables with unsealed values, and labels and tombstones with other
//! value types. A writer that opens such a file rewrites every value sealed, in one
//! transaction: a crash leaves the old file, a commit the new one.

use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

use super::load::stored_version;
use super::open::{meta_json, storage};
use super::seal::seal;
use super::tables::{
    self, FORMAT_VERSION, GRAPH, KEY_FORMAT, LABELS, META, RECORDS, TOMBSTONES, VECTORS,
};
use crate::Result;

const LABELS_V1: TableDefinition<u32, &str> = TableDefinition::new("labels");
const TOMBSTONES_V1: TableDefinition<u64, ()> = TableDefinition::new("tombstones");

/// Upgrades a version-1 file to the current format; returns whether it did.
pub fn upgrade_if_old(db: &Database, path: &Path) -> Result<bool> {
    let txn = db.begin_read().map_err(storage)?;
    if stored_version(&txn, path)? != Some(1) {
        return Ok(false);
    }
    drop(txn);
    let txn = db.begin_write().map_err(storage)?;
    seal_all(&txn, META, |key: &str, raw| tables::meta_value(key, raw))?;
    seal_all(&txn, RECORDS, |id: u64, raw| {
        seal("records", &id.to_le_bytes(), raw)
    })?;
    seal_all(&txn, VECTORS, |id: u64, raw| {
        seal("vectors", &id.to_le_bytes(), raw)
    })?;
    seal_all(&txn, GRAPH, |key: &str, raw| {
        seal("graph", key.as_bytes(), raw)
    })?;
    retype_labels(&txn)?;
    retype_tombstones(&txn)?;
    txn.open_table(META)
        .map_err(storage)?
        .insert(
            KEY_FORMAT,
            meta_json(KEY_FORMAT, &FORMAT_VERSION).as_slice(),
        )
        .map_err(storage)?;
    txn.commit().map_err(storage)?;
    tracing::info!(
        "{}: upgraded from format version 1 (values now carry checksums)",
        path.display()
    );
    Ok(true)
}

/// Rewrites every value of a `&[u8]`-valued table as `sealed(key, old value)`.
fn seal_all<K>(
    txn: &WriteTransaction,
    def: TableDefinition<K, &[u8]>,
    sealed: impl Fn(K::SelfType<'_>, &[u8]) -> Vec<u8>,
) -> Result<()>
where
    K: redb::Key + 'static,
    for<'a> K::SelfType<'a>: Clone,
{
    let mut table = txn.open_table(def).map_err(storage)?;
    let mut rows: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for entry in table.iter().map_err(storage)? {
        let (key, value) = entry.map_err(storage)?;
        let new = sealed(key.value(), value.value());
        rows.push((K::as_bytes(&key.value()).as_ref().to_vec(), new));
    }
    for (key, value) in rows {
        table
            .insert(K::from_bytes(&key), value.as_slice())
            .map_err(storage)?;
    }
    Ok(())
}

fn retype_labels(txn: &WriteTransaction) -> Result<()> {
    let labels: Vec<(u32, String)> =
        read_all(txn, LABELS_V1, |i, name: &str| (i, name.to_string()))?;
    txn.delete_table(LABELS_V1).map_err(storage)?;
    let mut table = txn.open_table(LABELS).map_err(storage)?;
    for (index, name) in labels {
        table
            .insert(index, tables::label_value(index, &name).as_slice())
            .map_err(storage)?;
    }
    Ok(())
}

fn retype_tombstones(txn: &WriteTransaction) -> Result<()> {
    let ids: Vec<u64> = read_all(txn, TOMBSTONES_V1, |id, _: ()| id)?;
    txn.delete_table(TOMBSTONES_V1).map_err(storage)?;
    let mut table = txn.open_table(TOMBSTONES).map_err(storage)?;
    for id in ids {
        table
            .insert(id, tables::tombstone_value(id).as_slice())
            .map_err(storage)?;
    }
    Ok(())
}

fn read_all<K, V, T>(
    txn: &WriteTransaction,
    def: TableDefinition<K, V>,
    each: impl Fn(K::SelfType<'_>, V::SelfType<'_>) -> T,
) -> Result<Vec<T>>
where
    K: redb::Key + 'static,
    V: redb::Value + 'static,
{
    let table = txn.open_table(def).map_err(storage)?;
    let mut out = Vec::new();
    for entry in table.iter().map_err(storage)? {
        let (key, value) = entry.map_err(storage)?;
        out.push(each(key.value(), value.value()));
    }
    Ok(out)
}
