//! A writer that answers before every vector is read: the server opens its collections this
//! way, so that it starts in a fraction of a second at a million records.
//!
//! The collection is loaded as [`Collection::open_for_queries`] loads it (`quick.rs`), on a
//! handle that may write. Until the background read is done, searches read rows on demand.
//! Every write first waits for that read and takes its rows over ([`Collection::finish_loading`]),
//! so a write always sees every vector in memory, exactly as after a full open: nothing was
//! written since the snapshot the read comes from, since this handle is the only writer.

use std::path::Path;
use std::sync::Arc;

use super::guard::guarded;
use super::open::{self, Db};
use super::pending::Pending;
use super::{quick, upgrade, Collection};
use crate::Result;

/// Waits for the background read of a collection opened for queries without holding the
/// collection (a server waits with no lock held, so that readers are not queued behind a
/// writer waiting for the lock).
pub struct Loading(Arc<Pending>);

impl Loading {
    /// Blocks until every vector is read; the damage the read found, if any.
    pub fn wait(&self) -> Result<()> {
        self.0.wait().map(|_| ())
    }
}

impl Collection {
    /// Opens an existing collection for writing, answering searches before its vectors are
    /// all read. A file without a graph (or without its nodes' labels) opens in full.
    pub fn open_writer_for_queries(path: &Path) -> Result<Self> {
        guarded(path, || {
            let db = open::open_write(path, false)?;
            upgrade::upgrade_if_old(&db, path)?;
            let db = Db::Write(db);
            match quick::load_quick(&db, path, true)? {
                Some((loaded, pending)) => Ok(Self::from_loaded(path, db, loaded, Some(pending))),
                None => {
                    let mut collection = Self::load(path, db)?;
                    collection.store_missing_graph_labels()?;
                    Ok(collection)
                }
            }
        })
    }

    /// The background read still running, if any.
    pub fn loading(&self) -> Option<Loading> {
        self.pending.clone().map(Loading)
    }

    /// Waits for the background read (if the collection was opened for queries) and moves its
    /// rows into memory, so that the collection holds what a full open holds. Damage the read
    /// found is returned, and the collection stays as it was: it cannot be written.
    pub fn finish_loading(&mut self) -> Result<()> {
        let Some(pending) = self.pending.take() else {
            return Ok(());
        };
        match pending.into_rows() {
            Ok(rows) => {
                self.vectors.data = rows.floats;
                self.vectors.codes = rows.codes;
                Ok(())
            }
            Err((pending, e)) => {
                self.pending = Some(pending);
                Err(e)
            }
        }
    }
}
