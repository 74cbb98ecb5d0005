//! Creating and opening collection files; [`super::load`] reads their state.

use std::path::Path;

use redb::{Builder, ConcurrencyMode, Database, ReadOnlyDatabase, ReadableDatabase};

use super::tables::{
    self, GRAPH, KEY_CONFIG, KEY_FORMAT, KEY_NEXT_ID, LABELS, META, RECORDS, TOMBSTONES, VECTORS,
};
use super::{CollectionConfig, Metric, Quantize};
use crate::{Error, Result};

/// The open database. One process writes and any number of processes read beside it, each
/// reader seeing the last commit ([`ConcurrencyMode::SingleWriter`]).
pub enum Db {
    /// Opened for writing.
    Write(Database),
    /// Opened read-only.
    Read(ReadOnlyDatabase),
    /// Closed after a storage error, until [`super::Collection::reopen`] succeeds.
    Closed,
}

impl Db {
    pub fn begin_read(&self) -> Result<redb::ReadTransaction> {
        match self {
            Db::Write(db) => db.begin_read().map_err(storage),
            Db::Read(db) => db.begin_read().map_err(storage),
            Db::Closed => Err(closed()),
        }
    }
}

/// The error of a collection whose file handle was closed after a storage error.
pub fn closed() -> Error {
    Error::Storage {
        path: Default::default(),
        message: "the file was closed after a storage error and could not be reopened yet".into(),
    }
}

/// Maps a redb error to the library's error: damage redb itself noticed is `Corrupt`, the rest
/// (I/O, a full disk) `Storage`. The store boundary ([`super::guard::guarded`]) names the file.
pub fn storage(e: impl Into<redb::Error>) -> Error {
    match e.into() {
        redb::Error::Corrupted(message) => Error::Corrupt {
            path: Default::default(),
            message,
        },
        // A file cut short, or not redb at all (its magic number is wrong).
        redb::Error::Io(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData
            ) =>
        {
            Error::Corrupt {
                path: Default::default(),
                message: e.to_string(),
            }
        }
        other => Error::Storage {
            path: Default::default(),
            message: other.to_string(),
        },
    }
}

fn builder() -> Builder {
    let mut builder = Builder::new();
    builder.set_concurrency_mode(ConcurrencyMode::SingleWriter);
    builder
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
    builder().create(path).map_err(|e| open_error(path, e))
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
    match builder().open_read_only(path) {
        Ok(db) => Ok(db),
        Err(redb::DatabaseError::DatabaseAlreadyOpen) => Err(Error::CollectionInUse {
            path: path.to_path_buf(),
        }),
        Err(redb::DatabaseError::RepairAborted) => {
            drop(open_write(path, false)?);
            builder()
                .open_read_only(path)
                .map_err(|e| open_error(path, e))
        }
        Err(e) => Err(open_error(path, e)),
    }
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

/// A sealed meta value holding `value` as JSON.
pub fn meta_json<T: serde::Serialize>(key: &str, value: &T) -> Vec<u8> {
    tables::meta_value(
        key,
        &serde_json::to_vec(value).expect("meta values serialise"),
    )
}

/// Writes the meta rows and empty tables of a new collection, in one transaction.
pub fn initialise(db: &Database, config: &CollectionConfig) -> Result<()> {
    check_quantize(config)?;
    let txn = db.begin_write().map_err(storage)?;
    {
        let mut meta = txn.open_table(META).map_err(storage)?;
        for (key, value) in [
            (
                KEY_FORMAT,
                meta_json(KEY_FORMAT, &tables::format_version(config)),
            ),
            (KEY_CONFIG, meta_json(KEY_CONFIG, config)),
            (KEY_NEXT_ID, meta_json(KEY_NEXT_ID, &1u64)),
        ] {
            meta.insert(key, value.as_slice()).map_err(storage)?;
        }
        txn.open_table(RECORDS).map_err(storage)?;
        txn.open_table(VECTORS).map_err(storage)?;
        if config.quantize != Quantize::None {
            txn.open_table(tables::CODES).map_err(storage)?;
        }
        txn.open_table(LABELS).map_err(storage)?;
        txn.open_table(tables::DEDUP).map_err(storage)?;
        txn.open_table(TOMBSTONES).map_err(storage)?;
        txn.open_table(GRAPH).map_err(storage)?;
    }
    txn.commit().map_err(storage)
}

/// int8 codes are scored as cosine distances, and their integer sums are bounded for
/// dimensions up to [`super::quant::MAX_DIM`].
fn check_quantize(config: &CollectionConfig) -> Result<()> {
    let supported = config.metric == Metric::Cosine && config.dim <= super::quant::MAX_DIM;
    if config.quantize == Quantize::Int8 && !supported {
        return Err(Error::InvalidArgument {
            what: "quantize".into(),
            message: format!(
                "int8 needs the cosine metric and at most {} dimensions",
                super::quant::MAX_DIM
            ),
        });
    }
    Ok(())
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
    // Asking for quantization is a choice made at creation; not asking keeps what is stored.
    if requested.quantize != Quantize::None && stored.quantize != requested.quantize {
        return differ(
            "quantize",
            stored.quantize.name().into(),
            requested.quantize.name().into(),
        );
    }
    Ok(())
}
