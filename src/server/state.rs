//! What the server holds: the open collections, their embedders, the limits and the metrics.
//!
//! Concurrency: each collection sits behind a [`RwLock`]. Searches take the read lock, so
//! any number run together; a write embeds its records before taking the write lock and
//! holds it only for the durable commit, and the store changes its in-memory state only
//! after that commit returned. So a search sees a batch wholly or not at all.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use super::error::ApiError;
use super::metrics::Metrics;
use crate::embed::Embedder;
use crate::engine::{self, ClassifierState};
use crate::store::Collection;

/// A served collection, as [`AppState::find`] finds it.
pub enum Found {
    /// A local collection.
    Local(Arc<Served>),
    /// A Milvus collection (see `remote.rs`).
    #[cfg(feature = "milvus")]
    Remote(Arc<super::RemoteServed>),
}
use crate::{Error, Result};

/// Request limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest accepted request body, in bytes (413 above).
    pub max_body_bytes: usize,
    /// Most sequences, vectors or records in one request (413 above).
    pub max_batch: usize,
    /// Largest `k` (400 above).
    pub max_k: usize,
    /// Requests taking longer answer 503 `timeout`.
    pub timeout: Duration,
    /// Most connections open at once; more wait to be accepted.
    pub max_connections: usize,
    /// A connection whose request headers take longer is closed.
    pub header_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 8 << 20,
            max_batch: 1000,
            max_k: engine::MAX_K,
            timeout: Duration::from_secs(30),
            max_connections: 512,
            header_timeout: Duration::from_secs(10),
        }
    }
}

/// How the server is configured.
#[derive(Debug, Clone, Default)]
pub struct ServerConfig {
    /// When set, write routes need `Authorization: Bearer <key>`.
    pub api_key: Option<String>,
    /// Also require the key on the read routes (`/v1/...` reads and `/metrics`).
    pub protect_reads: bool,
    /// Request limits.
    pub limits: Limits,
    /// Leave the classifier as it is after writes (by default it is refitted, or re-tuned
    /// when due, in the background and swapped in when done).
    pub no_train: bool,
}

/// One served collection.
pub struct Served {
    /// The API name: the file's stem.
    pub name: String,
    collection: RwLock<Collection>,
    /// The embedder the collection was built with.
    pub embedder: Box<dyn Embedder>,
    /// The classifier in use: the stored one, replaced whole when a background training
    /// finishes ([`Served::train_in_background`]).
    pub(super) classifier: RwLock<Option<Arc<ClassifierState>>>,
    /// True while a background graph rebuild is queued or running.
    pub rebuilding: AtomicBool,
    /// True while a background training is queued or running.
    pub training: AtomicBool,
    /// Set by a write during a training: train once more when it ends.
    pub(super) train_again: AtomicBool,
    /// Whether writes start a background training.
    pub(super) auto_train: bool,
    /// The storage error of the last write when it failed (see [`Served::commit`]).
    degraded: Mutex<Option<String>>,
}

impl Served {
    /// Opens a collection file for writing, with its embedder and classifier. It answers at
    /// once while its vectors are read in the background ([`Self::finish_loading`]).
    pub fn open(path: &Path, auto_train: bool) -> Result<Self> {
        let collection = Collection::open_writer_for_queries(path)?;
        let embedder = engine::embedder_for(&collection)?;
        let classifier = engine::load_state(&collection)?.map(Arc::new);
        Ok(Served {
            name: api_name(path)?,
            collection: RwLock::new(collection),
            embedder,
            classifier: RwLock::new(classifier),
            rebuilding: AtomicBool::new(false),
            training: AtomicBool::new(false),
            train_again: AtomicBool::new(false),
            auto_train,
            degraded: Mutex::new(None),
        })
    }

    /// Waits, with no lock held, until the collection's vectors are all read (a writer waiting
    /// for the lock would queue every reader behind it). Damage the read found is left for
    /// the search or write that needs the rows to report.
    pub fn wait_loaded(&self) {
        let loading = self.read().loading();
        if let Some(loading) = loading {
            let _ = loading.wait();
        }
    }

