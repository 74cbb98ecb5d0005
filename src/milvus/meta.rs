//! genovec's settings for a Milvus collection, kept in Milvus beside it (`NAME__genovec`), so
//! that every node pointed at the server reads the same ones: the collection config, the
//! label list and the next record id (and, later, the classifier).
//!
//! Each value is JSON text under a key. Milvus VARCHARs hold 65,535 bytes, so a value is
//! stored in parts `KEY#0`, `KEY#1`, ... with `KEY` holding the number of parts; a value
//! rewritten shorter leaves stale parts past that number, which are ignored. Milvus needs a
//! vector field in every collection: `v` is a constant 2-d vector.

use std::collections::HashMap;

use milvus::client::Client;
use milvus::data::FieldColumn;
use milvus::index::{IndexParams, IndexType, MetricType};
use milvus::query::QueryOptions;
use milvus::schema::{CollectionSchemaBuilder, FieldSchema};

use super::client::{level, remote, strings};
use super::uri::{Consistency, MilvusUri};
use crate::store::CollectionConfig;
use crate::Result;

const KEY: &str = "key";
const VALUE: &str = "value";
const V: &str = "v";
/// Bytes of one stored part (under the VARCHAR limit, cut at a character boundary).
const PART: usize = 60_000;

const KEY_CONFIG: &str = "config";
const KEY_LABELS: &str = "labels";
const KEY_NEXT_ID: &str = "next_id";

/// The settings collection of a Milvus collection.
pub struct Meta;

type Rt = tokio::runtime::Runtime;

impl Meta {
    /// The settings collection's name.
    pub fn name(uri: &MilvusUri) -> String {
        format!("{}__genovec", uri.name)
    }

    fn fields() -> Vec<FieldSchema> {
        vec![
            FieldSchema::new_primary_varchar(KEY, "setting", false, 256),
            FieldSchema::new_varchar(VALUE, "JSON text (a part of it)", 65_535),
            FieldSchema::new_float_vector(V, "unused: Milvus needs a vector field", 2),
        ]
    }

    /// Creates the settings collection with `config`, no labels and next id 1.
    pub fn create(
        rt: &Rt,
        client: &Client,
        uri: &MilvusUri,
        config: &CollectionConfig,
    ) -> Result<()> {
        let meta = Self::name(uri);
        let mut builder = CollectionSchemaBuilder::new(&meta, "genovec settings");
        for field in Self::fields() {
            builder.add_field(field);
        }
        let schema = builder.build().map_err(|e| remote(uri, e))?;
        let index = IndexParams::new(
            "v_flat".into(),
            IndexType::Flat,
            MetricType::L2,
            HashMap::new(),
        );
        rt.block_on(async {
            client.create_collection(schema, None).await?;
            client.create_index(&meta, V, index).await?;
            client.load_collection(&meta, None).await
        })
        .map_err(|e| remote(uri, e))?;
        let config = serde_json::to_string(config).expect("the config serialises");
        Self::put(rt, client, uri, &meta, &[(KEY_CONFIG, config)])?;
        // Ids start at 1, as in a local collection.
        Self::write_counters(rt, client, uri, &meta, &[], 1)
    }

    /// Stores the label list and the next id.
    pub fn write_counters(
        rt: &Rt,
        client: &Client,
        uri: &MilvusUri,
        meta: &str,
        labels: &[String],
        next_id: u64,
    ) -> Result<()> {
        let labels = serde_json::to_string(labels).expect("strings serialise");
        Self::put(
            rt,
            client,
            uri,
            meta,
            &[(KEY_LABELS, labels), (KEY_NEXT_ID, next_id.to_string())],
        )
    }

