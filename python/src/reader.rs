//! The open read handle a Python `Collection` keeps between calls.
//!
//! The CLI opens a collection for every command; a notebook calls `search` many times, and
//! opening reads every vector (seconds at a million records), so the handle is kept. It is
//! reopened when the file changed since it was opened (its size or modification time, so a
//! write by `genovec index` or `serve` in another process is seen by the next call) and
//! after every write made through this object.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use genovec::embed::Embedder;
use genovec::engine::{self, ClassifierState};
use genovec::store::Collection;
use genovec::{Error, Result};

/// A collection opened read-only with its embedder and stored classifier: what
/// `genovec search`, `classify` and `info` open.
pub struct Reader {
    pub collection: Collection,
    pub embedder: Box<dyn Embedder>,
    pub state: Option<ClassifierState>,
    stamp: Option<Stamp>,
}

/// What tells that the file was written since it was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Stamp {
        len: meta.len(),
        modified: meta.modified().ok(),
    })
}

impl Reader {
    /// Opens `path` as the CLI's read commands do ([`engine::open_for_queries`]).
    pub fn open(path: &Path) -> Result<Self> {
        // Taken before opening: a write landing in between makes the next call reopen.
        let stamp = stamp(path);
        let (collection, embedder) = engine::open_for_queries(path)?;
        let state = engine::load_state(&collection)?;
        Ok(Reader {
            collection,
            embedder,
            state,
            stamp,
        })
    }
}

/// The cached reader of one collection file.
pub struct Cache {
    path: PathBuf,
    reader: Mutex<Option<Arc<Reader>>>,
}

impl Cache {
    pub fn new(path: PathBuf) -> Self {
        Cache {
            path,
            reader: Mutex::new(None),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current reader, reopened when the file changed. Call it with the GIL released:
    /// opening can take seconds and another thread may hold the lock meanwhile.
    pub fn get(&self) -> Result<Arc<Reader>> {
        let mut slot = self.lock();
        let current = stamp(&self.path);
        if let Some(reader) = slot
            .as_ref()
            .filter(|r| r.stamp.is_some() && r.stamp == current)
        {
            return Ok(Arc::clone(reader));
        }
        *slot = None;
        let reader = Arc::new(Reader::open(&self.path)?);
        *slot = Some(Arc::clone(&reader));
        Ok(reader)
    }

    /// Keeps a reader opened elsewhere (by the constructor).
    pub fn put(&self, reader: Reader) {
        *self.lock() = Some(Arc::new(reader));
    }

    /// Drops the cached reader (calls in flight keep theirs): the next read reopens.
    pub fn invalidate(&self) {
        *self.lock() = None;
    }

    fn lock(&self) -> MutexGuard<'_, Option<Arc<Reader>>> {
        // A panic while holding the lock is caught and reported; the slot stays usable.
        self.reader.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The error for a collection opened with an embedder other than its own.
pub fn embedder_mismatch(path: &Path, stored: &str, requested: &str) -> Error {
    Error::Mismatch {
        path: path.to_path_buf(),
        field: "embedder",
        stored: stored.to_string(),
        requested: requested.to_string(),
    }
}