    /// Readies the collection for a request of `queries` queries: beyond what a search reads
    /// on demand, it waits for the vectors first (see [`Collection::expect_queries`]).
    pub fn expect_queries(&self, queries: usize) {
        if queries > crate::store::ON_DEMAND_QUERIES {
            self.wait_loaded();
        }
    }

    /// Moves the vectors read in the background into the collection once the read is done,
    /// so that it holds what a full open holds; started by [`AppState::open`].
    fn finish_loading(self: &Arc<Self>) {
        let served = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name("genovec-open".into())
            .spawn(move || {
                served.wait_loaded();
                if let Err(e) = served.commit(Collection::finish_loading) {
                    tracing::error!(collection = %served.name, error = %e, "reading the vectors failed");
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(collection = %self.name, error = %e, "vectors load on the first write");
        }
    }

    /// The classifier in use now.
    pub fn classifier(&self) -> Option<Arc<ClassifierState>> {
        self.classifier
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The read lock: many holders at once.
    pub fn read(&self) -> RwLockReadGuard<'_, Collection> {
        // A panic while holding the lock cannot leave the collection half-changed: the store
        // applies a batch to memory only after its commit, in code that does not panic.
        self.collection.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The read lock if it is free now (no writer holds or awaits it).
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, Collection>> {
        match self.collection.try_read() {
            Ok(guard) => Some(guard),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    /// The write lock.
    fn write(&self) -> RwLockWriteGuard<'_, Collection> {
        self.collection.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs a write under the write lock. A storage error (a full disk) makes the collection
    /// degraded: redb refuses a handle after an I/O error, so the file is reopened at once
    /// (reads go on from what is committed), `/healthz` reports the error, and the next write
    /// tries again; the first one that commits clears it. No restart is needed.
    pub fn commit<T>(&self, op: impl FnOnce(&mut Collection) -> Result<T>) -> Result<T> {
        // Every write first takes over the vectors read in the background; the wait for them
        // holds no lock.
        self.wait_loaded();
        let mut collection = self.write();
        if collection.is_closed() {
            collection.reopen()?;
        }
        match op(&mut collection) {
            Ok(value) => {
                self.set_degraded(None);
                Ok(value)
            }
            Err(e @ Error::Storage { .. }) => {
                tracing::error!(collection = %self.name, error = %e, "write failed on storage");
                self.set_degraded(Some(e.to_string()));
                if let Err(again) = collection.reopen() {
                    tracing::error!(collection = %self.name, error = %again, "reopening failed");
                }
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// The storage error of the last write, while it is not followed by a successful one.
    pub fn degraded(&self) -> Option<String> {
        self.degraded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_degraded(&self, error: Option<String>) {
        *self.degraded.lock().unwrap_or_else(|p| p.into_inner()) = error;
    }

    /// Rebuilds the graph once the exactly searched tail has outgrown the store's threshold.
    /// Runs on a blocking thread: the rows are copied under the read lock, the graph is built
    /// with no lock held (searches use the old graph and the exactly searched tail, and
    /// inserts join the tail), and the write lock is taken only to commit and swap it in.
    pub fn rebuild_if_needed(self: &Arc<Self>) {
        if !self.read().needs_rebuild() || self.rebuilding.swap(true, Ordering::AcqRel) {
            return;
        }
        let served = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            served.wait_loaded();
            // The copy is taken in its own statement: a guard in the build's statement would
            // hold the read lock through the build, and a write waiting for the lock would then
            // queue every search behind it until the build ended.
            let input = served.read().graph_input();
            let built = input.map(|input| input.build());
            if let Err(e) = built.and_then(|layout| served.commit(|c| c.install_graph(layout))) {
                tracing::error!(collection = %served.name, error = %e, "graph rebuild failed");
            }
            served.rebuilding.store(false, Ordering::Release);
        });
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;

fn api_name(path: &Path) -> Result<String> {
    path.file_stem()
        .and_then(|s| s.to_str())
        .map(str::to_string)
        .ok_or_else(|| Error::InvalidArgument {
            what: "--collection".into(),
            message: format!("{} has no file name to serve it under", path.display()),
        })
}

/// Everything the handlers share.
pub struct AppState {
    /// Served collections by API name.
    pub collections: BTreeMap<String, Arc<Served>>,
    /// Served Milvus collections by API name (their Milvus name).
    #[cfg(feature = "milvus")]
    pub remote: BTreeMap<String, Arc<super::RemoteServed>>,
    /// Auth and limits.
    pub config: ServerConfig,
    /// Request counters and latency histograms.
    pub metrics: Metrics,
}

impl AppState {
    /// Opens every collection; two files with the same stem are an error.
    pub fn open(paths: &[PathBuf], config: ServerConfig) -> Result<Self> {
        let mut collections = BTreeMap::new();
        for path in paths {
            let served = Served::open(path, !config.no_train)?;
            if collections.contains_key(&served.name) {
                return Err(Error::InvalidArgument {
                    what: "--collection".into(),
                    message: format!("two collections are named {:?}", served.name),
                });
            }
            let served = Arc::new(served);
            served.finish_loading();
            collections.insert(served.name.clone(), served);
        }
        Ok(AppState {
            collections,
            #[cfg(feature = "milvus")]
            remote: BTreeMap::new(),
            config,
            metrics: Metrics::default(),
        })
    }

    /// Opens the local collections and connects to the Milvus ones; no two may share a name.
    #[cfg(feature = "milvus")]
    pub fn open_with_milvus(
        paths: &[PathBuf],
        uris: &[crate::milvus::MilvusUri],
        config: ServerConfig,
    ) -> Result<Self> {
        let mut state = Self::open(paths, config)?;
        for uri in uris {
            let served = super::RemoteServed::open(uri)?;
            let name = served.name.clone();
            if state.collections.contains_key(&name) || state.remote.contains_key(&name) {
                return Err(Error::InvalidArgument {
                    what: "--collection".into(),
                    message: format!("two collections are named {name:?}"),
                });
            }
            state.remote.insert(name, Arc::new(served));
        }
        Ok(state)
    }

    /// Starts what a stopped server may have left undone (it does not wait for background
    /// work when it stops): a graph rebuild when the tail is past its threshold, and a
    /// training when a stored classifier is stale (a collection never trained stays so until
    /// its first write, as `index --no-train` asked). Call it inside the runtime.
    pub fn resume_background_work(&self) {
        for served in self.collections.values() {
            served.rebuild_if_needed();
            if served.classifier().is_some() {
                served.train_in_background();
            }
        }
    }

    /// The background work still running, as "the graph rebuild of NAME" or "the training of
    /// NAME".
    pub fn background_work(&self) -> Vec<String> {
        let mut busy = Vec::new();
        for (name, served) in &self.collections {
            if served.rebuilding.load(Ordering::Acquire) {
                busy.push(format!("the graph rebuild of {name}"));
            }
            if served.training.load(Ordering::Acquire) {
                busy.push(format!("the classifier training of {name}"));
            }
        }
        busy
    }

    /// The collection served under `name`, local or in Milvus: 404 when none is.
    pub fn find(&self, name: &str) -> Result<Found, ApiError> {
        #[cfg(feature = "milvus")]
        if let Some(remote) = self.remote.get(name) {
            return Ok(Found::Remote(Arc::clone(remote)));
        }
        self.get(name)
            .map(|served| Found::Local(Arc::clone(served)))
    }

    /// The local collection served under `name`: 404 when none is, 400 when it is a Milvus
    /// collection (the routes that call this are not available on those yet).
    pub fn get(&self, name: &str) -> Result<&Arc<Served>, ApiError> {
        #[cfg(feature = "milvus")]
        if self.remote.contains_key(name) {
            return Err(ApiError::invalid(format!(
                "{name:?} is a Milvus collection: this route is not served for it yet"
            )));
        }
        self.collections.get(name).ok_or_else(|| {
            let served: Vec<&str> = self.collections.keys().map(String::as_str).collect();
            ApiError::unknown_collection(name, &served)
        })
    }
}
