//! The record routes by id: fetch one record, scroll (and count), and delete in a batch (by
//! ids or by a `where` filter). The lookup rule for ids is [`crate::engine::resolve`]'s.
//!
//! They live on the two record paths that already existed (`.../records` and
//! `.../records/{id}`), as other methods: no fixed path such as `.../records/count` sits
//! beside `{id}`, so every client id can be used in a path.

// Without the `milvus` feature a served collection is always local, and the matches on
// `Found` below have one arm.
#![cfg_attr(not(feature = "milvus"), allow(clippy::infallible_destructuring_match))]

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Deserialize;

use super::api_records::{DeleteRequest, DeleteResponse, RecordOut, ScrollResponse};
use super::blocking;
use super::error::{ApiError, ApiJson, ErrorBody};
use super::parse::{check_batch, parse_id_refs, parse_where};
use super::state::{AppState, Found};
use crate::engine::{self, IdRef};
use crate::store::Where;

/// One live record by id.
#[utoipa::path(
    get, path = "/v1/collections/{name}/records/{id}", tag = "records",
    params(
        ("name" = String, Path, description = "Collection name (file stem)"),
        ("id" = String, Path, description = "A client string id, else a client integer id, else an internal record id"),
    ),
    responses(
        (status = 200, description = "The record", body = RecordOut),
        (status = 401, description = "Missing or wrong API key (with --api-key-reads)", body = ErrorBody),
        (status = 404, description = "Unknown collection or id", body = ErrorBody),
    )
)]
pub async fn fetch(
    State(app): State<Arc<AppState>>,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<RecordOut>, ApiError> {
    let served = match app.find(&name)? {
        Found::Local(served) => served,
        #[cfg(feature = "milvus")]
        Found::Remote(remote) => return super::remote_records::fetch(remote, id).await.map(Json),
    };
    let collection = served.read();
    let id = engine::resolve(&collection, &IdRef::Text(id))?;
    Ok(Json(engine::fetch(&collection, id)?.into()))
}

/// The query string of a scroll (every value is checked here, so a bad one is a 400 naming
/// it).
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    limit: Option<String>,
    after: Option<String>,
    #[serde(rename = "where")]
    r#where: Option<String>,
    count: Option<String>,
}

impl ListQuery {
    fn filter(&self) -> Result<Option<Where>, ApiError> {
        let Some(text) = &self.r#where else {
            return Ok(None);
        };
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| ApiError::invalid(format!("where: not valid JSON: {e}")))?;
        parse_where(&value).map(Some)
    }

    /// `count=true` asks for the count; `limit=0` is allowed only then.
    fn wants_count(&self) -> Result<bool, ApiError> {
        match self.count.as_deref() {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(other) => Err(ApiError::invalid(format!(
                "count must be true or false, got {other:?}"
            ))),
        }
    }

    fn number(name: &str, text: Option<&String>) -> Result<Option<u64>, ApiError> {
        text.map(|t| {
            t.parse::<u64>().map_err(|_| {
                ApiError::invalid(format!("{name} must be a non-negative integer, got {t:?}"))
            })
        })
        .transpose()
    }
}

/// Live records page by page, in internal id order, and how many pass the filter.
#[utoipa::path(
    get, path = "/v1/collections/{name}/records", tag = "records",
    params(
        ("name" = String, Path, description = "Collection name (file stem)"),
        ("limit" = Option<usize>, Query, description = "Records per page, 1 to 1000 (default 100); 0 with count=true answers only the count", minimum = 0, maximum = 1000),
        ("after" = Option<u64>, Query, description = "The `next` of the previous page; leave out for the first"),
        ("where" = Option<String>, Query, description = "A metadata filter as URL-encoded JSON, as in search"),
        ("count" = Option<bool>, Query, description = "true: also answer `count`, the live records passing `where` in the whole collection"),
    ),
    responses(
        (status = 200, description = "One page; `next` is null on the last", body = ScrollResponse),
        (status = 400, description = "A bad limit, cursor, count or filter", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key (with --api-key-reads)", body = ErrorBody),
        (status = 404, description = "Unknown collection", body = ErrorBody),
    )
)]
pub async fn scroll(
    State(app): State<Arc<AppState>>,
    Path(name): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Json<ScrollResponse>, ApiError> {
    let found = app.find(&name)?;
    let want_count = query.wants_count()?;
    let limit = ListQuery::number("limit", query.limit.as_ref())?;
    let limit = match limit.map_or(engine::SCROLL_DEFAULT, |l| l as usize) {
        0 if want_count => 0,
        limit => engine::check_limit(limit)?,
    };
    let after = ListQuery::number("after", query.after.as_ref())?;
    let filter = query.filter()?;
    let served = match found {
        Found::Local(served) => served,
        #[cfg(feature = "milvus")]
        Found::Remote(remote) => {
            let answer = super::remote_records::scroll(remote, after, limit, filter, want_count);
            return answer.await.map(Json);
        }
    };
    let (page, count) = blocking(move || {
        let collection = served.read();
        let count = want_count.then(|| engine::count(&collection, filter.as_ref()));
        let page = match limit {
            0 => engine::ScrollPage::default(),
            _ => engine::scroll(&collection, after, limit, filter.as_ref())?,
        };
        Ok((page, count))
    })
    .await?;
    Ok(Json(ScrollResponse {
        records: page.records.into_iter().map(Into::into).collect(),
        next: page.next,
        count,
    }))
}

/// What a batch delete removes.
pub(super) enum Target {
    Ids(Vec<IdRef>),
    Where(Where),
}

/// Deletes records by ids (all or nothing) or by a `where` filter, in one durable transaction.
#[utoipa::path(
    delete, path = "/v1/collections/{name}/records", tag = "records",
    params(("name" = String, Path, description = "Collection name (file stem)")),
    request_body = DeleteRequest,
    responses(
        (status = 200, description = "How many were deleted; durable", body = DeleteResponse),
        (status = 400, description = "Malformed JSON, both or neither of ids and where, or a bad filter", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "Unknown collection, or an unknown id (nothing was deleted)", body = ErrorBody),
        (status = 413, description = "Body or id list too large", body = ErrorBody),
        (status = 422, description = "An id that is neither a valid string nor a non-negative integer", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn delete_batch(
    State(app): State<Arc<AppState>>,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<DeleteRequest>,
) -> Result<Json<DeleteResponse>, ApiError> {
    let found = app.find(&name)?;
    let target = match (&req.ids, &req.r#where) {
        (Some(ids), None) => {
            check_batch("ids", ids.len(), &app.config.limits)?;
            Target::Ids(parse_id_refs(ids)?)
        }
        (None, Some(filter)) => Target::Where(parse_where(filter)?),
        _ => return Err(ApiError::invalid("give either \"ids\" or \"where\"")),
    };
    let served = match found {
        Found::Local(served) => served,
        #[cfg(feature = "milvus")]
        Found::Remote(remote) => {
            return super::remote_records::delete(remote, target)
                .await
                .map(Json);
        }
    };
    let answer = blocking(move || {
        let answer = served.commit(|c| {
            let deleted = match &target {
                Target::Ids(ids) => engine::delete_ids(c, ids)?,
                Target::Where(filter) => engine::delete_where(c, filter)?,
            };
            Ok(DeleteResponse {
                deleted,
                records: c.len(),
            })
        })?;
        if answer.deleted > 0 {
            served.train_in_background();
        }
        Ok(answer)
    })
    .await?;
    Ok(Json(answer))
}
