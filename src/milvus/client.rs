//! A collection kept in a Milvus server (feature `milvus`): records, labels and vectors in one
//! Milvus collection, genovec's settings (config, label list, next id) beside it in a second
//! one, `NAME__genovec` (see `meta.rs`), so that any node pointed at the server finds all it
//! needs there.
//!
//! Milvus has no transactions: a batch's ids and new labels are stored before its rows, so a
//! crash mid-batch leaves unused ids, never two records with one id. The client is async; each
//! collection drives it on its own single-threaded runtime, so callers stay synchronous.

use std::path::PathBuf;

use milvus::client::Client;
use milvus::data::FieldColumn;
use milvus::query::{QueryOptions, SearchOptions};
use milvus::value::{Value, ValueVec};

use super::connect::connect;
use super::meta::Meta;
use super::schema::{
    check_record, columns, create, dedup_hash, HASH, ID, LABEL, METADATA, NAME, VECTOR,
};
use super::uri::{Consistency, MilvusUri};
use crate::seq::Metadata;
use crate::store::{CollectionConfig, NewRecord, Where};
use crate::{Error, Result};

/// One search result from Milvus.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteHit {
    /// Record id.
    pub id: u64,
    /// Label.
    pub label: String,
    /// Record name.
    pub name: String,
    /// Cosine distance (1 - similarity), as a local collection reports it.
    pub distance: f32,
    /// The record's metadata, if any.
    pub metadata: Option<Metadata>,
}

/// An open Milvus collection.
pub struct MilvusCollection {
    pub(super) uri: MilvusUri,
    pub(super) rt: tokio::runtime::Runtime,
    pub(super) client: Client,
    pub(super) config: CollectionConfig,
    pub(super) labels: Vec<String>,
    pub(super) next_id: u64,
    /// How settings, the classifier and rows are read: strongly, unless opened for queries.
    pub(super) reads: Consistency,
    /// The classifier's JSON as read with the settings (at open, or the last refresh).
    pub(super) classifier: Option<String>,
    /// Whether the records collection has the `filter_keys` field (see `filter.rs`); those
    /// created before it cannot take a `where` filter.
    pub(super) filterable: bool,
}

/// A Milvus error as genovec reports it, naming the collection.
pub(super) fn remote(uri: &MilvusUri, e: impl std::fmt::Display) -> Error {
    Error::Storage {
        path: PathBuf::from(uri.display()),
        message: format!("Milvus: {e}"),
    }
}

impl MilvusCollection {
    /// Connects and opens an existing collection, reading strongly (as a writer must).
    pub fn open(uri: &MilvusUri) -> Result<Self> {
        Self::open_reading(uri, Consistency::Strong)
    }

    /// Connects and opens an existing collection for queries: settings, classifier and rows
    /// are read at the URI's consistency (bounded by default: a few milliseconds instead of
    /// a strong read's 200, and a write of the last moments may be missed).
    pub fn open_for_queries(uri: &MilvusUri) -> Result<Self> {
        Self::open_reading(uri, uri.consistency)
    }

    /// Reads the settings again (a long-lived reader's view of other nodes' writes).
    pub fn refresh(&mut self) -> Result<()> {
        let meta = Meta::name(&self.uri);
        let settings = Meta::read_all(&self.rt, &self.client, &self.uri, &meta, self.reads)?;
        self.config = settings.config;
        (self.labels, self.next_id) = (settings.labels, settings.next_id);
        self.classifier = settings.classifier;
        Ok(())
    }

    fn open_reading(uri: &MilvusUri, reads: Consistency) -> Result<Self> {
        let (rt, client) = connect(uri)?;
        let exists = rt
            .block_on(client.has_collection(&uri.name))
            .map_err(|e| remote(uri, e))?;
        if !exists {
            return Err(Error::CollectionNotFound {
                path: PathBuf::from(uri.display()),
            });
        }
        let meta = Meta::name(uri);
        let settings = Meta::read_all(&rt, &client, uri, &meta, reads)?;
        let filterable = super::filter::has_filter_keys(&rt, &client, uri)?;
        Ok(MilvusCollection {
            uri: uri.clone(),
            rt,
            client,
            config: settings.config,
            labels: settings.labels,
            next_id: settings.next_id,
            reads,
            classifier: settings.classifier,
            filterable,
        })
    }

