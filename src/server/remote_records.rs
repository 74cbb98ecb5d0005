//! The record routes on a Milvus collection (feature `milvus`): fetch, scroll, count and
//! delete, with the local routes' requests, checks and answers, through the engine's Milvus
//! calls. Reads use a pooled connection at the URI's consistency; deletes a fresh, strongly
//! reading one. A Milvus collection keeps no client ids, so path and body ids are internal
//! ids (a number, or its decimal text).
//!
//! Differences from a local collection, visible in the answers: inserts answer 400 (see
//! [`no_inserts`]), and a delete does not retrain the classifier in the background (the
//! collection's `classifier` state says it is stale until `genovec train` runs).

use std::sync::Arc;

use super::api_records::{DeleteResponse, RecordOut, ScrollResponse};
use super::blocking;
use super::browse::Target;
use super::error::ApiError;
use super::remote::RemoteServed;
use crate::engine::{self, IdRef};
use crate::store::Where;

/// `GET .../records/{id}`.
pub(super) async fn fetch(served: Arc<RemoteServed>, id: String) -> Result<RecordOut, ApiError> {
    blocking(move || {
        let record = served.with(|c| engine::fetch_open(c, &IdRef::Text(id)))?;
        Ok(record.into())
    })
    .await
}

/// `GET .../records`: a page (none when `limit` is 0) and, when asked, the count.
pub(super) async fn scroll(
    served: Arc<RemoteServed>,
    after: Option<u64>,
    limit: usize,
    filter: Option<Where>,
    want_count: bool,
) -> Result<ScrollResponse, ApiError> {
    blocking(move || {
        let (page, count) = served.with(|c| {
            let count = match want_count {
                true => Some(engine::count_open(c, filter.as_ref())?),
                false => None,
            };
            let page = match limit {
                0 => engine::ScrollPage::default(),
                _ => engine::scroll_open(c, after, limit, filter.as_ref())?,
            };
            Ok((page, count))
        })?;
        Ok(ScrollResponse {
            records: page.records.into_iter().map(Into::into).collect(),
            next: page.next,
            count,
        })
    })
    .await
}

/// `DELETE .../records` and `DELETE .../records/{id}`: all or nothing.
pub(super) async fn delete(
    served: Arc<RemoteServed>,
    target: Target,
) -> Result<DeleteResponse, ApiError> {
    blocking(move || {
        Ok(served.with_writer(|c| {
            let deleted = match &target {
                Target::Ids(ids) => engine::delete_ids_open(c, ids)?,
                Target::Where(filter) => engine::delete_where_open(c, filter)?,
            };
            Ok(DeleteResponse {
                deleted,
                records: c.count(None)?,
            })
        })?)
    })
    .await
}

/// Why `POST .../records` answers 400 on a Milvus collection: record ids come from a counter
/// in the settings collection, and Milvus has no transaction or compare-and-set to keep two
/// writers (two servers, or a server and `genovec index`) from taking the same ids, which
/// Milvus would store twice. `genovec index` is the collection's one writer.
pub(super) fn no_inserts(name: &str) -> ApiError {
    ApiError::invalid(format!(
        "{name:?} is a Milvus collection: add records with `genovec index --collection \
         milvus://...`, its one writer (Milvus cannot keep two writers from taking the same \
         record ids)"
    ))
}
