//! Creating and opening collection files, and loading their state into memory.

use std::path::Path;

use redb::{Database, ReadOnlyDatabase, ReadableDatabase, ReadableTable, ReadableTableMetadata};

use super::tables::{
    self, FORMAT_VERSION, GRAPH, GRAPH_KEY, KEY_CONFIG, KEY_FORMAT, KEY_NEXT_ID, LABELS, META,
    RECORDS, TOMBSTONES, VECTORS,
};
use super::{CollectionConfig, GraphLayout, VectorSet};
use crate::{Error, Result};

/// The open database: a writer excludes every other process; readers share the file.
pub enum Db {
    /// Opened for writing.
    Write(Database),
    /// Opened read-only.
    Read(ReadOnlyDatabase),
}

impl Db {
    pub fn begin_read(&self) -> Result<redb::ReadTransaction> {
        match self {
            Db::Write(db) => db.begin_read().map_err(storage),
            Db::Read(db) => db.begin_read().map_err(storage),
        }
    }
}

/// Maps any redb error to the library's storage error.
pub fn storage(e: impl Into<redb::Error>) -> Error {
    Error::Storage(e.into().to_string())
}

fn open_error(path: &Path, e: redb::DatabaseError) -> Error {
    match e {
        redb::DatabaseError::DatabaseAlreadyOpen => Error::CollectionInUse {
            path: path.to_path_buf(),
        },
        other => storage(other),
    }
}

