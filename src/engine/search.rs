//! `search`: nearest stored records of query sequences.

use std::path::Path;

use rayon::prelude::*;

use crate::embed::Embedder;
use crate::seq::SeqRecord;
use crate::store::{Collection, Filter, RowMask, Where};
use crate::{Error, Result};

/// The largest `k` a search accepts: the CLI's limit and the HTTP server's default
/// `max_k`, so both refuse the same values with the same message.
pub const MAX_K: usize = 1000;

/// The largest graph beam width a search accepts (or `max_k`, when that is larger).
pub const MAX_EF: usize = 10_000;

/// Checks a neighbour count: `k` must be in `1..=max_k`. The CLI (`search --k`,
/// `classify --k`) and the server (`"k"`) both call this, with [`MAX_K`] unless a server
/// sets its own limit.
pub fn check_k(k: usize, max_k: usize) -> Result<usize> {
    if k == 0 || k > max_k {
        return Err(Error::InvalidArgument {
            what: "k".into(),
            message: format!("k must be between 1 and {max_k}, got {k}"),
        });
    }
    Ok(k)
}

/// Checks a graph beam width: `ef` must be in `1..=max(MAX_EF, max_k)` (a beam narrower
/// than `k` is widened by the search itself).
pub fn check_ef(ef: usize, max_k: usize) -> Result<usize> {
    let max = MAX_EF.max(max_k);
    if ef == 0 || ef > max {
        return Err(Error::InvalidArgument {
            what: "ef".into(),
            message: format!("ef must be between 1 and {max}, got {ef}"),
        });
    }
    Ok(ef)
}

/// Checks `k` and `ef` against the library's own limits.
pub(super) fn check_search(k: usize, ef: Option<usize>) -> Result<()> {
    check_k(k, MAX_K)?;
    ef.map(|ef| check_ef(ef, MAX_K)).transpose()?;
    Ok(())
}

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
    /// The record's metadata, when it has any (left out of JSON otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<crate::seq::Metadata>,
}

/// A query's neighbours, nearest first.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct QueryResult {
    /// The query's name.
    pub query: String,
    /// Its neighbours.
    pub neighbours: Vec<Neighbour>,
}

/// Opens a collection read-only for queries (answering before every vector is read; see
/// [`Collection::open_for_queries`]) together with the embedder it was built with.
pub fn open_for_queries(path: &Path) -> Result<(Collection, Box<dyn Embedder>)> {
    let collection = Collection::open_for_queries(path)?;
    let embedder = super::embedder_for(&collection)?;
    Ok((collection, embedder))
}

/// Embeds query records in batches.
pub fn embed_queries(embedder: &dyn Embedder, queries: &[SeqRecord]) -> Result<Vec<Vec<f32>>> {
    let mut out = Vec::with_capacity(queries.len());
    crate::progress::phase("embed queries", Some(queries.len() as u64));
    for chunk in queries.chunks(1024) {
        let seqs: Vec<&[u8]> = chunk.iter().map(|r| r.seq.as_bytes()).collect();
        out.extend(embedder.embed_batch(&seqs)?);
        crate::progress::advance(out.len() as u64);
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
            .ok_or_else(|| unknown_label(l, collection.labels()))
    });
    ids.collect::<Result<Vec<u32>>>().map(Some)
}

/// The error for a label filter naming a label the collection does not have.
pub(super) fn unknown_label(label: &str, labels: &[String]) -> Error {
    Error::InvalidArgument {
        what: "label".into(),
        message: format!(
            "{label:?} is not in the collection (labels: {})",
            labels.join(", ")
        ),
    }
}

/// What a search returns beyond live records: labels (names) and a metadata filter.
#[derive(Debug, Clone, Default)]
pub struct SearchFilter {
    /// Only neighbours with one of these labels (none: every label).
    pub labels: Vec<String>,
    /// Only neighbours whose metadata matches (see [`Where`]).
    pub metadata: Option<Where>,
}

/// A [`SearchFilter`] resolved against one collection: label indices and a row mask, made
/// once per request and shared by its queries.
struct Resolved {
    labels: Option<Vec<u32>>,
    rows: Option<RowMask>,
}

impl Resolved {
    fn new(collection: &Collection, filter: &SearchFilter) -> Result<Self> {
        let rows = filter
            .metadata
            .as_ref()
            .filter(|w| !w.is_empty())
            .map(|w| collection.row_mask(w));
        Ok(Resolved {
            labels: label_filter(collection, &filter.labels)?,
            rows,
        })
    }

    fn filter(&self) -> Filter<'_> {
        Filter {
            labels: self.labels.as_deref(),
            rows: self.rows.as_ref(),
        }
    }
}

