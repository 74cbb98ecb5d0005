//! The engine's commands on a collection kept in Milvus (`--collection milvus://...`, feature
//! `milvus`): index, search, info and delete, with the local commands' options and outputs
//! (training and classification are in `remote_classify.rs`). The `*_open` functions take an
//! open collection and a loaded embedder, for `serve`.

use super::index::{
    check_given, embed_chunk, given_chunk, index_labels, IndexOptions, IndexReport,
};
use super::search::{self, embed_queries, Neighbour, QueryResult, SearchFilter};
use super::train::{TrainMode, TrainOptions};
use crate::embed::{self, Embedder};
use crate::milvus::{MilvusCollection, MilvusUri, RemoteHit};
use crate::progress;
use crate::seq::SeqRecord;
use crate::store::{CollectionConfig, Quantize};
use crate::{Error, Result};

fn unsupported(what: &str) -> Error {
    Error::InvalidArgument {
        what: "collection".into(),
        message: format!("{what} is not available on a Milvus collection yet"),
    }
}

/// The embedder a Milvus collection was built with, checked against its stored identity.
pub fn remote_embedder(collection: &MilvusCollection) -> Result<Box<dyn Embedder>> {
    let embedder = embed::from_spec(&collection.config().embedder)?;
    check_remote_embedder(collection, embedder.as_ref())?;
    Ok(embedder)
}

/// Refuses an embedder other than the one the collection stores the identity of.
pub fn check_remote_embedder(collection: &MilvusCollection, embedder: &dyn Embedder) -> Result<()> {
    let stored = &collection.config().embedder_identity;
    if embedder.identity() != *stored {
        return Err(Error::Mismatch {
            path: collection.display().into(),
            field: "embedder identity",
            stored: stored.clone(),
            requested: embedder.identity(),
        });
    }
    Ok(())
}

/// Embeds (or, with `given`, takes one vector per record from the caller, as a local
/// `index --vectors` does) and stores records in batches; `on_commit(done, of, total)` runs
/// after each batch is acknowledged by Milvus, and the rows are flushed (sealed) at the end.
pub fn index_remote(
    uri: &MilvusUri,
    records: &[SeqRecord],
    given: Option<&[Vec<f32>]>,
    opts: &IndexOptions,
    on_commit: &mut dyn FnMut(usize, usize, usize),
) -> Result<IndexReport> {
    if opts.quantize != Quantize::None {
        return Err(unsupported("--quantize int8"));
    }
    if let Some(vectors) = given {
        check_given(records, vectors, opts)?;
    }
    let labels = index_labels(records)?;
    let embedder = embed::from_spec(&opts.embedder)?;
    let config = CollectionConfig::new(&opts.embedder, &embedder.identity(), embedder.dim());
    let mut collection = MilvusCollection::create_or_open(uri, &config)?;
    let before = collection.count(None)?;
    let (batch, mut added) = (opts.batch.max(1), 0);
    progress::phase("embed and store", Some(records.len() as u64));
    for (i, chunk) in records.chunks(batch).enumerate() {
        let (start, chunk_labels) = (i * batch, &labels[i * batch..i * batch + chunk.len()]);
        let rows = match given {
            Some(vectors) => {
                let vectors = &vectors[start..start + chunk.len()];
                given_chunk(chunk, chunk_labels, vectors, embedder.dim())?
            }
            None => embed_chunk(embedder.as_ref(), chunk, chunk_labels)?,
        };
        added += collection.insert(&rows, opts.allow_duplicates)?;
        progress::advance((start + chunk.len()) as u64);
        on_commit(start + chunk.len(), records.len(), before + added);
    }
    progress::phase("flush", None);
    collection.flush()?;
    if added > 0 {
        settle(&collection)?;
    }
    let trained = match opts.train {
        true => Some(super::remote_classify::train_open(
            &collection,
            TrainOptions {
                mode: TrainMode::Auto,
                handcrafted: opts.handcrafted,
            },
        )?),
        false => None,
    };
    progress::finish();
    Ok(IndexReport {
        read: records.len(),
        added,
        total: collection.count(None)?,
        rebuilt_graph: false,
        trained,
    })
}

/// Waits until Milvus has indexed the new rows and its answers have stopped changing (see
/// `milvus/settle.rs`); says so when it gave up waiting, since answers may still change.
fn settle(collection: &MilvusCollection) -> Result<()> {
    progress::phase("wait for Milvus to index", None);
    let limit = std::time::Duration::from_secs(SETTLE_LIMIT_S);
    if !collection.settle(limit)? {
        progress::note(&format!(
            "warning: Milvus had not finished indexing {} after {SETTLE_LIMIT_S} s; until it \
             does, search answers may change",
            collection.display()
        ));
    }
    Ok(())
}

/// How long `index` waits for Milvus to index what it stored.
const SETTLE_LIMIT_S: u64 = 300;

