//! The vectors of a collection opened for queries ([`super::Collection::open_for_queries`])
//! while a background thread reads them all: rows are read from the file on demand, each
//! checksum verified, until the full copy is ready.
//!
//! Every row read on demand holds the same floats (or codes) as the full copy, and the search
//! scores them with the same functions, so an answer does not depend on whether the
//! background read had finished.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use redb::ReadOnlyTable;

use super::guard::guarded;
use super::load;
use super::tables::{self, CODES, VECTORS};
use super::{CollectionConfig, Int8Quantizer, Quantize};
use crate::{Error, Result};

/// Rows read on demand that are kept for later queries (at 708-d floats, about 185 MB).
const CACHE_ROWS: usize = 1 << 16;

/// Row-major floats or int8 codes; one of the two is empty.
#[derive(Debug, Default)]
pub struct Rows {
    pub floats: Vec<f32>,
    pub codes: Vec<i8>,
}

/// What the background read checks its rows against: the rows the open read up front.
pub struct Expected {
    pub ids: Vec<u64>,
    pub labels: Vec<u32>,
    /// Entries in the label dictionary.
    pub n_labels: usize,
}

/// The on-demand rows of a collection opened for queries.
pub struct Pending {
    path: PathBuf,
    dim: usize,
    /// Ids of the rows read on demand (the graph's nodes, rows `0..ids.len()`).
    ids: Vec<u64>,
    /// `vectors` or, quantized, `codes`, in the snapshot the collection was opened at; let go
    /// once every row is in memory, so that a long-lived reader does not keep a writer from
    /// reusing the pages freed since.
    table: RwLock<Option<ReadOnlyTable<u64, &'static [u8]>>>,
    quantized: bool,
    /// The rows past the graph, read at open.
    tail: Rows,
    cache: Mutex<HashMap<u32, Arc<Rows>>>,
    /// The first damage a read on demand met; every later search reports it.
    error: Mutex<Option<String>>,
    /// Every row, once the background read is done (or what it found wrong).
    full: OnceLock<std::result::Result<Rows, String>>,
    /// Rows the background read has read so far (for progress).
    loaded: AtomicUsize,
}

impl Pending {
    /// Starts the background read of every row from `txn` and returns the on-demand view.
    /// `tail` holds the last rows, read at open; the rows before it are read on demand.
    /// Without `background` (tests), nothing reads them all and every search reads on demand.
    pub fn start(
        txn: redb::ReadTransaction,
        path: PathBuf,
        config: &CollectionConfig,
        quant: Option<Int8Quantizer>,
        tail: Rows,
        expected: Expected,
        background: bool,
    ) -> Result<Arc<Self>> {
        let quantized = config.quantize == Quantize::Int8;
        let tail_rows = (tail.floats.len() + tail.codes.len()) / config.dim.max(1);
        let graph_ids = expected.ids[..expected.ids.len() - tail_rows].to_vec();
        let table = if quantized { CODES } else { VECTORS };
        let pending = Arc::new(Pending {
            path: path.clone(),
            dim: config.dim,
            ids: graph_ids,
            table: RwLock::new(Some(txn.open_table(table).map_err(super::open::storage)?)),
            quantized,
            tail,
            cache: Mutex::new(HashMap::new()),
            error: Mutex::new(None),
            full: OnceLock::new(),
            loaded: AtomicUsize::new(0),
        });
        if !background {
            return Ok(pending);
        }
        let (shared, config) = (Arc::clone(&pending), config.clone());
        let spawned = std::thread::Builder::new()
            .name("genovec-load".into())
            .spawn(move || {
                let (n, count) = (expected.n_labels, &shared.loaded);
                // A panic inside redb on a damaged page becomes the error (see `guard.rs`).
                let read = guarded(&path, || {
                    load::read_vectors_counted(&txn, &config, quant, n, &path, count)
                });
                let rows = match read {
                    Ok(set) if set.ids != expected.ids || set.labels != expected.labels => {
                        Err("the graph's nodes or labels disagree with the records".to_string())
                    }
                    Ok(set) => Ok(Rows {
                        floats: set.data,
                        codes: set.codes,
                    }),
                    Err(e) => Err(e.to_string()),
                };
                let loaded = rows.is_ok();
                let _ = shared.full.set(rows);
                if loaded {
                    *shared.table.write().unwrap_or_else(|e| e.into_inner()) = None;
                }
                shared
                    .cache
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clear();
            });
        if spawned.is_err() {
            let _ = pending.full.set(Err(
                "could not start the thread that reads the vectors".into()
            ));
        }
        Ok(pending)
    }

    /// Every row, once the background read finished; `Err` when it found damage.
    pub fn ready(&self) -> Option<Result<&Rows>> {
        let full = self.full.get()?;
        Some(full.as_ref().map_err(|message| self.corrupt(message)))
    }

