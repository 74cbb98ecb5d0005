//! Reading a Milvus collection's records back: for training and for the classifier's
//! bookkeeping (which labels are live, what changed since the last fit), and the stored
//! classifier itself.

use milvus::query::QueryOptions;
use milvus::value::ValueVec;

use super::client::{label_filter, level, remote, strings, MilvusCollection};
use super::meta::{Meta, KEY_CLASSIFIER};
use super::schema::ID;
use super::uri::Consistency;
use crate::Result;

/// Ids per query when reading ids and labels (under Milvus's 16,384-row result window).
const WINDOW: u64 = 8_192;
/// Bytes a query reading whole records may return: the client refuses gRPC messages over
/// 4 MiB.
const WINDOW_BYTES: usize = 3_000_000;

/// One stored record as read back.
#[derive(Debug, Clone)]
pub struct StoredRow {
    /// Record id.
    pub id: u64,
    /// Index into [`MilvusCollection::labels`].
    pub label: u32,
    /// The sequence (only when asked for).
    pub sequence: String,
    /// The stored vector, unit norm (only when asked for).
    pub vector: Vec<f32>,
}

/// A Milvus collection's live records, counted: per label and below an id.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveCounts {
    /// Live records per label index.
    pub per_label: Vec<usize>,
    /// Live records with an id below the one asked for.
    pub below: Option<usize>,
}

impl MilvusCollection {
    /// Live records per label and (given `below`) those with a smaller id, counted inside
    /// Milvus at the collection's read consistency: what the classifier's state needs, in one
    /// round of concurrent queries instead of reading every id and label back (one query per
    /// 8,192 records).
    pub fn live_counts(&self, below: Option<u64>) -> Result<LiveCounts> {
        let mut filters: Vec<String> = self.labels.iter().map(|l| label_filter(l)).collect();
        filters.extend(below.map(|id| format!("{ID} < {id}")));
        let mut counts = self.counts(&filters, self.reads)?;
        let below = below.and_then(|_| counts.pop());
        Ok(LiveCounts {
            per_label: counts,
            below,
        })
    }

    /// The number of records each filter selects, the queries sent together.
    pub(super) fn counts(&self, filters: &[String], reads: Consistency) -> Result<Vec<usize>> {
        let options = QueryOptions::new()
            .output_fields(vec!["count(*)".to_string()])
            .consistency_level(level(reads));
        let queries = filters
            .iter()
            .map(|filter| self.client.query(&self.uri.name, filter, &options));
        let answers = self.rt.block_on(futures::future::join_all(queries));
        answers
            .into_iter()
            .map(|found| {
                let found = found.map_err(|e| remote(&self.uri, e))?;
                let count = found.iter().find(|c| c.name == "count(*)");
                match count.map(|c| &c.value) {
                    Some(ValueVec::Long(v)) if v.len() == 1 => Ok(v[0].max(0) as usize),
                    other => Err(remote(&self.uri, format!("unexpected count {other:?}"))),
                }
            })
            .collect()
    }

    /// The next record id.
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// Every stored record in id order (read as the collection was opened to read: strongly
    /// consistent unless opened for queries), with sequences and vectors when `full`, else
    /// only ids and labels.
    pub fn rows(&self, full: bool) -> Result<Vec<StoredRow>> {
        let mut fields = vec!["id".to_string(), "label".to_string()];
        if full {
            fields.extend(["sequence".to_string(), "vector".to_string()]);
        }
        let options = QueryOptions::new()
            .output_fields(fields)
            .consistency_level(level(self.reads));
        // A record is its vector, its sequence (Milvus keeps at most 65,535 bytes) and a few
        // small fields; sequences are usually far shorter, and a window that still returns
        // too much is an error naming the limit.
        let window = match full {
            true => (WINDOW_BYTES / (self.config.dim * 4 + 2_048)).max(1) as u64,
            false => WINDOW,
        };
        let mut out = Vec::new();
        let mut start = 0;
        while start < self.next_id {
            let filter = format!("id >= {start} and id < {}", start + window);
            let columns = self
                .rt
                .block_on(self.client.query(&self.uri.name, &filter, &options))
                .map_err(|e| remote(&self.uri, e))?;
            out.extend(self.decode(&columns, full)?);
            start += window;
        }
        out.sort_by_key(|r| r.id);
        Ok(out)
    }

    fn decode(&self, columns: &[milvus::data::FieldColumn], full: bool) -> Result<Vec<StoredRow>> {
        let ids = match columns.iter().find(|c| c.name == "id").map(|c| &c.value) {
            Some(ValueVec::Long(v)) => v.clone(),
            _ => Vec::new(),
        };
        let labels = strings(columns, "label");
        let sequences = strings(columns, "sequence");
        let vectors = match columns
            .iter()
            .find(|c| c.name == "vector")
            .map(|c| &c.value)
        {
            Some(ValueVec::Float(v)) => v.clone(),
            _ => Vec::new(),
        };
        let dim = self.config.dim;
        let complete = labels.len() == ids.len()
            && (!full || (sequences.len() == ids.len() && vectors.len() == ids.len() * dim));
        if !complete {
            return Err(remote(&self.uri, "a query result is missing fields"));
        }
        let mut rows = Vec::with_capacity(ids.len());
        for (i, (&id, label)) in ids.iter().zip(&labels).enumerate() {
            let index = self.labels.iter().position(|l| l == label).ok_or_else(|| {
                remote(
                    &self.uri,
                    format!("record {id} has label {label:?}, not in the label list"),
                )
            })?;
            rows.push(StoredRow {
                id: id as u64,
                label: index as u32,
                sequence: if full {
                    sequences[i].clone()
                } else {
                    String::new()
                },
                vector: if full {
                    vectors[i * dim..(i + 1) * dim].to_vec()
                } else {
                    Vec::new()
                },
            });
        }
        Ok(rows)
    }

    /// The stored classifier's JSON, if one was trained. Opened for queries (not strong), it
    /// is the copy read with the settings at open or the last [`Self::refresh`], which a
    /// server makes before each request: one read of the settings per request, not two. A
    /// strongly reading handle (a writer) reads it again.
    pub fn classifier_json(&self) -> Result<Option<String>> {
        if self.reads != Consistency::Strong {
            return Ok(self.classifier.clone());
        }
        let meta = Meta::name(&self.uri);
        let mut values = Meta::get_all(&self.rt, &self.client, &self.uri, &meta, self.reads)?;
        Ok(values.remove(KEY_CLASSIFIER))
    }

    /// Stores the classifier's JSON (replacing the one before).
    pub fn save_classifier_json(&self, json: String) -> Result<()> {
        let meta = Meta::name(&self.uri);
        Meta::put(
            &self.rt,
            &self.client,
            &self.uri,
            &meta,
            &[(KEY_CLASSIFIER, json)],
        )
    }
}
