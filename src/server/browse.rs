//! The record routes by id: fetch one record, scroll, count, and delete in a batch (by ids or
//! by a `where` filter). The lookup rule for ids is [`crate::engine::resolve`]'s.
//!
//! `GET .../records/count` and `POST .../records/delete` are fixed paths beside
//! `.../records/{id}`; the fixed path wins, so a record whose client id is `count` or
//! `delete` is deleted by path as any other (`DELETE .../records/count` is routed here) but
//! read by scrolling, and `GET .../records/delete` fetches the record `delete`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use super::api_records::{CountResponse, DeleteRequest, DeleteResponse, RecordOut, ScrollResponse};
use super::blocking;
use super::error::{ApiError, ApiJson, ErrorBody};
use super::parse::{check_batch, parse_id_refs, parse_where};
use super::records::delete_named;
use super::state::AppState;
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
    fetch_named(&app, &name, id)
}

fn fetch_named(app: &AppState, name: &str, id: String) -> Result<Json<RecordOut>, ApiError> {
    let served = app.get(name)?;
    let collection = served.read();
    let id = engine::resolve(&collection, &IdRef::Text(id))?;
    Ok(Json(engine::fetch(&collection, id)?.into()))
}

/// `GET .../records/delete`: the record whose id is `delete`.
pub async fn fetch_delete(
    State(app): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Json<RecordOut>, ApiError> {
    fetch_named(&app, &name, "delete".into())
}

/// `DELETE .../records/count`: the record whose id is `count`.
pub async fn delete_count(
    State(app): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    delete_named(app, name, "count".into()).await
}

/// `DELETE .../records/delete`: the record whose id is `delete`.
pub async fn delete_delete(
    State(app): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    delete_named(app, name, "delete".into()).await
}

/// The query string of scroll and count (every value is checked here, so a bad one is a 400
/// naming it).
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    limit: Option<String>,
    after: Option<String>,
    #[serde(rename = "where")]
    r#where: Option<String>,
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

    fn number(name: &str, text: Option<&String>) -> Result<Option<u64>, ApiError> {
        text.map(|t| {
            t.parse::<u64>().map_err(|_| {
                ApiError::invalid(format!("{name} must be a non-negative integer, got {t:?}"))
            })
        })
        .transpose()
    }
}

/// Live records page by page, in internal id order.
#[utoipa::path(
    get, path = "/v1/collections/{name}/records", tag = "records",
    params(
        ("name" = String, Path, description = "Collection name (file stem)"),
        ("limit" = Option<usize>, Query, description = "Records per page, 1 to 1000 (default 100)", minimum = 1, maximum = 1000),
        ("after" = Option<u64>, Query, description = "The `next` of the previous page; leave out for the first"),
        ("where" = Option<String>, Query, description = "A metadata filter as URL-encoded JSON, as in search"),
    ),
    responses(
        (status = 200, description = "One page; `next` is null on the last", body = ScrollResponse),
        (status = 400, description = "A bad limit, cursor or filter", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key (with --api-key-reads)", body = ErrorBody),
        (status = 404, description = "Unknown collection", body = ErrorBody),
    )
)]
pub async fn scroll(
    State(app): State<Arc<AppState>>,
    Path(name): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Json<ScrollResponse>, ApiError> {
    let served = Arc::clone(app.get(&name)?);
    let limit = ListQuery::number("limit", query.limit.as_ref())?;
    let limit = engine::check_limit(limit.map_or(engine::SCROLL_DEFAULT, |l| l as usize))?;
    let after = ListQuery::number("after", query.after.as_ref())?;
    let filter = query.filter()?;
    let page = blocking(move || {
        let collection = served.read();
        Ok(engine::scroll(&collection, after, limit, filter.as_ref())?)
    })
    .await?;
    Ok(Json(ScrollResponse {
        records: page.records.into_iter().map(Into::into).collect(),
        next: page.next,
    }))
}

/// Live records, or those a `where` filter admits.
#[utoipa::path(
    get, path = "/v1/collections/{name}/records/count", tag = "records",
    params(
        ("name" = String, Path, description = "Collection name (file stem)"),
        ("where" = Option<String>, Query, description = "A metadata filter as URL-encoded JSON, as in search"),
    ),
    responses(
        (status = 200, description = "The count", body = CountResponse),
        (status = 400, description = "A bad filter", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key (with --api-key-reads)", body = ErrorBody),
        (status = 404, description = "Unknown collection", body = ErrorBody),
    )
)]
pub async fn count(
    State(app): State<Arc<AppState>>,
    Path(name): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Json<CountResponse>, ApiError> {
    let served = app.get(&name)?;
    let filter = query.filter()?;
    let count = engine::count(&served.read(), filter.as_ref());
    Ok(Json(CountResponse { count }))
}

/// What a batch delete removes.
enum Target {
    Ids(Vec<IdRef>),
    Where(Where),
}

/// Deletes records by ids (all or nothing) or by a `where` filter, in one durable transaction.
#[utoipa::path(
    post, path = "/v1/collections/{name}/records/delete", tag = "records",
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
    let served = Arc::clone(app.get(&name)?);
    let target = match (&req.ids, &req.r#where) {
        (Some(ids), None) => {
            check_batch("ids", ids.len(), &app.config.limits)?;
            Target::Ids(parse_id_refs(ids)?)
        }
        (None, Some(filter)) => Target::Where(parse_where(filter)?),
        _ => return Err(ApiError::invalid("give either \"ids\" or \"where\"")),
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
