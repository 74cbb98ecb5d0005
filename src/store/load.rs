//! Loading a collection's state into memory, verifying every checksum and cross-reference.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use redb::{ReadableTable, ReadableTableMetadata};

use super::open::{storage, Db};
use super::tables::{
    self, CODES, FORMAT_VERSION, FORMAT_VERSION_INT8, GRAPH, GRAPH_KEY, GRAPH_LABELS_KEY,
    KEY_CONFIG, KEY_FORMAT, KEY_NEXT_ID, KEY_QUANT, LABELS, META, METADATA, RECORDS, TOMBSTONES,
    VECTORS,
};
use super::{CollectionConfig, GraphLayout, Int8Quantizer, Quantize, VectorSet};
use crate::{Error, Result};

/// Everything a collection keeps in memory, read in one snapshot.
pub struct Loaded {
    /// Settings.
    pub config: CollectionConfig,
    pub next_id: u64,
    pub labels: Vec<String>,
    pub vectors: VectorSet,
    pub graph: Option<GraphLayout>,
    pub tombstones: usize,
    /// The client ids of live records.
    pub clients: super::client_ids::ClientIds,
}

pub fn corrupt(path: &Path, message: impl Into<String>) -> Error {
    Error::Corrupt {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// The format version the file says it has, or `None` for a file with no collection in it.
/// Version 1 stored it unsealed.
pub fn stored_version(txn: &redb::ReadTransaction, path: &Path) -> Result<Option<u32>> {
    let meta = match txn.open_table(META) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(storage(e)),
    };
    let Some(raw) = meta.get(KEY_FORMAT).map_err(storage)? else {
        return Ok(None);
    };
    let raw = raw.value();
    if let Ok(json) = tables::meta_payload(KEY_FORMAT, raw) {
        return serde_json::from_slice(json)
            .map(Some)
            .map_err(|e| corrupt(path, format!("format version: {e}")));
    }
    match serde_json::from_slice::<u32>(raw) {
        Ok(1) => Ok(Some(1)),
        _ => Err(corrupt(path, "the format version fails its checksum")),
    }
}

/// What every open reads first: the settings, the next id, the label dictionary and the
/// quantizer, each checked.
pub struct Header {
    pub config: CollectionConfig,
    pub next_id: u64,
    pub labels: Vec<String>,
    pub quant: Option<Int8Quantizer>,
}

/// Reads and checks the header, or `None` for a file with no collection in it.
pub fn read_header(txn: &redb::ReadTransaction, path: &Path) -> Result<Option<Header>> {
    let version = match stored_version(txn, path)? {
        None => return Ok(None),
        Some(v @ (FORMAT_VERSION | FORMAT_VERSION_INT8)) => v,
        Some(1) => {
            return Err(corrupt(
                path,
                "it has format version 1 (no checksums); open it once with a writing command \
                 such as `genovec train` or `genovec compact` to upgrade it",
            ))
        }
        Some(version) => {
            return Err(Error::Mismatch {
                path: path.to_path_buf(),
                field: "format version",
                stored: version.to_string(),
                requested: format!("{FORMAT_VERSION} or {FORMAT_VERSION_INT8}"),
            })
        }
    };
    let meta = txn.open_table(META).map_err(storage)?;
    let config: CollectionConfig = read_json(&meta, KEY_CONFIG, path)?;
    if version != tables::format_version(&config) {
        return Err(corrupt(
            path,
            "its format version disagrees with its settings",
        ));
    }
    let next_id: u64 = read_json(&meta, KEY_NEXT_ID, path)?;
    let labels = read_labels(txn, path)?;
    let quant = read_quantizer(&meta, &config, path)?;
    Ok(Some(Header {
        config,
        next_id,
        labels,
        quant,
    }))
}

/// Reads the whole state, verifying every checksum, the format version, and the graph, labels
/// and tombstones against the records.
pub fn load(db: &Db, path: &Path) -> Result<Option<Loaded>> {
    let txn = db.begin_read()?;
    let Some(Header {
        config,
        next_id,
        labels,
        quant,
    }) = read_header(&txn, path)?
    else {
        return Ok(None);
    };
    let mut vectors = read_vectors(&txn, &config, quant, labels.len(), path)?;
    if vectors.ids.last().is_some_and(|&last| last >= next_id) {
        return Err(corrupt(path, "a record id is not below the next id"));
    }
    let tombstones = mark_tombstones(&txn, &mut vectors, path)?;
    read_metadata(&txn, &mut vectors, path)?;
    let clients = super::client_ids::read(&txn, &vectors, path)?;
    let graph = read_graph(&txn, &vectors, path)?;
    Ok(Some(Loaded {
        config,
        next_id,
        labels,
        vectors,
        graph,
        tombstones,
        clients,
    }))
}

/// Reads and parses one sealed meta value.
pub fn read_json<T: for<'de> serde::Deserialize<'de>>(
    meta: &redb::ReadOnlyTable<&str, &[u8]>,
    key: &str,
    path: &Path,
) -> Result<T> {
    let value = meta
        .get(key)
        .map_err(storage)?
        .ok_or_else(|| corrupt(path, format!("meta key {key:?} is missing")))?;
    let json = tables::meta_payload(key, value.value()).map_err(|e| corrupt(path, e))?;
    serde_json::from_slice(json).map_err(|e| corrupt(path, format!("meta key {key:?}: {e}")))
}

/// The int8 quantizer of a quantized collection, once its first batch was stored.
fn read_quantizer(
    meta: &redb::ReadOnlyTable<&str, &[u8]>,
    config: &CollectionConfig,
    path: &Path,
) -> Result<Option<Int8Quantizer>> {
    if config.quantize == Quantize::None || meta.get(KEY_QUANT).map_err(storage)?.is_none() {
        return Ok(None);
    }
    let quant: Int8Quantizer = read_json(meta, KEY_QUANT, path)?;
    quant.validate(config.dim).map_err(|e| corrupt(path, e))?;
    Ok(Some(quant))
}

/// The label dictionary; its keys must be exactly 0..n.
fn read_labels(txn: &redb::ReadTransaction, path: &Path) -> Result<Vec<String>> {
    let table = txn.open_table(LABELS).map_err(storage)?;
    let mut labels = Vec::new();
    for entry in table.iter().map_err(storage)? {
        let (index, name) = entry.map_err(storage)?;
        if index.value() as usize != labels.len() {
            return Err(corrupt(path, "the label dictionary has a gap"));
        }
        labels.push(tables::label_from(index.value(), name.value()).map_err(|e| corrupt(path, e))?);
    }
    if labels.len() as u64 != table.len().map_err(storage)? {
        return Err(corrupt(
            path,
            "the label table's size disagrees with its entries",
        ));
    }
    Ok(labels)
}

/// Every record's vector (or, quantized, its codes) and label, with ids strictly ascending and
/// the tables matching. A quantized collection's float vectors stay in the file: only their
/// count is checked here, and each one's checksum when a search re-ranks with it. The records
/// and the vectors are read on two threads from the same snapshot.
pub fn read_vectors(
    txn: &redb::ReadTransaction,
    config: &CollectionConfig,
    quant: Option<Int8Quantizer>,
    n_labels: usize,
    path: &Path,
) -> Result<VectorSet> {
    read_vectors_counted(txn, config, quant, n_labels, path, &AtomicUsize::new(0))
}

/// [`read_vectors`], adding each vector read to `count` as it goes (for progress).
pub fn read_vectors_counted(
    txn: &redb::ReadTransaction,
    config: &CollectionConfig,
    quant: Option<Int8Quantizer>,
    n_labels: usize,
    path: &Path,
    count: &AtomicUsize,
) -> Result<VectorSet> {
    let n_records = txn
        .open_table(RECORDS)
        .map_err(storage)?
        .len()
        .map_err(storage)?;
    let n_floats = txn
        .open_table(VECTORS)
        .map_err(storage)?
        .len()
        .map_err(storage)?;
    if n_records != n_floats {
        return Err(corrupt(path, "records and vectors tables differ in size"));
    }
    if n_records > 0 && config.quantize == Quantize::Int8 && quant.is_none() {
        return Err(corrupt(path, "it holds int8 codes but no quantizer"));
    }
    let mut set = VectorSet::new(config.dim);
    set.quant = quant;
    let (rows, vector_ids) = std::thread::scope(|scope| {
        let rows = scope.spawn(|| read_record_labels(txn, n_labels, path));
        let vector_ids = read_vector_rows(txn, config, &mut set, path, count);
        let rows = rows
            .join()
            .unwrap_or_else(|_| Err(corrupt(path, "reading records failed")));
        (rows, vector_ids)
    });
    let ((ids, labels), vector_ids) = (rows?, vector_ids?);
    if ids != vector_ids || ids.len() as u64 != n_records {
        return Err(corrupt(path, "records and vectors tables differ"));
    }
    set.deleted = vec![false; ids.len()];
    set.ids = ids;
    set.labels = labels;
    Ok(set)
}

/// Every record's id (strictly ascending) and label index, each record's checksum verified.
fn read_record_labels(
    txn: &redb::ReadTransaction,
    n_labels: usize,
    path: &Path,
) -> Result<(Vec<u64>, Vec<u32>)> {
    let records = txn.open_table(RECORDS).map_err(storage)?;
    let (mut ids, mut labels) = (Vec::<u64>::new(), Vec::new());
    for entry in records.iter().map_err(storage)? {
        let (id, row) = entry.map_err(storage)?;
        let id = id.value();
        if ids.last().is_some_and(|&last| last >= id) {
            return Err(corrupt(path, format!("record {id} is out of order")));
        }
        let label = tables::record_label(id, row.value()).map_err(|e| corrupt(path, e))?;
        if label as usize >= n_labels {
            return Err(corrupt(
                path,
                format!("record {id} has an unknown label index"),
            ));
        }
        ids.push(id);
        labels.push(label);
    }
    Ok((ids, labels))
}

/// Reads every vector (or, quantized, every row of codes) into `set`, returning their ids.
fn read_vector_rows(
    txn: &redb::ReadTransaction,
    config: &CollectionConfig,
    set: &mut VectorSet,
    path: &Path,
    count: &AtomicUsize,
) -> Result<Vec<u64>> {
    let table = match config.quantize {
        Quantize::None => txn.open_table(VECTORS),
        Quantize::Int8 => txn.open_table(CODES),
    }
    .map_err(storage)?;
    let mut ids = Vec::new();
    for entry in table.iter().map_err(storage)? {
        let (id, bytes) = entry.map_err(storage)?;
        let id = id.value();
        match set.quant {
            None => tables::vector_into(id, bytes.value(), config.dim, &mut set.data),
            Some(_) => tables::codes_into(id, bytes.value(), config.dim, &mut set.codes),
        }
        .map_err(|e| corrupt(path, e))?;
        ids.push(id);
        if ids.len() % 4096 == 0 {
            count.store(ids.len(), Ordering::Relaxed);
        }
    }
    Ok(ids)
}

/// Marks deleted rows; every tombstone must name a stored record.
pub fn mark_tombstones(
    txn: &redb::ReadTransaction,
    vectors: &mut VectorSet,
    path: &Path,
) -> Result<usize> {
    let table = txn.open_table(TOMBSTONES).map_err(storage)?;
    let mut count = 0;
    for entry in table.iter().map_err(storage)? {
        let (id, value) = entry.map_err(storage)?;
        let id = id.value();
        tables::tombstone_check(id, value.value()).map_err(|e| corrupt(path, e))?;
        let row = vectors
            .row_of(id)
            .ok_or_else(|| corrupt(path, format!("tombstone {id} names no record")))?;
        vectors.deleted[row] = true;
        count += 1;
    }
    if count as u64 != table.len().map_err(storage)? {
        return Err(corrupt(
            path,
            "the tombstone table's size disagrees with its entries",
        ));
    }
    Ok(count)
}

/// Every record's metadata; each entry must name a stored record. A file written before
/// metadata existed has no table: no record has metadata.
pub fn read_metadata(
    txn: &redb::ReadTransaction,
    vectors: &mut VectorSet,
    path: &Path,
) -> Result<()> {
    let table = match txn.open_table(METADATA) {
        Ok(table) => table,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
        Err(e) => return Err(storage(e)),
    };
    for entry in table.iter().map_err(storage)? {
        let (id, value) = entry.map_err(storage)?;
        let id = id.value();
        let meta = tables::metadata_from(id, value.value()).map_err(|e| corrupt(path, e))?;
        let row = vectors
            .row_of(id)
            .ok_or_else(|| corrupt(path, format!("metadata {id} names no record")))?;
        vectors.set_metadata(row, meta);
    }
    Ok(())
}

pub fn read_graph(
    txn: &redb::ReadTransaction,
    vectors: &VectorSet,
    path: &Path,
) -> Result<Option<GraphLayout>> {
    let table = txn.open_table(GRAPH).map_err(storage)?;
    let Some(blob) = table.get(GRAPH_KEY).map_err(storage)? else {
        return Ok(None);
    };
    let layout: GraphLayout = tables::graph_from(blob.value()).map_err(|e| corrupt(path, e))?;
    let n = layout.len();
    if n > vectors.len() || layout.ids[..] != vectors.ids[..n] {
        return Err(corrupt(path, "graph nodes do not match the stored records"));
    }
    layout.validate(n).map_err(|e| corrupt(path, e))?;
    if let Some(blob) = table.get(GRAPH_LABELS_KEY).map_err(storage)? {
        let labels = tables::graph_labels_from(&layout.ids, blob.value());
        if labels
            .map_err(|e| corrupt(path, e))?
            .is_some_and(|labels| labels[..] != vectors.labels[..n])
        {
            return Err(corrupt(
                path,
                "the graph's labels disagree with the records",
            ));
        }
    }
    Ok(Some(layout))
}
