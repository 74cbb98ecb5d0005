//! `search`: nearest stored records of query sequences.

use std::path::Path;

use crate::embed::Embedder;
use crate::seq::SeqRecord;
use crate::store::Collection;
use crate::{Error, Result};

/// One neighbour of a query, with everything a user needs as evidence.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Neighbour {
    /// Record id.
    pub id: u64,
    /// Record name.
    pub name: String,
    /// Record label.
    pub label: String,
    /// Distance in the collection's metric.
    pub distance: f32,
}

/// A query's neighbours, nearest first.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct QueryResult {
    /// The query's name.
    pub query: String,
    /// Its neighbours.
    pub neighbours: Vec<Neighbour>,
}

/// Opens a collection read-only together with the embedder it was built with.
pub fn open_for_queries(path: &Path) -> Result<(Collection, Box<dyn Embedder>)> {
    let collection = Collection::open_reader(path)?;
    let embedder = super::embedder_for(&collection)?;
    Ok((collection, embedder))
}

/// Embeds query records in batches.
pub fn embed_queries(embedder: &dyn Embedder, queries: &[SeqRecord]) -> Result<Vec<Vec<f32>>> {
    let mut out = Vec::with_capacity(queries.len());
    for chunk in queries.chunks(1024) {
        let seqs: Vec<&[u8]> = chunk.iter().map(|r| r.seq.as_bytes()).collect();
        out.extend(embedder.embed_batch(&seqs)?);
    }
    Ok(out)
}

/// Resolves label names for a filter; an unknown label is an error naming the known ones.
pub fn label_filter(collection: &Collection, labels: &[String]) -> Result<Option<Vec<u32>>> {
    if labels.is_empty() {
        return Ok(None);
    }
    let ids = labels.iter().map(|l| {
        collection
            .label_index(l)
            .ok_or_else(|| Error::InvalidArgument {
                what: "label".into(),
                message: format!(
                    "{l:?} is not in the collection (labels: {})",
                    collection.labels().join(", ")
                ),
            })
    });
    ids.collect::<Result<Vec<u32>>>().map(Some)
}

/// Searches every query; `labels` (names) restricts the neighbours to those labels.
pub fn search_sequences(
    collection: &Collection,
    embedder: &dyn Embedder,
    queries: &[SeqRecord],
    k: usize,
    ef: Option<usize>,
    labels: &[String],
) -> Result<Vec<QueryResult>> {
    let filter = label_filter(collection, labels)?;
    let vectors = embed_queries(embedder, queries)?;
    queries
        .iter()
        .zip(vectors)
        .map(|(q, v)| {
            let hits = collection.search(&v, k, ef, filter.as_deref())?;
            Ok(QueryResult {
                query: q.name.clone(),
                neighbours: neighbours(collection, &hits)?,
            })
        })
        .collect()
}

/// Searches query vectors (in the embedder's space, as stored); `labels` (names) restricts
/// the neighbours to those labels. A vector of the wrong dimension is an error.
pub fn search_vectors(
    collection: &Collection,
    vectors: &[Vec<f32>],
    k: usize,
    ef: Option<usize>,
    labels: &[String],
) -> Result<Vec<Vec<Neighbour>>> {
    let filter = label_filter(collection, labels)?;
    vectors
        .iter()
        .map(|v| {
            let hits = collection.search(v, k, ef, filter.as_deref())?;
            neighbours(collection, &hits)
        })
        .collect()
}

/// Turns hits into named, labelled neighbours.
pub fn neighbours(collection: &Collection, hits: &[crate::store::Hit]) -> Result<Vec<Neighbour>> {
    let ids: Vec<u64> = hits.iter().map(|h| h.id).collect();
    let names = collection.names(&ids)?;
    Ok(hits
        .iter()
        .zip(names)
        .map(|(h, name)| Neighbour {
            id: h.id,
            name,
            label: collection.label_name(h.label).to_string(),
            distance: h.distance,
        })
        .collect())
}
