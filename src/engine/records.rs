//! Records by id: inserting with client ids (upsert), fetching, scrolling, counting and
//! deleting by ids or by a `where` filter. The HTTP server calls these and only parses and
//! formats around them.
//!
//! How an id given by a caller is found ([`IdRef`]): text (a path segment, or a JSON string)
//! names the record whose client id is that string, else, when the text is a decimal integer,
//! the record whose client id is that integer, else the record with that internal id. A JSON
//! integer names the record whose client id is that integer, else the record with that
//! internal id. Only live records are found.

use crate::seq::Metadata;
use crate::store::{ClientId, Collection, NewRecord, Where};
use crate::{Error, Result};

/// Records per scroll page unless the caller asks otherwise.
pub const SCROLL_DEFAULT: usize = 100;
/// The most records one scroll page holds.
pub const SCROLL_MAX: usize = 1000;

/// An id as a caller gave it; see the module docs for how it is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdRef {
    /// Text: a path segment or a JSON string.
    Text(String),
    /// A JSON integer.
    Int(u64),
}

/// A stored record, as fetching or scrolling returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    /// Internal record id.
    pub id: u64,
    /// The client's id, when it was inserted with one.
    pub client_id: Option<ClientId>,
    /// Record name.
    pub name: String,
    /// Label.
    pub label: String,
    /// The sequence (ACGTN).
    pub sequence: String,
    /// User fields, when it has any.
    pub metadata: Option<Metadata>,
}

/// One scroll page.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScrollPage {
    /// Live records in internal id order.
    pub records: Vec<StoredRecord>,
    /// The cursor of the next page (the last id of this one), `None` at the end.
    pub next: Option<u64>,
}

/// Inserts embedded records, each with its client id or none: a record whose client id is
/// taken replaces the record it names, in the same durable transaction
/// ([`Collection::upsert_batch`]); records without one are de-duplicated as always.
pub fn upsert(
    collection: &mut Collection,
    records: &[NewRecord],
    client_ids: &[Option<ClientId>],
) -> Result<crate::store::BatchOutcome> {
    collection.upsert_batch(records, client_ids, false)
}

/// The live record an id names.
pub fn resolve(collection: &Collection, id: &IdRef) -> Result<u64> {
    let (text, number) = match id {
        IdRef::Text(text) => {
            if let Some(found) = ClientId::string(text)
                .ok()
                .and_then(|c| collection.find_client(&c))
            {
                return Ok(found);
            }
            (Some(text), decimal(text))
        }
        IdRef::Int(n) => (None, Some(*n)),
    };
    if let Some(n) = number {
        if let Some(found) = collection.find_client(&ClientId::Int(n)) {
            return Ok(found);
        }
        if collection.is_live(n) {
            return Ok(n);
        }
    }
    Err(match (number, text) {
        (Some(id), _) => Error::UnknownId { id },
        (None, text) => Error::UnknownRecord {
            id: text.cloned().unwrap_or_default(),
        },
    })
}

/// The value of a canonical decimal integer (no sign, no leading zero).
pub(super) fn decimal(text: &str) -> Option<u64> {
    let n: u64 = text.parse().ok()?;
    (n.to_string() == text).then_some(n)
}

/// The records several ids name, all or nothing: the first unknown id is the error.
pub fn resolve_all(collection: &Collection, ids: &[IdRef]) -> Result<Vec<u64>> {
    ids.iter().map(|id| resolve(collection, id)).collect()
}

/// One live record.
pub fn fetch(collection: &Collection, id: u64) -> Result<StoredRecord> {
    let row = collection.record(id)?;
    Ok(stored(collection, id, row))
}

fn stored(collection: &Collection, id: u64, row: crate::store::RecordRow) -> StoredRecord {
    StoredRecord {
        id,
        client_id: collection.client_id(id),
        name: row.name,
        label: collection.label_name(row.label).to_string(),
        // Stored sequences are ACGTN bytes.
        sequence: String::from_utf8_lossy(&row.seq).into_owned(),
        metadata: collection.metadata_of(id).cloned(),
    }
}

/// Checks a scroll page size: 1..=[`SCROLL_MAX`].
pub fn check_limit(limit: usize) -> Result<usize> {
    if limit == 0 || limit > SCROLL_MAX {
        return Err(Error::InvalidArgument {
            what: "limit".into(),
            message: format!("limit must be between 1 and {SCROLL_MAX}, got {limit}"),
        });
    }
    Ok(limit)
}

/// Up to `limit` live records after internal id `after`, passing `filter`, in id order.
pub fn scroll(
    collection: &Collection,
    after: Option<u64>,
    limit: usize,
    filter: Option<&Where>,
) -> Result<ScrollPage> {
    let page = collection.scroll(after, check_limit(limit)?, filter);
    let rows = collection.rows(&page.ids)?;
    let records: Vec<StoredRecord> = page
        .ids
        .iter()
        .zip(rows)
        .map(|(&id, row)| stored(collection, id, row))
        .collect();
    let next = page.more.then(|| records.last().map(|r| r.id)).flatten();
    Ok(ScrollPage { records, next })
}

/// Live records passing `filter` (every live record without one).
pub fn count(collection: &Collection, filter: Option<&Where>) -> usize {
    collection.count(filter)
}

/// Deletes the records the ids name, all or nothing (an unknown id deletes nothing); answers
/// how many were deleted (an id named twice counts once).
pub fn delete_ids(collection: &mut Collection, ids: &[IdRef]) -> Result<usize> {
    let mut found = resolve_all(collection, ids)?;
    found.sort_unstable();
    found.dedup();
    if !found.is_empty() {
        collection.delete(&found)?;
    }
    Ok(found.len())
}

/// Deletes every live record passing `filter`, in one transaction; answers how many.
pub fn delete_where(collection: &mut Collection, filter: &Where) -> Result<usize> {
    let ids = collection.matching_ids(filter);
    if !ids.is_empty() {
        collection.delete(&ids)?;
    }
    Ok(ids.len())
}
