//! The write routes: insert (or replace, by client id) records, delete a record. Both answer
//! only after the durable commit, so a 200 (or 204) means the change survives a crash. The
//! batch delete and the read routes by id are in `browse.rs`.

// Without the `milvus` feature a served collection is always local, and the matches on
// `Found` below have one arm.
#![cfg_attr(not(feature = "milvus"), allow(clippy::infallible_destructuring_match))]

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

use super::api::{InsertRequest, InsertResponse};
use super::blocking;
use super::error::{ApiError, ApiJson, ErrorBody};
use super::parse::{check_batch, parse_client_ids, parse_records};
use super::state::{AppState, Found};
use crate::engine::{self, IdRef};
use crate::Error;

/// Inserts records in one durable transaction; a record whose client `id` is taken replaces
/// the record it names; records without an id that are already stored are skipped.
#[utoipa::path(
    post, path = "/v1/collections/{name}/records", tag = "records",
    params(("name" = String, Path, description = "Collection name (file stem)")),
    request_body = InsertRequest,
    responses(
        (status = 200, description = "The new ids; the records are durable", body = InsertResponse),
        (status = 400, description = "Malformed JSON or invalid request", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "Unknown collection", body = ErrorBody),
        (status = 413, description = "Body or batch too large", body = ErrorBody),
        (status = 422, description = "Bad sequence letters, a missing label, bad metadata, a bad id or one given twice", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn insert(
    State(app): State<Arc<AppState>>,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<InsertRequest>,
) -> Result<Json<InsertResponse>, ApiError> {
    let served = match app.find(&name)? {
        Found::Local(served) => served,
        #[cfg(feature = "milvus")]
        Found::Remote(_) => return Err(super::remote_records::no_inserts(&name)),
    };
    check_batch("records", req.records.len(), &app.config.limits)?;
    let client_ids = parse_client_ids(&req.records)?;
    let records = parse_records(&req.records)?;
    let echoed = client_ids
        .iter()
        .map(|id| id.clone().map(Into::into))
        .collect();
    let external = crate::embed::is_external(&served.embedder.identity());
    let vectors = super::parse::record_vectors(&req.records, external, served.embedder.dim())?;
    let outcome = blocking(move || {
        // Embed before taking the write lock: searches run on while this is the slow part.
        let batch = match vectors {
            Some(v) => engine::vector_records(&records, &v, served.embedder.dim())?,
            None => engine::embed_records(served.embedder.as_ref(), &records)?,
        };
        let outcome = served.commit(|c| engine::upsert(c, &batch, &client_ids))?;
        served.rebuild_if_needed();
        served.train_in_background();
        Ok(outcome)
    })
    .await?;
    Ok(Json(InsertResponse {
        ids: outcome.ids,
        client_ids: echoed,
        replaced: outcome.replaced,
        records: outcome.total,
    }))
}

/// Deletes one record (a durable tombstone; `genovec compact` reclaims the space). The path
/// id is a client id when a record has it (a string id, then an integer id), else an
/// internal id.
#[utoipa::path(
    delete, path = "/v1/collections/{name}/records/{id}", tag = "records",
    params(
        ("name" = String, Path, description = "Collection name (file stem)"),
        ("id" = String, Path, description = "A client string id, else a client integer id, else an internal record id"),
    ),
    responses(
        (status = 204, description = "Deleted, durably; its client id is free again"),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "Unknown collection or id", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    State(app): State<Arc<AppState>>,
    Path((name, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let served = match app.find(&name)? {
        Found::Local(served) => served,
        #[cfg(feature = "milvus")]
        Found::Remote(remote) => {
            let target = super::browse::Target::Ids(vec![IdRef::Text(id)]);
            super::remote_records::delete(remote, target).await?;
            return Ok(StatusCode::NO_CONTENT);
        }
    };
    blocking(move || {
        served
            .commit(|c| {
                let id = engine::resolve(c, &IdRef::Text(id))?;
                c.delete(&[id])
            })
            .map_err(|e: Error| ApiError::from(e))?;
        served.train_in_background();
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
