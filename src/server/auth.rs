//! Bearer-key authentication for the routes that need it.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::state::AppState;

/// Compares in time that depends only on the lengths, not on where the bytes differ.
fn same_key(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn bearer(req: &Request) -> Option<&[u8]> {
    let value = req.headers().get(header::AUTHORIZATION)?.as_bytes();
    let (scheme, key) = value.split_at_checked(7)?;
    scheme
        .eq_ignore_ascii_case(b"bearer ")
        .then_some(key.trim_ascii())
}

/// Middleware: without the configured key, answer 401 (`unauthorized`).
pub async fn require_key(State(app): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let Some(expected) = app.config.api_key.as_deref() else {
        return next.run(req).await;
    };
    if bearer(&req).is_some_and(|k| same_key(k, expected.as_bytes())) {
        return next.run(req).await;
    }
    let message =
        "this route needs the header `Authorization: Bearer <key>` with the server's API key";
    let mut response =
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

#[cfg(test)]
mod tests {
    use super::same_key;

    #[test]
    fn keys_compare_exactly() {
        assert!(same_key(b"abc", b"abc"));
        assert!(!same_key(b"abd", b"abc"));
        assert!(!same_key(b"ab", b"abc"));
    }
}
