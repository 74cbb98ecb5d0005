//! Reading a Milvus collection's records back: for training and for the classifier's
//! bookkeeping (which labels are live, what changed since the last fit), and the stored
//! classifier itself.

use milvus::query::QueryOptions;
use milvus::value::ValueVec;

use super::client::{level, remote, strings, MilvusCollection};
use super::meta::Meta;
use crate::Result;

/// Ids per query when reading ids and labels (under Milvus's 16,384-row result window).
const WINDOW: u64 = 8_192;
/// Bytes a query reading whole records may return: the client refuses gRPC messages over
/// 4 MiB.
const WINDOW_BYTES: usize = 3_000_000;
/// Settings key of the classifier (JSON, opaque to this module).
const KEY_CLASSIFIER: &str = "classifier";

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

impl MilvusCollection {
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

    /// The stored classifier's JSON, if one was trained.
    pub fn classifier_json(&self) -> Result<Option<String>> {
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
