//! `where` filters evaluated inside Milvus, with exactly the local semantics (`store::filter`).
//!
//! Milvus compares JSON values by its own rules: an integer and a float may not compare equal,
//! and string escapes differ from JSON's. So the records collection keeps, beside the metadata
//! text, a JSON field (`filter_keys`) in which every scalar metadata value is stored under a
//! key that names its type, with nothing left to interpret:
//! - a string under `s` + the key's UTF-8 bytes in hex, as its UTF-8 bytes in hex;
//! - a number under `n` + hex key, always as a float (`12` is stored as `12.0`);
//! - a boolean under `b` + hex key.
//!
//! A condition then names the typed key it can match: `"depth": {"$gte": 10}` becomes
//! `filter_keys["n6465707468"] >= 10.0`. A record without the key, or with a value of another
//! type, lacks that typed key and does not match, as locally; numbers compare as floats, as
//! locally. Lists, objects and nulls never match a local condition and are not stored.

use std::fmt::Write;

use serde_json::Value;

use milvus::client::Client;

use super::client::{remote, MilvusCollection};
use super::schema::LABEL;
use super::uri::MilvusUri;
use crate::seq::Metadata;
use crate::store::{Condition, Where};
use crate::{Error, Result};

/// The JSON field holding the typed filter keys.
pub(super) const FILTER_KEYS: &str = "filter_keys";

/// The largest `filter_keys` value of one record (Milvus refuses larger JSON values).
pub(super) const MAX_FILTER_KEYS_BYTES: usize = 65_536;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The `filter_keys` JSON of a record with this metadata (`{}` without any).
pub(super) fn filter_keys(meta: Option<&Metadata>) -> Vec<u8> {
    let mut keys = serde_json::Map::new();
    for (key, value) in meta.into_iter().flatten() {
        let k = hex(key.as_bytes());
        match value {
            Value::String(s) => keys.insert(format!("s{k}"), Value::from(hex(s.as_bytes()))),
            Value::Number(n) => match n.as_f64() {
                Some(x) => keys.insert(format!("n{k}"), Value::from(x)),
                None => None,
            },
            Value::Bool(b) => keys.insert(format!("b{k}"), Value::from(*b)),
            _ => None,
        };
    }
    serde_json::to_vec(&keys).expect("JSON values serialise")
}

/// A float literal Milvus reads as a float (always with a point or an exponent).
fn float(x: f64) -> String {
    let text = format!("{x:?}");
    if text.contains(['.', 'e', 'E']) {
        text
    } else {
        format!("{text}.0")
    }
}

/// `filter_keys[...] == value` for one scalar.
fn equals(key: &str, value: &Value) -> String {
    let k = hex(key.as_bytes());
    match value {
        Value::String(s) => format!("{FILTER_KEYS}[\"s{k}\"] == \"{}\"", hex(s.as_bytes())),
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            format!("{FILTER_KEYS}[\"n{k}\"] == {}", float(x))
        }
        Value::Bool(b) => format!("{FILTER_KEYS}[\"b{k}\"] == {b}"),
        // Filters hold scalars only (`Where::parse` checks it); nothing else matches.
        _ => "false".into(),
    }
}

fn condition(key: &str, cond: &Condition) -> String {
    match cond {
        Condition::Eq(value) => equals(key, value),
        Condition::In(values) => {
            let any: Vec<String> = values.iter().map(|v| equals(key, v)).collect();
            format!("({})", any.join(" or "))
        }
        Condition::Compare(op, bound) => {
            let symbol = match *op {
                "$gt" => ">",
                "$gte" => ">=",
                "$lt" => "<",
                _ => "<=",
            };
            let k = hex(key.as_bytes());
            format!("{FILTER_KEYS}[\"n{k}\"] {symbol} {}", float(*bound))
        }
    }
}

/// The Milvus expression of a `where` filter (`None` when it has no condition).
pub(super) fn expression(filter: &Where) -> Option<String> {
    let all: Vec<String> = (filter.conditions().iter())
        .map(|(key, cond)| format!("({})", condition(key, cond)))
        .collect();
    (!all.is_empty()).then(|| all.join(" and "))
}

/// Whether the records collection has the `filter_keys` field (one describe call).
pub(super) fn has_filter_keys(
    rt: &tokio::runtime::Runtime,
    client: &Client,
    uri: &MilvusUri,
) -> Result<bool> {
    let described = rt
        .block_on(client.describe_collection(&uri.name))
        .map_err(|e| remote(uri, e))?;
    Ok(described
        .schema
        .fields
        .iter()
        .any(|f| f.name == FILTER_KEYS))
}

impl MilvusCollection {
    /// The Milvus expression of a search's label and metadata filters (`None` for neither).
    pub(super) fn search_filter(
        &self,
        labels: &[String],
        filter: Option<&Where>,
    ) -> Result<Option<String>> {
        let mut parts = Vec::new();
        if !labels.is_empty() {
            let list = serde_json::to_string(labels).expect("strings serialise");
            parts.push(format!("({LABEL} in {list})"));
        }
        if let Some(expression) = filter.and_then(expression) {
            if !self.filterable {
                return Err(Error::InvalidArgument {
                    what: "where".into(),
                    message: format!(
                        "{} was created before genovec kept metadata filterable in Milvus; \
                         index its records into a new collection to filter on metadata",
                        self.display()
                    ),
                });
            }
            parts.push(expression);
        }
        Ok((!parts.is_empty()).then(|| parts.join(" and ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_stored_under_typed_hex_keys() {
        let meta = json!({"chr": "chr1", "depth": 12, "x": 0.5, "ok": true, "l": [1]});
        let keys: Value = serde_json::from_slice(&filter_keys(meta.as_object())).unwrap();
        assert_eq!(
            keys,
            json!({"s636872": "63687231", "n6465707468": 12.0, "n78": 0.5, "b6f6b": true})
        );
        assert_eq!(filter_keys(None), b"{}");
    }

    #[test]
    fn conditions_become_typed_comparisons() {
        let w = Where::parse(&json!({
            "chr": {"$in": ["chr1", 2]}, "depth": {"$gte": 10, "$lt": 20}, "ok": true
        }))
        .unwrap();
        assert_eq!(
            expression(&w).unwrap(),
            "((filter_keys[\"s636872\"] == \"63687231\" or filter_keys[\"n636872\"] == 2.0)) \
             and (filter_keys[\"n6465707468\"] >= 10.0) and (filter_keys[\"n6465707468\"] < 20.0) \
             and (filter_keys[\"b6f6b\"] == true)"
        );
        assert_eq!(expression(&Where::parse(&json!({})).unwrap()), None);
        assert_eq!(float(1e300), "1e300");
        assert_eq!(float(-3.0), "-3.0");
    }
}
