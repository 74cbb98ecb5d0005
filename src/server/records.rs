//! The write routes: insert records, delete a record. Both answer only after the durable
//! commit, so a 200 (or 204) means the change survives a crash.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

use super::api::{InsertRequest, InsertResponse};
use super::blocking;
use super::error::{ApiError, ApiJson, ErrorBody};
use super::parse::{check_batch, parse_records};
use super::state::AppState;
use crate::engine;
use crate::Error;

/// Inserts records in one durable transaction; records already stored are skipped.
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
        (status = 422, description = "Bad sequence letters or a missing label", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn insert(
    State(app): State<Arc<AppState>>,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<InsertRequest>,
) -> Result<Json<InsertResponse>, ApiError> {
    let served = Arc::clone(app.get(&name)?);
    check_batch("records", req.records.len(), &app.config.limits)?;
    let records = parse_records(&req.records)?;
    let external = crate::embed::is_external(&served.embedder.identity());
    let vectors = super::parse::record_vectors(&req.records, external, served.embedder.dim())?;
    let outcome = blocking(move || {
        // Embed before taking the write lock: searches run on while this is the slow part.
        let batch = match vectors {
            Some(v) => engine::vector_records(&records, &v, served.embedder.dim())?,
            None => engine::embed_records(served.embedder.as_ref(), &records)?,
        };
        let outcome = served.commit(|c| c.insert_batch(&batch, false))?;
        served.rebuild_if_needed();
        served.train_in_background();
        Ok(outcome)
    })
    .await?;
    Ok(Json(InsertResponse {
        ids: outcome.ids,
        records: outcome.total,
    }))
}

/// Deletes one record (a durable tombstone; `genovec compact` reclaims the space).
#[utoipa::path(
    delete, path = "/v1/collections/{name}/records/{id}", tag = "records",
    params(
        ("name" = String, Path, description = "Collection name (file stem)"),
        ("id" = u64, Path, description = "Record id"),
    ),
    responses(
        (status = 204, description = "Deleted, durably"),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "Unknown collection or id", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    State(app): State<Arc<AppState>>,
    Path((name, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let served = Arc::clone(app.get(&name)?);
    // A path segment that is not a number names no record.
    let id: u64 = id.parse().map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_id",
            format!("no record with id {id:?}"),
        )
    })?;
    blocking(move || {
        served
            .commit(|c| c.delete(&[id]))
            .map_err(|e: Error| ApiError::from(e))?;
        served.train_in_background();
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