    /// Stores values (upserts: a key written again replaces its value).
    pub fn put(
        rt: &Rt,
        client: &Client,
        uri: &MilvusUri,
        meta: &str,
        values: &[(&str, String)],
    ) -> Result<()> {
        let (mut keys, mut texts) = (Vec::new(), Vec::new());
        for (key, value) in values {
            let parts = split(value);
            keys.push(key.to_string());
            texts.push(parts.len().to_string());
            for (i, part) in parts.into_iter().enumerate() {
                keys.push(format!("{key}#{i}"));
                texts.push(part.to_string());
            }
        }
        let fields = Self::fields();
        let n = keys.len();
        let columns = vec![
            FieldColumn::new(&fields[0], keys),
            FieldColumn::new(&fields[1], texts),
            FieldColumn::new(&fields[2], vec![0f32; 2 * n]),
        ];
        rt.block_on(client.upsert(meta, columns, None::<milvus::mutate::InsertOptions>))
            .map_err(|e| remote(uri, e))?;
        Ok(())
    }

    /// Every stored value, reassembled, read at `consistency` (a writer reads strongly, so
    /// that it sees the last write).
    pub fn get_all(
        rt: &Rt,
        client: &Client,
        uri: &MilvusUri,
        meta: &str,
        consistency: Consistency,
    ) -> Result<HashMap<String, String>> {
        let options = QueryOptions::new()
            .output_fields(vec![KEY.to_string(), VALUE.to_string()])
            .consistency_level(level(consistency));
        let rows = rt
            .block_on(client.query(meta, &format!("{KEY} != \"\""), &options))
            .map_err(|e| remote(uri, e))?;
        let raw: HashMap<String, String> = strings(&rows, KEY)
            .into_iter()
            .zip(strings(&rows, VALUE))
            .collect();
        let mut values = HashMap::new();
        for (key, count) in raw.iter().filter(|(k, _)| !k.contains('#')) {
            let count: usize = count
                .parse()
                .map_err(|_| remote(uri, format!("setting {key}: bad part count")))?;
            let mut text = String::new();
            for i in 0..count {
                let part = raw
                    .get(&format!("{key}#{i}"))
                    .ok_or_else(|| remote(uri, format!("setting {key}: part {i} is missing")))?;
                text.push_str(part);
            }
            values.insert(key.clone(), text);
        }
        Ok(values)
    }

    /// The config, label list and next id.
    pub fn read_all(
        rt: &Rt,
        client: &Client,
        uri: &MilvusUri,
        meta: &str,
        consistency: Consistency,
    ) -> Result<Settings> {
        let mut values = Self::get_all(rt, client, uri, meta, consistency)?;
        let get = |key: &str| {
            values.get(key).ok_or_else(|| {
                remote(
                    uri,
                    format!("{meta} has no {key:?}: not a genovec collection"),
                )
            })
        };
        let bad = |key: &str, e: serde_json::Error| remote(uri, format!("setting {key}: {e}"));
        let config = serde_json::from_str(get(KEY_CONFIG)?).map_err(|e| bad(KEY_CONFIG, e))?;
        let labels = serde_json::from_str(get(KEY_LABELS)?).map_err(|e| bad(KEY_LABELS, e))?;
        let next_id = serde_json::from_str(get(KEY_NEXT_ID)?).map_err(|e| bad(KEY_NEXT_ID, e))?;
        Ok(Settings {
            config,
            labels,
            next_id,
            classifier: values.remove(KEY_CLASSIFIER),
        })
    }
}

/// Settings key of the classifier (JSON, opaque to this module).
pub(super) const KEY_CLASSIFIER: &str = "classifier";

/// What the settings collection holds, read at once.
pub struct Settings {
    pub config: CollectionConfig,
    pub labels: Vec<String>,
    pub next_id: u64,
    /// The classifier's JSON, when one was trained.
    pub classifier: Option<String>,
}

/// `text` in parts of at most [`PART`] bytes, cut at character boundaries (one empty part for
/// an empty text).
fn split(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = text;
    while rest.len() > PART {
        let mut cut = PART;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        parts.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    parts.push(rest);
    parts
}

#[cfg(test)]
mod tests {
    #[test]
    fn split_keeps_characters_whole() {
        let text = "é".repeat(40_000);
        let parts = super::split(&text);
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.len() <= super::PART));
        assert_eq!(parts.concat(), text);
        assert_eq!(super::split(""), vec![""]);
    }
}