/// Opens (or creates) the file for writing.
pub fn open_write(path: &Path, create: bool) -> Result<Database> {
    if !create && !path.exists() {
        return Err(Error::CollectionNotFound {
            path: path.to_path_buf(),
        });
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    Database::create(path).map_err(|e| open_error(path, e))
}

/// Opens the file read-only. A file left by a crash needs repair, which only a writer can
/// do: then (and only then) it is opened once for writing (repairing it) and reopened
/// read-only. Any other failure is reported as is: a read never turns an empty or foreign
/// file into a new database.
pub fn open_read(path: &Path) -> Result<ReadOnlyDatabase> {
    if !path.exists() {
        return Err(Error::CollectionNotFound {
            path: path.to_path_buf(),
        });
    }
    match ReadOnlyDatabase::open(path) {
        Ok(db) => Ok(db),
        Err(redb::DatabaseError::DatabaseAlreadyOpen) => Err(Error::CollectionInUse {
            path: path.to_path_buf(),
        }),
        Err(redb::DatabaseError::RepairAborted) => {
            drop(open_write(path, false)?);
            ReadOnlyDatabase::open(path).map_err(|e| open_error(path, e))
        }
        Err(e) => Err(open_error(path, e)),
    }
}

/// Everything a collection keeps in memory, read in one snapshot.
pub struct Loaded {
    /// Settings.
    pub config: CollectionConfig,
    pub next_id: u64,
    pub labels: Vec<String>,
    pub vectors: VectorSet,
    pub graph: Option<GraphLayout>,
    pub tombstones: usize,
}

fn corrupt(path: &Path, message: impl Into<String>) -> Error {
    Error::Corrupt {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Reads the whole state; checks the format version and the graph against the vectors.
pub fn load(db: &Db, path: &Path) -> Result<Option<Loaded>> {
    let txn = db.begin_read()?;
    let meta = match txn.open_table(META) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(storage(e)),
    };
    let Some(version) = meta.get(KEY_FORMAT).map_err(storage)? else {
        return Ok(None);
    };
    let version: u32 =
        serde_json::from_slice(version.value()).map_err(|e| corrupt(path, e.to_string()))?;
    if version != FORMAT_VERSION {
        return Err(Error::Mismatch {
            path: path.to_path_buf(),
            field: "format version",
            stored: version.to_string(),
            requested: FORMAT_VERSION.to_string(),
        });
    }
    let config: CollectionConfig = read_json(&meta, KEY_CONFIG, path)?;
    let next_id: u64 = read_json(&meta, KEY_NEXT_ID, path)?;
    let labels = read_labels(&txn)?;
    let mut vectors = read_vectors(&txn, &config, path)?;
    let tombstones = mark_tombstones(&txn, &mut vectors)?;
    let graph = read_graph(&txn, &vectors, path)?;
    Ok(Some(Loaded {
        config,
        next_id,
        labels,
        vectors,
        graph,
        tombstones,
    }))
}

fn read_json<T: for<'de> serde::Deserialize<'de>>(
    meta: &redb::ReadOnlyTable<&str, &[u8]>,
    key: &str,
    path: &Path,
) -> Result<T> {
    let value = meta
        .get(key)
        .map_err(storage)?
        .ok_or_else(|| corrupt(path, format!("meta key {key:?} is missing")))?;
    serde_json::from_slice(value.value())
        .map_err(|e| corrupt(path, format!("meta key {key:?}: {e}")))
}

fn read_labels(txn: &redb::ReadTransaction) -> Result<Vec<String>> {
    let table = txn.open_table(LABELS).map_err(storage)?;
    let mut labels = Vec::new();
    for entry in table.iter().map_err(storage)? {
        let (_, name) = entry.map_err(storage)?;
        labels.push(name.value().to_string());
    }
    Ok(labels)
}

fn read_vectors(
    txn: &redb::ReadTransaction,
    config: &CollectionConfig,
    path: &Path,
) -> Result<VectorSet> {
    let records = txn.open_table(RECORDS).map_err(storage)?;
    let vectors = txn.open_table(VECTORS).map_err(storage)?;
    let mut set = VectorSet::new(config.dim);
    for (rec, vec) in records
        .iter()
        .map_err(storage)?
        .zip(vectors.iter().map_err(storage)?)
    {
        let ((id, row), (vid, bytes)) = (rec.map_err(storage)?, vec.map_err(storage)?);
        let row: tables::RecordRow = tables::decode(row.value()).map_err(|e| corrupt(path, e))?;
        let before = set.data.len();
        if id.value() != vid.value()
            || !tables::vector_from_bytes(bytes.value(), &mut set.data)
            || set.data.len() - before != config.dim
        {
            return Err(corrupt(
                path,
                format!("record {} has no matching vector", id.value()),
            ));
        }
        set.ids.push(id.value());
        set.labels.push(row.label);
        set.deleted.push(false);
    }
    if set.ids.len() as u64 != records.len().map_err(storage)?
        || records.len().map_err(storage)? != vectors.len().map_err(storage)?
    {
        return Err(corrupt(path, "records and vectors tables differ in size"));
    }
    Ok(set)
}

fn mark_tombstones(txn: &redb::ReadTransaction, vectors: &mut VectorSet) -> Result<usize> {
    let table = txn.open_table(TOMBSTONES).map_err(storage)?;
    let mut count = 0;
    for entry in table.iter().map_err(storage)? {
        let (id, _) = entry.map_err(storage)?;
        if let Some(row) = vectors.row_of(id.value()) {
            vectors.deleted[row] = true;
            count += 1;
        }
    }
    Ok(count)
}

fn read_graph(
    txn: &redb::ReadTransaction,
    vectors: &VectorSet,
    path: &Path,
) -> Result<Option<GraphLayout>> {
    let table = txn.open_table(GRAPH).map_err(storage)?;
    let Some(blob) = table.get(GRAPH_KEY).map_err(storage)? else {
        return Ok(None);
    };
    let layout: GraphLayout =
        tables::decode(blob.value()).map_err(|e| corrupt(path, format!("graph: {e}")))?;
    let n = layout.len();
    if n > vectors.len() || layout.ids[..] != vectors.ids[..n] {
        return Err(corrupt(path, "graph nodes do not match the stored records"));
    }
    layout.validate(n).map_err(|e| corrupt(path, e))?;
    Ok(Some(layout))
}

/// True when the file already holds a collection (its format version is written).
pub fn is_initialised(db: &Database) -> Result<bool> {
    let txn = db.begin_read().map_err(storage)?;
    match txn.open_table(META) {
        Ok(meta) => Ok(meta.get(KEY_FORMAT).map_err(storage)?.is_some()),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(false),
        Err(e) => Err(storage(e)),
    }
}

fn json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("meta values serialise")
}

/// Writes the meta rows and empty tables of a new collection, in one transaction.
pub fn initialise(db: &Database, config: &CollectionConfig) -> Result<()> {
    let txn = db.begin_write().map_err(storage)?;
    {
        let mut meta = txn.open_table(META).map_err(storage)?;
        meta.insert(KEY_FORMAT, json(&FORMAT_VERSION).as_slice())
            .map_err(storage)?;
        meta.insert(KEY_CONFIG, json(config).as_slice())
            .map_err(storage)?;
        meta.insert(KEY_NEXT_ID, json(&1u64).as_slice())
            .map_err(storage)?;
        txn.open_table(RECORDS).map_err(storage)?;
        txn.open_table(VECTORS).map_err(storage)?;
        txn.open_table(LABELS).map_err(storage)?;
        txn.open_table(tables::DEDUP).map_err(storage)?;
        txn.open_table(TOMBSTONES).map_err(storage)?;
        txn.open_table(GRAPH).map_err(storage)?;
    }
    txn.commit().map_err(storage)
}

/// Checks that an existing collection was written with the requested settings.
pub fn check_config(
    path: &Path,
    stored: &CollectionConfig,
    requested: &CollectionConfig,
) -> Result<()> {
    let differ = |field: &'static str, s: String, r: String| {
        Err(Error::Mismatch {
            path: path.to_path_buf(),
            field,
            stored: s,
            requested: r,
        })
    };
    if stored.embedder != requested.embedder {
        return differ(
            "embedder",
            stored.embedder.clone(),
            requested.embedder.clone(),
        );
    }
    if stored.embedder_identity != requested.embedder_identity {
        return differ(
            "embedder identity",
            stored.embedder_identity.clone(),
            requested.embedder_identity.clone(),
        );
    }
    if stored.dim != requested.dim {
        return differ(
            "dimension",
            stored.dim.to_string(),
            requested.dim.to_string(),
        );
    }
    Ok(())
}