/// Searches every query; `filter` restricts the neighbours to some labels and to records
/// whose metadata matches. `k` outside `1..=MAX_K` or `ef` outside `1..=MAX_EF` is an error
/// ([`check_k`], [`check_ef`]).
pub fn search_sequences(
    collection: &Collection,
    embedder: &dyn Embedder,
    queries: &[SeqRecord],
    k: usize,
    ef: Option<usize>,
    filter: &SearchFilter,
) -> Result<Vec<QueryResult>> {
    check_search(k, ef)?;
    let resolved = Resolved::new(collection, filter)?;
    let vectors = embed_queries(embedder, queries)?;
    collection.expect_queries(queries.len())?;
    let found = search_each(collection, &vectors, k, ef, &resolved)?;
    Ok(results(queries, found))
}

/// Each query's neighbours under its name.
pub(super) fn results(queries: &[SeqRecord], found: Vec<Vec<Neighbour>>) -> Vec<QueryResult> {
    queries
        .iter()
        .zip(found)
        .map(|(q, neighbours)| QueryResult {
            query: q.name.clone(),
            neighbours,
        })
        .collect()
}

/// Queries searched and named together: a chunk's names are read in one transaction.
pub(super) const CHUNK: usize = 64;

/// The neighbours of every vector, in order. Queries are independent: chunks of them
/// spread over rayon's threads, and each query is searched exactly as it would be alone.
fn search_each(
    collection: &Collection,
    vectors: &[Vec<f32>],
    k: usize,
    ef: Option<usize>,
    resolved: &Resolved,
) -> Result<Vec<Vec<Neighbour>>> {
    let chunks: Vec<Vec<Vec<Neighbour>>> = vectors
        .par_chunks(CHUNK)
        .map(|vs| {
            let hits = vs
                .iter()
                .map(|v| collection.search_filtered(v, k, ef, resolved.filter()))
                .collect::<Result<Vec<_>>>()?;
            neighbours_of_each(collection, &hits)
        })
        .collect::<Result<_>>()?;
    Ok(chunks.into_iter().flatten().collect())
}

/// Searches query vectors (in the embedder's space, as stored), filtered as
/// [`search_sequences`] is. A vector of the wrong dimension is an error, and so are `k` and
/// `ef` out of range.
pub fn search_vectors(
    collection: &Collection,
    vectors: &[Vec<f32>],
    k: usize,
    ef: Option<usize>,
    filter: &SearchFilter,
) -> Result<Vec<Vec<Neighbour>>> {
    check_search(k, ef)?;
    let resolved = Resolved::new(collection, filter)?;
    collection.expect_queries(vectors.len())?;
    search_each(collection, vectors, k, ef, &resolved)
}

/// Turns hits into named, labelled neighbours.
pub fn neighbours(collection: &Collection, hits: &[crate::store::Hit]) -> Result<Vec<Neighbour>> {
    let ids: Vec<u64> = hits.iter().map(|h| h.id).collect();
    let names = collection.names(&ids)?;
    Ok(named(collection, hits, names))
}

/// [`neighbours`] of several queries' hits, their names read in one transaction: a read
/// transaction costs more than the few lookups of one query.
pub fn neighbours_of_each(
    collection: &Collection,
    hits: &[Vec<crate::store::Hit>],
) -> Result<Vec<Vec<Neighbour>>> {
    let ids: Vec<u64> = hits.iter().flatten().map(|h| h.id).collect();
    let mut names = collection.names(&ids)?.into_iter();
    Ok(hits
        .iter()
        .map(|h| named(collection, h, names.by_ref().take(h.len()).collect()))
        .collect())
}

fn named(
    collection: &Collection,
    hits: &[crate::store::Hit],
    names: Vec<String>,
) -> Vec<Neighbour> {
    hits.iter()
        .zip(names)
        .map(|(h, name)| Neighbour {
            id: h.id,
            name,
            label: collection.label_name(h.label).to_string(),
            distance: h.distance,
            metadata: collection.metadata_of(h.id).cloned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_and_ef_limits_and_messages() {
        assert_eq!(check_k(1, MAX_K).unwrap(), 1);
        assert_eq!(check_k(MAX_K, MAX_K).unwrap(), MAX_K);
        let zero = check_k(0, MAX_K).unwrap_err().to_string();
        assert_eq!(zero, "invalid k: k must be between 1 and 1000, got 0");
        assert!(check_k(1001, MAX_K).is_err());
        assert!(check_k(5, 4).is_err());
        assert_eq!(check_ef(MAX_EF, MAX_K).unwrap(), MAX_EF);
        let ef = check_ef(0, MAX_K).unwrap_err().to_string();
        assert_eq!(ef, "invalid ef: ef must be between 1 and 10000, got 0");
        assert!(check_ef(MAX_EF + 1, MAX_K).is_err());
        assert_eq!(check_ef(20_000, 20_000).unwrap(), 20_000);
        assert!(check_search(3, None).is_ok());
        assert!(check_search(3, Some(0)).is_err());
    }
}
