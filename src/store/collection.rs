//! An open collection: its in-memory state and its read operations.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use super::client_ids::{ClientId, ClientIds};
use super::graph::GraphLayout;
use super::guard::guarded;
use super::load::{self, Loaded};
use super::open::{self, Db};
use super::pending::Pending;
use super::project::Projection;
use super::quick;
use super::tables;
use super::upgrade;
use super::{CollectionConfig, CollectionInfo, VectorSet};
use crate::{Error, Result};

/// One search result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Record id.
    pub id: u64,
    /// Label index (see [`Collection::label_name`]).
    pub label: u32,
    /// Distance to the query in the collection's metric.
    pub distance: f32,
}

/// Queries in one request that a collection opened for queries answers by reading vectors on
/// demand (see [`Collection::expect_queries`]).
pub const ON_DEMAND_QUERIES: usize = 32;

/// An open collection file.
pub struct Collection {
    pub(super) path: PathBuf,
    pub(super) db: Db,
    pub(super) config: CollectionConfig,
    pub(super) next_id: u64,
    pub(super) labels: Vec<String>,
    pub(super) vectors: VectorSet,
    pub(super) graph: Option<GraphLayout>,
    pub(super) tombstones: usize,
    /// Client ids of live records (see `client_ids.rs`).
    pub(super) clients: ClientIds,
    /// Opened for queries: the vectors are still being read, and `vectors` holds every row's
    /// id, label, mark and metadata but no floats or codes (see `quick.rs`).
    pub(super) pending: Option<Arc<Pending>>,
    /// The graph rows' projection, for collections that search by projection (see
    /// `project.rs`): fitted at the first search, reset whenever the graph changes.
    pub(super) flat: OnceLock<Option<Projection>>,
}

impl Collection {
    /// Opens `path` for writing, creating it with `config` when it does not exist. An existing
    /// collection must have been written with the same embedder, identity and dimension.
    pub fn create_or_open(path: &Path, config: &CollectionConfig) -> Result<Self> {
        guarded(path, || {
            let db = open::open_write(path, true)?;
            if !open::is_initialised(&db)? {
                open::initialise(&db, config)?;
            }
            upgrade::upgrade_if_old(&db, path)?;
            let mut collection = Self::load(path, Db::Write(db))?;
            open::check_config(path, &collection.config, config)?;
            collection.store_missing_graph_labels()?;
            Ok(collection)
        })
    }

    /// Opens an existing collection for writing (delete, compact, inserts over HTTP).
    pub fn open_writer(path: &Path) -> Result<Self> {
        guarded(path, || {
            let db = open::open_write(path, false)?;
            upgrade::upgrade_if_old(&db, path)?;
            let mut collection = Self::load(path, Db::Write(db))?;
            collection.store_missing_graph_labels()?;
            Ok(collection)
        })
    }

    /// Opens an existing collection read-only; several readers may share the file.
    pub fn open_reader(path: &Path) -> Result<Self> {
        guarded(path, || Self::load(path, Db::Read(open::open_read(path)?)))
    }

    /// Opens an existing collection read-only for queries: a collection with a graph answers
    /// its first search before every vector is read (see `quick.rs`). Searches give the same
    /// answers as on a collection opened with [`Self::open_reader`]; what needs every row's
    /// vector ([`Self::vectors`]'s floats, a graph build) is not available on it.
    pub fn open_for_queries(path: &Path) -> Result<Self> {
        Self::open_quick(path, true)
    }

    /// [`Self::open_for_queries`]; without `background`, the vectors are only ever read on
    /// demand (for tests of that path).
    pub(super) fn open_quick(path: &Path, background: bool) -> Result<Self> {
        guarded(path, || {
            let db = Db::Read(open::open_read(path)?);
            match quick::load_quick(&db, path, background)? {
                Some((loaded, pending)) => Ok(Self::from_loaded(path, db, loaded, Some(pending))),
                None => Self::load(path, db),
            }
        })
    }

    /// Waits until the vectors of a collection opened for queries are all read, so that the
    /// following searches run from memory. Returns the damage that read found, if any.
    pub fn wait_loaded(&self) -> Result<()> {
        match &self.pending {
            Some(pending) => pending.wait().map(|_| ()),
            None => Ok(()),
        }
    }

    /// Readies a collection opened for queries for a request of `queries` queries: beyond
    /// [`ON_DEMAND_QUERIES`] it first waits until every vector is read, since a query read
    /// on demand costs milliseconds and one from memory well under one. Answers are the same
    /// either way.
    pub fn expect_queries(&self, queries: usize) -> Result<()> {
        if queries > ON_DEMAND_QUERIES {
            self.wait_loaded()?;
        }
        Ok(())
    }

