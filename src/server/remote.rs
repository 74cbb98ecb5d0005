//! Milvus collections in `genovec serve` (feature `milvus`): search, classify and the
//! collection's details and summary, through the engine's Milvus functions. A server keeps
//! only the embedder and idle connections: every request reads the collection's settings and
//! classifier from Milvus again, at the URI's consistency, so two servers on one Milvus
//! collection answer alike and a classifier trained by any node is used as soon as Milvus
//! shows it (at once with `consistency=strong`, within its staleness bound, seconds, with the
//! default `bounded`). The record routes are in `remote_records.rs`.

use std::sync::{Arc, Mutex};

use super::api::{
    ClassifierStateOut, CollectionDetail, CollectionSummary, GraphState, SearchResponse,
};
use super::blocking;
use super::error::ApiError;
use super::query::{search_response, Input, Search};
use crate::embed::Embedder;
use crate::engine::{self, Classified, ClassifyOptions};
use crate::milvus::{MilvusCollection, MilvusUri};
use crate::seq::SeqRecord;
use crate::Result;

/// One served Milvus collection.
pub struct RemoteServed {
    /// The API name: the Milvus collection's name.
    pub name: String,
    uri: MilvusUri,
    embedder: Box<dyn Embedder>,
    /// Idle connections, one per request in flight at the busiest moment so far.
    idle: Mutex<Vec<MilvusCollection>>,
}

impl RemoteServed {
    /// Connects, reads the collection's settings and loads its embedder.
    pub fn open(uri: &MilvusUri) -> Result<Self> {
        let collection = MilvusCollection::open_for_queries(uri)?;
        let embedder = engine::remote_embedder(&collection)?;
        Ok(RemoteServed {
            name: uri.name.clone(),
            uri: uri.clone(),
            embedder,
            idle: Mutex::new(vec![collection]),
        })
    }

    /// Runs `op` on a connection whose settings were just read again (at the URI's
    /// consistency), checked against the loaded embedder. A connection that failed is
    /// dropped, not reused.
    pub(super) fn with<T>(&self, op: impl FnOnce(&MilvusCollection) -> Result<T>) -> Result<T> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut collection = match idle {
            Some(c) => c,
            None => MilvusCollection::open_for_queries(&self.uri)?,
        };
        collection.refresh()?;
        engine::check_remote_embedder(&collection, self.embedder.as_ref())?;
        let value = op(&collection)?;
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        idle.push(collection);
        Ok(value)
    }

    /// Runs a write on a fresh connection that reads strongly (a write must see every
    /// earlier one: ids, labels, what is stored), checked against the loaded embedder.
    pub(super) fn with_writer<T>(
        &self,
        op: impl FnOnce(&mut MilvusCollection) -> Result<T>,
    ) -> Result<T> {
        let mut collection = MilvusCollection::open(&self.uri)?;
        engine::check_remote_embedder(&collection, self.embedder.as_ref())?;
        let value = op(&mut collection);
        // The connection's runtime may not be dropped on an async worker; this runs on a
        // blocking thread, where it may.
        drop(collection);
        value
    }

    /// The embedder's dimension (what query vectors must have).
    pub fn dim(&self) -> usize {
        self.embedder.dim()
    }
}

impl Drop for RemoteServed {
    fn drop(&mut self) {
        // Each connection owns a runtime, which may not be dropped on an async worker (the
        // server's state is dropped on one when it shuts down).
        let idle = std::mem::take(self.idle.get_mut().unwrap_or_else(|p| p.into_inner()));
        let _ = std::thread::spawn(move || drop(idle)).join();
    }
}

/// `POST .../search` on a Milvus collection.
pub(super) async fn search(
    served: Arc<RemoteServed>,
    search: Search,
) -> Result<SearchResponse, ApiError> {
    blocking(move || {
        let (k, ef, filter) = (search.k, search.ef, &search.filter);
        let embedder = served.embedder.as_ref();
        let lists = served.with(|c| match &search.input {
            Input::Vectors(v) => engine::search_vectors_open(c, v, k, ef, filter),
            Input::Sequences(q) => Ok(engine::search_open(c, embedder, q, k, ef, filter)?
                .into_iter()
                .map(|r| r.neighbours)
                .collect()),
        })?;
        Ok(search_response(lists))
    })
    .await
}

/// `POST .../classify` on a Milvus collection.
pub(super) async fn classify(
    served: Arc<RemoteServed>,
    queries: Vec<SeqRecord>,
    vectors: Option<Vec<Vec<f32>>>,
    opts: ClassifyOptions,
) -> Result<Classified, ApiError> {
    blocking(move || {
        let embedder = served.embedder.as_ref();
        let given = vectors.as_deref();
        Ok(served.with(|c| engine::classify_open(c, embedder, &queries, given, opts))?)
    })
    .await
}

/// `GET /v1/collections`'s entry for a Milvus collection.
pub(super) async fn summary(served: Arc<RemoteServed>) -> Result<CollectionSummary, ApiError> {
    blocking(move || {
        Ok(served.with(|c| {
            Ok(CollectionSummary {
                name: served.name.clone(),
                records: c.count(None)?,
                dimension: c.config().dim,
                embedder: c.config().embedder.clone(),
            })
        })?)
    })
    .await
}

/// `GET /v1/collections/{name}` for a Milvus collection: Milvus keeps the graph, so every
/// record counts as in it (no tail, no tombstones, no rebuild).
pub(super) async fn detail(served: Arc<RemoteServed>) -> Result<CollectionDetail, ApiError> {
    blocking(move || {
        let (info, status) = served.with(|c| {
            let info = engine::info_open(c)?;
            let status = match info.classifier.clone() {
                Some(status) => status,
                None => engine::remote_classifier_status(c)?,
            };
            Ok((info, status))
        })?;
        let graph = GraphState {
            nodes: info.records,
            tail: 0,
            tombstones: 0,
            rebuilding: false,
            search: serde_json::json!({"method": "milvus"}),
        };
        let classifier = ClassifierStateOut {
            status,
            training: false,
        };
        let (name, records) = (served.name.clone(), info.records);
        Ok(CollectionDetail::new(
            name,
            records,
            info.labels,
            info.config,
            graph,
            classifier,
        ))
    })
    .await
}
