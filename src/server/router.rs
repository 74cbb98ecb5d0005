//! The route table and the middleware around it.
//!
//! Layers, outermost first: metrics (sees every final status), JSON error bodies, panic to
//! 500, the request timeout (503 `timeout`), the body limit (413); then, per route group,
//! the API key.

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{delete, get, post};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use super::state::AppState;
use super::{auth, browse, error, metrics, query, records, routes};

/// The application: every route with its middleware, over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    let auth = || from_fn_with_state(Arc::clone(&state), auth::require_key);
    let mut reads = Router::new()
        .route("/v1/collections", get(routes::list))
        .route("/v1/collections/{name}", get(routes::info))
        .route("/v1/collections/{name}/search", post(query::search))
        .route("/v1/collections/{name}/classify", post(query::classify))
        .route("/v1/collections/{name}/records", get(browse::scroll))
        .route("/v1/collections/{name}/records/{id}", get(browse::fetch))
        .route("/metrics", get(routes::metrics));
    if state.config.protect_reads {
        reads = reads.route_layer(auth());
    }
    let writes = Router::new()
        .route(
            "/v1/collections/{name}/records",
            post(records::insert).delete(browse::delete_batch),
        )
        .route(
            "/v1/collections/{name}/records/{id}",
            delete(records::delete),
        )
        .route_layer(auth());
    let open = Router::new()
        .route("/healthz", get(routes::health))
        .route("/openapi.json", get(routes::openapi));
    let limits = &state.config.limits;
    open.merge(reads)
        .merge(writes)
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            limits.timeout,
        ))
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(from_fn(error::json_errors))
        .layer(from_fn_with_state(Arc::clone(&state), metrics::track))
        .with_state(state)
}