    /// Opens the collection, creating it (records collection with its HNSW index, and the
    /// settings beside it) when it does not exist; an existing one must match `config`.
    pub fn create_or_open(uri: &MilvusUri, config: &CollectionConfig) -> Result<Self> {
        let (rt, client) = connect(uri)?;
        let exists = rt
            .block_on(client.has_collection(&uri.name))
            .map_err(|e| remote(uri, e))?;
        if !exists {
            create(&rt, &client, uri, config)?;
        }
        drop(client);
        let collection = Self::open(uri)?;
        crate::store::check_config(&PathBuf::from(uri.display()), &collection.config, config)?;
        Ok(collection)
    }

    /// Settings.
    pub fn config(&self) -> &CollectionConfig {
        &self.config
    }

    /// The label list (a record's label is one of these).
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The collection's URI, as messages name it.
    pub fn display(&self) -> String {
        self.uri.display()
    }

    /// Stores a batch; records whose (label, sequence) is stored already are skipped unless
    /// `allow_duplicates`. Returns how many were added.
    pub fn insert(&mut self, records: &[NewRecord], allow_duplicates: bool) -> Result<usize> {
        for r in records {
            check_record(r, self.config.dim)?;
        }
        let hashes: Vec<String> = records
            .iter()
            .map(|r| dedup_hash(&r.label, &r.seq))
            .collect();
        let stored = match allow_duplicates {
            true => Default::default(),
            false => self.stored_hashes(&hashes)?,
        };
        let mut seen = std::collections::HashSet::new();
        let keep: Vec<usize> = (0..records.len())
            .filter(|&i| {
                allow_duplicates || (!stored.contains(&hashes[i]) && seen.insert(&hashes[i]))
            })
            .collect();
        if keep.is_empty() {
            return Ok(0);
        }
        // Ids and new labels are stored first: a crash leaves a gap, never a reused id.
        let first = self.next_id;
        for &i in &keep {
            if !self.labels.contains(&records[i].label) {
                self.labels.push(records[i].label.clone());
            }
        }
        self.next_id += keep.len() as u64;
        let meta = Meta::name(&self.uri);
        Meta::write_counters(
            &self.rt,
            &self.client,
            &self.uri,
            &meta,
            &self.labels,
            self.next_id,
        )?;
        let shape = (self.config.dim, self.config.metric, self.filterable);
        let columns = columns(records, &keep, &hashes, first, shape);
        self.rt
            .block_on(self.client.insert(&self.uri.name, columns, None))
            .map_err(|e| remote(&self.uri, e))?;
        Ok(keep.len())
    }

    /// Seals what was inserted, so that it is indexed and survives a server restart.
    pub fn flush(&self) -> Result<()> {
        self.rt
            .block_on(self.client.flush(&self.uri.name))
            .map_err(|e| remote(&self.uri, e))
    }

    /// The hashes among `hashes` that stored records have.
    fn stored_hashes(&self, hashes: &[String]) -> Result<std::collections::HashSet<String>> {
        let list = serde_json::to_string(hashes).expect("strings serialise");
        let options = QueryOptions::new()
            .output_fields(vec![HASH.to_string()])
            .consistency_level(level(Consistency::Strong));
        let found = self
            .rt
            .block_on(
                self.client
                    .query(&self.uri.name, &format!("{HASH} in {list}"), &options),
            )
            .map_err(|e| remote(&self.uri, e))?;
        Ok(strings(&found, HASH).into_iter().collect())
    }

    /// The `k` nearest records of each query, in one search call; with `labels`, only
    /// records carrying one of them, and with `filter`, only records whose metadata matches
    /// (both evaluated inside Milvus).
    pub fn search(
        &self,
        queries: &[Vec<f32>],
        k: usize,
        ef: Option<usize>,
        (labels, filter): (&[String], Option<&Where>),
    ) -> Result<Vec<Vec<RemoteHit>>> {
        if queries.is_empty() {
            return Ok(Vec::new());
        }
        let ef = ef.unwrap_or(self.config.graph.ef_search).max(k);
        let mut options = SearchOptions::new()
            .limit(k)
            .anns_field(vec![VECTOR.to_string()])
            .output_fields([LABEL, NAME, METADATA].map(String::from).to_vec())
            .add_param("metric_type", "COSINE")
            .add_param("ef", ef.to_string())
            // Growing segments are skipped: answers come from indexed segments alone, so they
            // do not change when Milvus hands rows over (see `settle.rs`).
            .add_param("ignore_growing", "true")
            .consistency_level(level(self.uri.consistency));
        if let Some(expression) = self.search_filter(labels, filter)? {
            options = options.filter(expression);
        }
        let data: Vec<Value> = queries.iter().map(|q| Value::from(q.clone())).collect();
        let results =
            match self
                .rt
                .block_on(self.client.search(&self.uri.name, data, Some(options)))
            {
                Ok(results) => results,
                // The client's word for a search that found nothing at all.
                Err(milvus::error::Error::Unexpected(m)) if m.starts_with("no ID") => {
                    return Ok(vec![Vec::new(); queries.len()]);
                }
                Err(e) => return Err(remote(&self.uri, e)),
            };
        results.iter().map(|r| self.hits(r)).collect()
    }

