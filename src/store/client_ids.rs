//! Client ids: the caller's own string or integer id for a record (HTTP inserts with `id`).
//!
//! A client id names at most one live record and a live record has at most one client id.
//! Inserting a record whose client id is taken replaces the record it names in the same
//! transaction (see `write.rs`); deleting a record frees its client id. The table maps the
//! id's key ([`ClientId::key`]) to the record id; the reverse is kept in memory.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use redb::{ReadableTable, ReadableTableMetadata};

use super::open::storage;
use super::tables::{self, CLIENT_IDS};
use super::VectorSet;
use crate::{Error, Result};

/// A client's id for a record: a string or a non-negative integer. `"7"` and `7` differ.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClientId {
    /// A string id: non-empty, at most [`ClientId::MAX_BYTES`] bytes, no control characters.
    Str(String),
    /// An integer id.
    Int(u64),
}

impl ClientId {
    /// The longest string id, in UTF-8 bytes.
    pub const MAX_BYTES: usize = 512;

    /// A string id, checked: non-empty, at most [`Self::MAX_BYTES`] bytes, no control
    /// characters (the message says which rule it breaks).
    pub fn string(text: &str) -> Result<ClientId, String> {
        if text.is_empty() {
            return Err("an id must not be empty".into());
        }
        if text.len() > Self::MAX_BYTES {
            return Err(format!(
                "an id has at most {} bytes, this one has {}",
                Self::MAX_BYTES,
                text.len()
            ));
        }
        if text.chars().any(char::is_control) {
            return Err(format!("the id {text:?} holds a control character"));
        }
        Ok(ClientId::Str(text.to_string()))
    }

    /// The table key: `s:<text>` or `i:<decimal>`.
    pub fn key(&self) -> String {
        match self {
            ClientId::Str(s) => format!("s:{s}"),
            ClientId::Int(n) => format!("i:{n}"),
        }
    }

    /// The id a table key stands for; `None` for a malformed key.
    pub fn from_key(key: &str) -> Option<ClientId> {
        if let Some(text) = key.strip_prefix("s:") {
            return ClientId::string(text).ok();
        }
        let digits = key.strip_prefix("i:")?;
        let n: u64 = digits.parse().ok()?;
        // Only the canonical decimal form, so one id has one key.
        (n.to_string() == digits).then_some(ClientId::Int(n))
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientId::Str(s) => write!(f, "{s:?}"),
            ClientId::Int(n) => write!(f, "{n}"),
        }
    }
}

/// The client ids of live records, both ways.
///
/// Invariant: `by_key` and `by_id` hold the same pairs, and every id is a live record's.
#[derive(Debug, Clone, Default)]
pub struct ClientIds {
    by_key: HashMap<String, u64>,
    by_id: HashMap<u64, String>,
}

impl ClientIds {
    /// The record a key names.
    pub fn get(&self, key: &str) -> Option<u64> {
        self.by_key.get(key).copied()
    }

    /// The key of a record's client id.
    pub fn key_of(&self, id: u64) -> Option<&str> {
        self.by_id.get(&id).map(String::as_str)
    }

    /// Records with a client id.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Names `id` by `key`, dropping whatever either named before.
    pub fn insert(&mut self, key: String, id: u64) {
        if let Some(old) = self.by_key.insert(key.clone(), id) {
            self.by_id.remove(&old);
        }
        if let Some(old_key) = self.by_id.insert(id, key) {
            self.by_key.remove(&old_key);
        }
    }

    /// Frees the client id of record `id`, if it has one.
    pub fn remove_id(&mut self, id: u64) -> Option<String> {
        let key = self.by_id.remove(&id)?;
        self.by_key.remove(&key);
        Some(key)
    }
}

fn corrupt(path: &Path, message: String) -> Error {
    Error::Corrupt {
        path: path.to_path_buf(),
        message,
    }
}

/// Reads the client ids of a loaded collection (tombstones already marked). Each entry must be
/// sealed, have a well-formed key and name a stored record; entries naming deleted records are
/// left out, and no live record may have two. A file without the table has none.
pub fn read(txn: &redb::ReadTransaction, vectors: &VectorSet, path: &Path) -> Result<ClientIds> {
    let table = match txn.open_table(CLIENT_IDS) {
        Ok(table) => table,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(ClientIds::default()),
        Err(e) => return Err(storage(e)),
    };
    let mut ids = ClientIds::default();
    let mut entries = 0u64;
    for entry in table.iter().map_err(storage)? {
        let (key, value) = entry.map_err(storage)?;
        let key = key.value();
        entries += 1;
        let id = tables::client_id_from(key, value.value()).map_err(|e| corrupt(path, e))?;
        if ClientId::from_key(key).is_none() {
            return Err(corrupt(path, format!("client id key {key:?} is malformed")));
        }
        let row = vectors
            .row_of(id)
            .ok_or_else(|| corrupt(path, format!("client id {key:?} names no record")))?;
        if vectors.deleted[row] {
            continue;
        }
        if ids.key_of(id).is_some() {
            return Err(corrupt(path, format!("record {id} has two client ids")));
        }
        ids.insert(key.to_string(), id);
    }
    if entries != table.len().map_err(storage)? {
        return Err(corrupt(
            path,
            "the client id table's size disagrees with its entries".into(),
        ));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_tell_strings_from_integers_and_round_trip() {
        let s = ClientId::string("7").unwrap();
        assert_eq!(s.key(), "s:7");
        assert_eq!(ClientId::Int(7).key(), "i:7");
        for id in [s, ClientId::Int(0), ClientId::string("a:b ü").unwrap()] {
            assert_eq!(ClientId::from_key(&id.key()), Some(id));
        }
        for bad in ["x:1", "i:07", "i:-1", "i:", "s:", "7"] {
            assert_eq!(ClientId::from_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn string_ids_are_checked() {
        assert!(ClientId::string("").is_err());
        assert!(ClientId::string("a\tb").unwrap_err().contains("control"));
        assert!(ClientId::string(&"x".repeat(513)).is_err());
        assert!(ClientId::string(&"x".repeat(512)).is_ok());
    }

    #[test]
    fn both_directions_stay_in_step() {
        let mut ids = ClientIds::default();
        ids.insert("s:a".into(), 1);
        ids.insert("s:a".into(), 2);
        assert_eq!(
            (ids.get("s:a"), ids.key_of(1), ids.len()),
            (Some(2), None, 1)
        );
        assert_eq!(ids.remove_id(2).as_deref(), Some("s:a"));
        assert!(ids.len() == 0 && ids.get("s:a").is_none());
    }
}