/// The `k` nearest stored records of each query: embedded here, searched in one Milvus call,
/// label filters applied inside Milvus.
pub fn search_remote(
    uri: &MilvusUri,
    queries: &[SeqRecord],
    k: usize,
    ef: Option<usize>,
    filter: &SearchFilter,
) -> Result<Vec<QueryResult>> {
    let collection = MilvusCollection::open_for_queries(uri)?;
    let embedder = remote_embedder(&collection)?;
    search_open(&collection, embedder.as_ref(), queries, k, ef, filter)
}

/// The `k` nearest stored records of each given vector, in the collection's embedding space.
pub fn search_vectors_remote(
    uri: &MilvusUri,
    vectors: &[Vec<f32>],
    k: usize,
    ef: Option<usize>,
    filter: &SearchFilter,
) -> Result<Vec<Vec<Neighbour>>> {
    let collection = MilvusCollection::open_for_queries(uri)?;
    search_vectors_open(&collection, vectors, k, ef, filter)
}

/// [`search_remote`] on an open collection with its embedder (checked by the caller with
/// [`check_remote_embedder`]), as a server that keeps the embedder loaded calls it.
pub fn search_open(
    collection: &MilvusCollection,
    embedder: &dyn Embedder,
    queries: &[SeqRecord],
    k: usize,
    ef: Option<usize>,
    filter: &SearchFilter,
) -> Result<Vec<QueryResult>> {
    check_search(collection, k, ef, filter)?;
    let vectors = embed_queries(embedder, queries)?;
    let found = nearest(collection, vectors, k, ef, filter)?;
    Ok(search::results(queries, found))
}

/// The `k` nearest stored records of each vector (made unit norm here, as stored vectors are).
pub fn search_vectors_open(
    collection: &MilvusCollection,
    vectors: &[Vec<f32>],
    k: usize,
    ef: Option<usize>,
    filter: &SearchFilter,
) -> Result<Vec<Vec<Neighbour>>> {
    check_search(collection, k, ef, filter)?;
    check_dims(collection, vectors)?;
    let metric = collection.config().metric;
    let prepared: Vec<Vec<f32>> = (vectors.iter().cloned())
        .map(|mut v| {
            metric.prepare(&mut v);
            v
        })
        .collect();
    nearest(collection, prepared, k, ef, filter)
}

fn nearest(
    collection: &MilvusCollection,
    vectors: Vec<Vec<f32>>,
    k: usize,
    ef: Option<usize>,
    filter: &SearchFilter,
) -> Result<Vec<Vec<Neighbour>>> {
    let filters = (filter.labels.as_slice(), filter.metadata.as_ref());
    let found = collection.search(&vectors, k, ef, filters)?;
    Ok(found
        .into_iter()
        .map(|hits| hits.into_iter().map(neighbour).collect())
        .collect())
}

/// Every given vector has the collection's dimension (Milvus's own error names no query).
pub(super) fn check_dims(collection: &MilvusCollection, vectors: &[Vec<f32>]) -> Result<()> {
    let expected = collection.config().dim;
    match vectors.iter().find(|v| v.len() != expected) {
        Some(v) => Err(Error::WrongDimension {
            expected,
            got: v.len(),
        }),
        None => Ok(()),
    }
}

/// The checks a local search makes.
fn check_search(
    collection: &MilvusCollection,
    k: usize,
    ef: Option<usize>,
    filter: &SearchFilter,
) -> Result<()> {
    search::check_search(k, ef)?;
    let labels = collection.labels();
    match filter.labels.iter().find(|l| !labels.contains(l)) {
        Some(unknown) => Err(search::unknown_label(unknown, labels)),
        None => Ok(()),
    }
}

/// A Milvus search result as the evidence every output shows.
pub(super) fn neighbour(h: RemoteHit) -> Neighbour {
    Neighbour {
        id: h.id,
        name: h.name,
        label: h.label,
        distance: h.distance,
        metadata: h.metadata,
    }
}

/// What `info` shows of a Milvus collection.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RemoteInfo {
    /// The collection's URI.
    pub collection: String,
    /// Stored records.
    pub records: usize,
    /// Stored records per label, in the order labels were first stored.
    pub labels: Vec<(String, usize)>,
    /// Settings.
    pub config: CollectionConfig,
    /// The stored classifier's state, if one was trained.
    pub classifier: Option<super::ClassifierStatus>,
}

/// Counts (strongly consistent) and settings of a Milvus collection.
pub fn info_remote(uri: &MilvusUri) -> Result<RemoteInfo> {
    info_open(&MilvusCollection::open(uri)?)
}

/// [`info_remote`] on an open collection.
pub fn info_open(collection: &MilvusCollection) -> Result<RemoteInfo> {
    let labels = (collection.labels().iter())
        .map(|l| Ok((l.clone(), collection.count(Some(l))?)))
        .collect::<Result<Vec<_>>>()?;
    Ok(RemoteInfo {
        collection: collection.display(),
        records: collection.count(None)?,
        labels,
        config: collection.config().clone(),
        classifier: super::remote_classify::remote_status(collection)?,
    })
}

/// Deletes records by id (all or none: an unknown id is an error naming it).
pub fn delete_remote(uri: &MilvusUri, ids: &[u64]) -> Result<()> {
    MilvusCollection::open(uri)?.delete(ids)
}