    /// Blocks until the background read is done, reporting its progress.
    pub fn wait(&self) -> Result<&Rows> {
        if self.full.get().is_none() {
            let total =
                self.ids.len() + (self.tail.floats.len() + self.tail.codes.len()) / self.dim.max(1);
            crate::progress::phase("read vectors", Some(total as u64));
            while self.full.get().is_none() {
                crate::progress::advance(self.loaded.load(Ordering::Relaxed) as u64);
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            crate::progress::finish();
        }
        self.full.wait().as_ref().map_err(|m| self.corrupt(m))
    }

    /// Waits for the background read and returns its rows, once the reading thread has let go
    /// of its share; the damage the read found (with the view, unchanged) otherwise. The
    /// caller holds the only other share (a collection being written owns its view).
    pub fn into_rows(self: Arc<Self>) -> std::result::Result<Rows, (Arc<Self>, Error)> {
        if let Err(e) = self.wait() {
            return Err((self, e));
        }
        let mut this = self;
        loop {
            // The reading thread drops its share right after storing the rows.
            match Arc::try_unwrap(this) {
                Ok(pending) => match pending.full.into_inner() {
                    Some(Ok(rows)) => return Ok(rows),
                    _ => unreachable!("wait returned, so the read stored its rows"),
                },
                Err(shared) => this = shared,
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    /// Whether the snapshot of the open is still held (until every row is in memory).
    #[cfg(test)]
    pub fn holds_snapshot(&self) -> bool {
        self.table
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// The damage a read on demand met, if any.
    pub fn error(&self) -> Option<Error> {
        let error = self.error.lock().unwrap_or_else(|e| e.into_inner());
        error.as_deref().map(|m| self.corrupt(m))
    }

    fn corrupt(&self, message: &str) -> Error {
        load::corrupt(&self.path, message)
    }

    /// Calls `f` with row `row`'s floats (or codes; the other slice is empty), reading it from
    /// the file when it is not in memory. `None` when the read failed: the error is kept for
    /// [`Self::error`].
    #[inline]
    pub fn with_row<R>(&self, row: u32, f: impl FnOnce(&[f32], &[i8]) -> R) -> Option<R> {
        let (row, dim) = (row as usize, self.dim);
        if let Some(r) = row.checked_sub(self.ids.len()) {
            let range = r * dim..(r + 1) * dim;
            return Some(match self.quantized {
                false => f(&self.tail.floats[range], &[]),
                true => f(&[], &self.tail.codes[range]),
            });
        }
        let cached = self.lock_cache().get(&(row as u32)).cloned();
        let rows = match cached {
            Some(rows) => rows,
            None => self.read(row)?,
        };
        Some(f(&rows.floats, &rows.codes))
    }

    /// Row `row` copied from the full read (only called once it succeeded).
    fn row_in_memory(&self, row: usize) -> Option<Arc<Rows>> {
        let Some(Ok(full)) = self.full.get() else {
            return None;
        };
        let range = row * self.dim..(row + 1) * self.dim;
        Some(Arc::new(Rows {
            floats: full.floats.get(range.clone()).unwrap_or_default().to_vec(),
            codes: full.codes.get(range).unwrap_or_default().to_vec(),
        }))
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Arc<Rows>>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads graph row `row` from the file and caches it.
    fn read(&self, row: usize) -> Option<Arc<Rows>> {
        let id = self.ids[row];
        let table = self.table.read().unwrap_or_else(|e| e.into_inner());
        let Some(table) = table.as_ref() else {
            // The background read is done and let the snapshot go: the row is in memory.
            return self.row_in_memory(row);
        };
        let mut rows = Rows::default();
        let read = guarded(&self.path, || {
            let decoded = match table.get(id) {
                Ok(Some(value)) if self.quantized => {
                    tables::codes_into(id, value.value(), self.dim, &mut rows.codes)
                }
                Ok(Some(value)) => {
                    tables::vector_into(id, value.value(), self.dim, &mut rows.floats)
                }
                Ok(None) => Err(format!("graph node {id} names no stored vector")),
                Err(e) => Err(format!("reading the vector of record {id}: {e}")),
            };
            decoded.map_err(|message| self.corrupt(&message))
        });
        if let Err(e) = read {
            let message = match e {
                Error::Corrupt { message, .. } => message,
                other => other.to_string(),
            };
            let mut error = self.error.lock().unwrap_or_else(|e| e.into_inner());
            error.get_or_insert(message);
            return None;
        }
        let rows = Arc::new(rows);
        let mut cache = self.lock_cache();
        if cache.len() < CACHE_ROWS {
            cache.insert(row as u32, Arc::clone(&rows));
        }
        Some(rows)
    }
}
