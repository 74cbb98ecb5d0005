//! The HTTP API (`genovec serve`): a small JSON API over one or more collections.
//!
//! The routes and their bodies are fixed by CONTRACT.md ("HTTP shapes"); `GET /openapi.json`
//! describes them. Handlers only parse, call [`crate::engine`] and format. Errors are
//! `{"error":{"code","message"}}` with 400/401/404/413/422 for the caller's faults and 500
//! only for ours. See [`state`] for how searches and writes share a collection.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use std::sync::Arc;
//! use genovec::server::{self, AppState, ServerConfig};
//!
//! let state = AppState::open(&["indexes/demo.redb".into()], ServerConfig::default()).unwrap();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:7700").await?;
//! server::serve(listener, Arc::new(state), server::shutdown_signal()).await
//! # }
//! ```

mod api;
mod api_records;
mod auth;
mod browse;
mod error;
mod listen;
mod metrics;
mod openapi;
mod parse;
mod query;
mod records;
#[cfg(feature = "milvus")]
mod remote;
#[cfg(feature = "milvus")]
mod remote_records;
mod router;
mod routes;
pub mod state;
mod training;

use std::future::Future;
use std::sync::Arc;

pub use error::ApiError;
pub use openapi::{document as openapi_document, ApiDoc};
#[cfg(feature = "milvus")]
pub use remote::RemoteServed;
pub use router::router;
pub use state::{AppState, Limits, ServerConfig};

/// Serves `state` on `listener` until `shutdown` completes, then finishes the requests in
/// flight (so every write that was answered is durable) and returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.config.limits.clone();
    listen::serve_limited(listener, router(state), &limits, shutdown).await
}

/// Completes on SIGINT or SIGTERM. The SIGTERM handler is installed when this is called,
/// not when the future is first polled, so a caller that announces readiness afterwards
/// cannot lose a SIGTERM sent in between. Call it inside the runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let interrupt = async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        #[cfg(unix)]
        let terminate = async {
            match terminate.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            _ = interrupt => {},
            _ = terminate => {},
        }
    }
}

/// Runs blocking work (embedding, a durable commit, a large search) off the async workers.
/// A panic inside is re-raised here, where the panic layer turns it into a 500.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            format!("task cancelled: {e}"),
        )),
    }
}