    fn hits(&self, result: &milvus::collection::SearchResult) -> Result<Vec<RemoteHit>> {
        let (labels, names) = (strings(&result.field, LABEL), strings(&result.field, NAME));
        let metadata = strings(&result.field, METADATA);
        let n = result.id.len();
        if labels.len() != n || names.len() != n || metadata.len() != n || result.score.len() != n {
            return Err(remote(&self.uri, "a search result is missing fields"));
        }
        let mut hits = Vec::with_capacity(n);
        for i in 0..n {
            let id = match &result.id[i] {
                Value::Long(id) if *id >= 0 => *id as u64,
                other => return Err(remote(&self.uri, format!("unexpected id {other:?}"))),
            };
            let metadata = match metadata[i].as_str() {
                "" => None,
                text => Some(serde_json::from_str(text).map_err(|e| remote(&self.uri, e))?),
            };
            hits.push(RemoteHit {
                id,
                label: labels[i].clone(),
                name: names[i].clone(),
                distance: (1.0 - result.score[i]).max(0.0),
                metadata,
            });
        }
        Ok(hits)
    }

    /// Stored records, optionally only those with `label` (strongly consistent).
    pub fn count(&self, label: Option<&str>) -> Result<usize> {
        let filter = match label {
            Some(l) => label_filter(l),
            None => format!("{ID} >= 0"),
        };
        let counts = self.counts(&[filter], Consistency::Strong)?;
        Ok(counts[0])
    }

    /// The stored ids among `ids`.
    pub fn existing(&self, ids: &[u64]) -> Result<Vec<u64>> {
        let options = QueryOptions::new()
            .output_fields(vec![ID.to_string()])
            .consistency_level(level(Consistency::Strong));
        let found = self
            .rt
            .block_on(self.client.query(&self.uri.name, &id_filter(ids), &options))
            .map_err(|e| remote(&self.uri, e))?;
        match found.iter().find(|c| c.name == ID).map(|c| &c.value) {
            Some(ValueVec::Long(v)) => Ok(v.iter().map(|&id| id as u64).collect()),
            _ => Ok(Vec::new()),
        }
    }

    /// Deletes records by id; an id that names no stored record is an error, and then
    /// nothing is deleted.
    pub fn delete(&mut self, ids: &[u64]) -> Result<()> {
        let existing = self.existing(ids)?;
        if let Some(&id) = ids.iter().find(|id| !existing.contains(id)) {
            return Err(Error::UnknownId { id });
        }
        let options = milvus::mutate::DeleteOptions::with_filter(id_filter(ids));
        self.rt
            .block_on(self.client.delete(&self.uri.name, &options))
            .map_err(|e| remote(&self.uri, e))?;
        Ok(())
    }
}

/// A Milvus filter selecting `ids` (servers before 2.4 delete only through a filter).
fn id_filter(ids: &[u64]) -> String {
    let list: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
    format!("{ID} in [{}]", list.join(","))
}

/// The proto value of a consistency level.
/// The Milvus expression selecting one label's records.
pub(super) fn label_filter(label: &str) -> String {
    format!(
        "{LABEL} == {}",
        serde_json::to_string(label).expect("a string")
    )
}

pub(super) fn level(c: Consistency) -> i32 {
    use milvus::proto::common::ConsistencyLevel;
    match c {
        Consistency::Bounded => ConsistencyLevel::Bounded as i32,
        Consistency::Strong => ConsistencyLevel::Strong as i32,
    }
}

/// The strings of column `name` (empty when absent).
pub(super) fn strings(columns: &[FieldColumn], name: &str) -> Vec<String> {
    match columns.iter().find(|c| c.name == name).map(|c| &c.value) {
        Some(ValueVec::String(v)) => v.clone(),
        _ => Vec::new(),
    }
}