    /// Closes the file and opens it again, reloading the state from what is committed. After a
    /// storage error (a full disk) redb refuses every further operation on its handle until it
    /// is reopened; this is how a long-running writer recovers without a restart. When the
    /// reopening fails, the collection stays closed (every file access is a storage error)
    /// and a later call may try again.
    pub fn reopen(&mut self) -> Result<()> {
        let writer = !matches!(self.db, Db::Read(_));
        let path = self.path.clone();
        guarded(&path, || {
            // Dropping the old handle releases the file's writer lock before reopening.
            self.db = Db::Closed;
            *self = if writer {
                Self::open_writer(&path)?
            } else {
                Self::open_reader(&path)?
            };
            Ok(())
        })
    }

    /// True while the file is closed after a storage error ([`Self::reopen`]).
    pub fn is_closed(&self) -> bool {
        matches!(self.db, Db::Closed)
    }

    pub(super) fn load(path: &Path, db: Db) -> Result<Self> {
        let loaded = load::load(&db, path)?.ok_or_else(|| Error::Corrupt {
            path: path.to_path_buf(),
            message: "not a genovec collection (no format version)".into(),
        })?;
        Ok(Self::from_loaded(path, db, loaded, None))
    }

    pub(super) fn from_loaded(
        path: &Path,
        db: Db,
        loaded: Loaded,
        pending: Option<Arc<Pending>>,
    ) -> Self {
        let Loaded {
            config,
            next_id,
            labels,
            vectors,
            graph,
            tombstones,
            clients,
        } = loaded;
        Collection {
            path: path.to_path_buf(),
            db,
            config,
            next_id,
            labels,
            vectors,
            graph,
            tombstones,
            clients,
            pending,
            flat: OnceLock::new(),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The collection's settings.
    pub fn config(&self) -> &CollectionConfig {
        &self.config
    }

    /// Number of live (not deleted) records.
    pub fn len(&self) -> usize {
        self.vectors.len() - self.tombstones
    }

    /// True when no live record is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The label dictionary, indexed by label index.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The name of a label index.
    pub fn label_name(&self, label: u32) -> &str {
        &self.labels[label as usize]
    }

    /// The index of a label name.
    pub fn label_index(&self, name: &str) -> Option<u32> {
        self.labels.iter().position(|l| l == name).map(|i| i as u32)
    }

    /// The in-memory vectors (all stored rows, with deletion marks).
    pub fn vectors(&self) -> &VectorSet {
        &self.vectors
    }

    /// Nodes in the persisted graph (0 when none is built).
    pub fn graph_nodes(&self) -> usize {
        self.graph.as_ref().map_or(0, GraphLayout::len)
    }

    /// The persisted graph, if one was built.
    pub fn graph(&self) -> Option<&GraphLayout> {
        self.graph.as_ref()
    }

    /// Records added after the last graph build.
    pub fn tail_len(&self) -> usize {
        self.vectors.len() - self.graph_nodes()
    }

    /// The id the next stored record will get; every stored id is below it.
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// For each label index, whether any live record carries it.
    pub fn live_label_mask(&self) -> Vec<bool> {
        let mut live = vec![false; self.labels.len()];
        self.vectors
            .live_rows()
            .for_each(|(_, _, label)| live[label as usize] = true);
        live
    }

    /// Live record counts per label, in label order; labels with no live record are left out.
    pub fn label_counts(&self) -> Vec<(String, usize)> {
        let mut counts = vec![0usize; self.labels.len()];
        self.vectors
            .live_rows()
            .for_each(|(_, _, label)| counts[label as usize] += 1);
        let mut out: Vec<(String, usize)> = self
            .labels
            .iter()
            .cloned()
            .zip(counts)
            .filter(|(_, c)| *c > 0)
            .collect();
        out.sort();
        out
    }

    /// A summary for `info`.
    pub fn info(&self) -> CollectionInfo {
        CollectionInfo {
            path: self.path.display().to_string(),
            records: self.len(),
            labels: self.label_counts(),
            config: self.config.clone(),
            graph_nodes: self.graph_nodes(),
            tail: self.tail_len(),
            tombstones: self.tombstones,
            format_version: tables::format_version(&self.config),
            vector_bytes: self.vectors.vector_bytes(),
        }
    }

    /// The metadata of a stored record, if it has any.
    pub fn metadata_of(&self, id: u64) -> Option<&crate::seq::Metadata> {
        self.vectors.metadata(self.vectors.row_of(id)?)
    }

    /// The client id of a stored record, if it was inserted with one and is live.
    pub fn client_id(&self, id: u64) -> Option<ClientId> {
        ClientId::from_key(self.clients.key_of(id)?)
    }

    /// The live record a client id names.
    pub fn find_client(&self, client: &ClientId) -> Option<u64> {
        self.clients.get(&client.key())
    }

    /// Live records with a client id.
    pub fn client_id_count(&self) -> usize {
        self.clients.len()
    }

    /// True when `id` is a live record's.
    pub fn is_live(&self, id: u64) -> bool {
        self.vectors
            .row_of(id)
            .is_some_and(|r| !self.vectors.deleted[r])
    }
}
