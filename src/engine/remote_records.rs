//! The record routes' engine calls on a Milvus collection (feature `milvus`): fetch, scroll,
//! count and delete by internal id, with the local calls' answers. A Milvus
//! collection keeps no client ids: an id is an internal one, as a number or its decimal text.

use super::records::{check_limit, decimal, IdRef, ScrollPage, StoredRecord};
use crate::milvus::{MilvusCollection, RemoteRecord};
use crate::store::Where;
use crate::{Error, Result};

/// The internal id an id names (whether a record has it is checked by the caller).
fn internal(id: &IdRef) -> Result<u64> {
    match id {
        IdRef::Int(n) => Ok(*n),
        IdRef::Text(text) => decimal(text).ok_or_else(|| Error::UnknownRecord { id: text.clone() }),
    }
}

fn stored(r: RemoteRecord) -> StoredRecord {
    StoredRecord {
        id: r.id,
        client_id: None,
        name: r.name,
        label: r.label,
        sequence: r.sequence,
        metadata: r.metadata,
    }
}

/// The record `id` names.
pub fn fetch_open(collection: &MilvusCollection, id: &IdRef) -> Result<StoredRecord> {
    let id = internal(id)?;
    let found = collection.fetch(id)?;
    found.map(stored).ok_or(Error::UnknownId { id })
}

/// One page of records in id order (see the local [`super::scroll`]).
pub fn scroll_open(
    collection: &MilvusCollection,
    after: Option<u64>,
    limit: usize,
    filter: Option<&Where>,
) -> Result<ScrollPage> {
    let (page, more) = collection.scroll(after, check_limit(limit)?, filter)?;
    let records: Vec<StoredRecord> = page.into_iter().map(stored).collect();
    let next = more.then(|| records.last().map(|r| r.id)).flatten();
    Ok(ScrollPage { records, next })
}

/// Records passing `filter` (every record without one).
pub fn count_open(collection: &MilvusCollection, filter: Option<&Where>) -> Result<usize> {
    collection.count_where(filter)
}

/// Deletes the records the ids name, all or nothing; answers how many (an id named twice
/// counts once).
pub fn delete_ids_open(collection: &mut MilvusCollection, ids: &[IdRef]) -> Result<usize> {
    let mut found = ids.iter().map(internal).collect::<Result<Vec<u64>>>()?;
    found.sort_unstable();
    found.dedup();
    if !found.is_empty() {
        collection.delete(&found)?;
    }
    Ok(found.len())
}

/// Deletes every record `filter` matches; answers how many.
pub fn delete_where_open(collection: &mut MilvusCollection, filter: &Where) -> Result<usize> {
    let ids = collection.ids_where(filter)?;
    if !ids.is_empty() {
        collection.delete(&ids)?;
    }
    Ok(ids.len())
}
