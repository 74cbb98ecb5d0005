//! The informational routes: health, the collection list and details, metrics, OpenAPI.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;

use super::api::{
    ClassifierStateOut, CollectionDetail, CollectionList, CollectionSummary, DegradedCollection,
    GraphState, Health,
};
use super::error::{ApiError, ErrorBody};
use super::state::{AppState, Served};
use crate::engine;

/// Liveness, and whether every collection's last write reached storage.
#[utoipa::path(get, path = "/healthz", tag = "meta",
    responses((status = 200, description = "The server is up; `degraded` names collections whose last write failed on storage", body = Health)))]
pub async fn health(State(app): State<Arc<AppState>>) -> Json<Health> {
    let degraded: Vec<DegradedCollection> = app
        .collections
        .values()
        .filter_map(|s| {
            s.degraded().map(|error| DegradedCollection {
                name: s.name.clone(),
                error,
            })
        })
        .collect();
    let status = if degraded.is_empty() {
        "ok"
    } else {
        "degraded"
    };
    Json(Health { status, degraded })
}

fn summary(served: &Served) -> CollectionSummary {
    let collection = served.read();
    let config = collection.config();
    CollectionSummary {
        name: served.name.clone(),
        records: collection.len(),
        dimension: config.dim,
        embedder: config.embedder.clone(),
    }
}

/// The served collections.
#[utoipa::path(get, path = "/v1/collections", tag = "collections",
    responses(
        (status = 200, description = "Every served collection", body = CollectionList),
        (status = 401, description = "Missing or wrong API key (with --api-key-reads)", body = ErrorBody),
    ))]
pub async fn list(State(app): State<Arc<AppState>>) -> Result<Json<CollectionList>, ApiError> {
    #[allow(unused_mut)]
    let mut collections: Vec<CollectionSummary> =
        app.collections.values().map(|s| summary(s)).collect();
    #[cfg(feature = "milvus")]
    for remote in app.remote.values() {
        collections.push(super::remote::summary(Arc::clone(remote)).await?);
    }
    Ok(Json(CollectionList { collections }))
}

fn detail(served: &Served) -> CollectionDetail {
    let collection = served.read();
    let info = collection.info();
    let search = collection.search_method().ok();
    let state = served.classifier();
    let status = engine::status(&*collection, state.as_deref());
    drop(collection);
    let graph = GraphState {
        nodes: info.graph_nodes,
        tail: info.tail,
        tombstones: info.tombstones,
        rebuilding: served.rebuilding.load(Ordering::Acquire),
        search: serde_json::to_value(search).unwrap_or_default(),
    };
    let classifier = ClassifierStateOut {
        status,
        training: served.training.load(Ordering::Acquire),
    };
    let name = served.name.clone();
    CollectionDetail::new(
        name,
        info.records,
        info.labels,
        info.config,
        graph,
        classifier,
    )
}

/// One collection: records per label, embedder, dimension and graph state.
#[utoipa::path(get, path = "/v1/collections/{name}", tag = "collections",
    params(("name" = String, Path, description = "Collection name (file stem)")),
    responses(
        (status = 200, description = "The collection", body = CollectionDetail),
        (status = 401, description = "Missing or wrong API key (with --api-key-reads)", body = ErrorBody),
        (status = 404, description = "Unknown collection", body = ErrorBody),
    ))]
pub async fn info(
    State(app): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Json<CollectionDetail>, ApiError> {
    #[cfg(feature = "milvus")]
    if let Some(remote) = app.remote.get(&name) {
        return super::remote::detail(Arc::clone(remote)).await.map(Json);
    }
    Ok(Json(detail(app.get(&name)?)))
}

/// Prometheus text: request counts, latency histograms, collection sizes.
#[utoipa::path(get, path = "/metrics", tag = "meta",
    responses((status = 200, description = "Prometheus text format 0.0.4", body = String, content_type = "text/plain")))]
pub async fn metrics(State(app): State<Arc<AppState>>) -> impl IntoResponse {
    let sizes: Vec<(String, usize, usize)> = app
        .collections
        .values()
        .map(|s| {
            let c = s.read();
            (s.name.clone(), c.len(), c.tail_len())
        })
        .collect();
    let text = app.metrics.render(&sizes);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

/// This API's OpenAPI 3.1 document.
#[utoipa::path(get, path = "/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json")))]
pub async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        super::openapi::document(),
    )
}
