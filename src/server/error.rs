//! API errors: every failure answers `{"error":{"code","message"}}` with the status the
//! contract fixes per fault (CONTRACT.md, "HTTP shapes").

use std::any::Any;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use utoipa::ToSchema;

use crate::Error;

/// A failed request: the status, a snake_case code and a message for a person.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// Machine-readable code.
    pub code: &'static str,
    /// What went wrong and, where it can, what to change.
    pub message: String,
}

/// The error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The `error` object of an error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// snake_case code, e.g. `bad_sequence`, `unknown_collection`, `unauthorized`.
    pub code: String,
    /// Human-readable message.
    pub message: String,
}

impl ApiError {
    /// An error with an explicit status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400: the request is well-formed JSON but not a valid request.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 413: more items than the server accepts in one request.
    pub fn batch_too_large(what: &str, got: usize, max: usize) -> Self {
        let message = format!("{got} {what} in one request; the limit is {max}");
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "batch_too_large", message)
    }

    /// 404 for a collection name the server does not serve.
    pub fn unknown_collection(name: &str, served: &[&str]) -> Self {
        let message = format!("no collection {name:?} (served: {})", served.join(", "));
        Self::new(StatusCode::NOT_FOUND, "unknown_collection", message)
    }

    /// Prefixes the message with where in the request the fault is (`vectors[2]`).
    pub fn at(mut self, place: &str) -> Self {
        self.message = format!("{place}: {}", self.message);
        self
    }
}

/// The status of a library error: the caller's faults are 4xx, ours are 500.
pub fn status_of(e: &Error) -> StatusCode {
    match e {
        _ if !e.is_user_error() => StatusCode::INTERNAL_SERVER_ERROR,
        Error::CollectionNotFound { .. }
        | Error::UnknownId { .. }
        | Error::UnknownRecord { .. } => StatusCode::NOT_FOUND,
        Error::BadLetter { .. }
        | Error::EmptySequence { .. }
        | Error::MissingLabel { .. }
        | Error::WrongDimension { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let status = status_of(&e);
        if status.is_server_error() {
            tracing::error!(error = %e, "request failed");
        }
        ApiError::new(status, e.code(), e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
            },
        };
        (self.status, axum::Json(body)).into_response()
    }
}

/// A JSON request body, parsed whatever the content type says. Faults map to the contract's
/// statuses: malformed JSON and a wrong shape are 400, a body over the limit is 413.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|r| match r.status() {
                StatusCode::PAYLOAD_TOO_LARGE => body_too_large(),
                status => ApiError::new(status, "bad_request", r.body_text()),
            })?;
        serde_json::from_slice(&bytes)
            .map(ApiJson)
            .map_err(json_error)
    }
}

fn json_error(e: serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Data => ApiError::invalid(e.to_string()),
        _ => ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", e.to_string()),
    }
}

fn body_too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        "the request body is larger than the server accepts (see --max-body-bytes)",
    )
}

/// The code of an error answer made outside the handlers (routing, limits, timeout).
fn code_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::SERVICE_UNAVAILABLE => "timeout",
        s if s.is_server_error() => "internal_error",
        _ => "bad_request",
    }
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"))
}

/// Middleware: rewrites error answers that are not already JSON (an unknown route, a wrong
/// method, the body limit, the timeout) into the error body.
pub async fn json_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
        return response;
    }
    let text = to_bytes(response.into_body(), 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = match (text.is_empty(), status) {
        (_, StatusCode::SERVICE_UNAVAILABLE) => {
            "the request took longer than the server's timeout".into()
        }
        (_, StatusCode::PAYLOAD_TOO_LARGE) => body_too_large().message,
        (true, s) => s.canonical_reason().unwrap_or("error").to_string(),
        (false, _) => text,
    };
    ApiError::new(status, code_for(status), message).into_response()
}

/// The answer to a panicking handler: a 500 in the error shape (the panic is logged).
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = detail, "handler panicked");
    let mut response = ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "internal error (logged by the server)",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_errors_map_to_the_contract_statuses() {
        let cases = [
            (Error::UnknownId { id: 3 }, 404),
            (Error::CollectionNotFound { path: "x".into() }, 404),
            (
                Error::WrongDimension {
                    expected: 4,
                    got: 3,
                },
                422,
            ),
            (
                Error::BadLetter {
                    source_name: "request".into(),
                    location: "sequences[1]".into(),
                    ch: 'X',
                    position: 2,
                },
                422,
            ),
            (
                Error::InvalidArgument {
                    what: "k".into(),
                    message: "0".into(),
                },
                400,
            ),
            (
                Error::Storage {
                    path: "x".into(),
                    message: "disk".into(),
                },
                500,
            ),
            (
                Error::Corrupt {
                    path: "x".into(),
                    message: "bad".into(),
                },
                500,
            ),
        ];
        for (e, status) in cases {
            let code = e.code();
            let api = ApiError::from(e);
            assert_eq!(api.status.as_u16(), status, "{code}");
            assert_eq!(api.code, code);
        }
    }

    #[test]
    fn syntax_and_shape_faults_are_both_400_with_different_codes() {
        let syntax = serde_json::from_slice::<Vec<u32>>(b"[1,").unwrap_err();
        let shape = serde_json::from_slice::<Vec<u32>>(b"[\"a\"]").unwrap_err();
        assert_eq!(json_error(syntax).code, "malformed_json");
        let shape = json_error(shape);
        assert_eq!(
            (shape.status, shape.code),
            (StatusCode::BAD_REQUEST, "invalid_request")
        );
    }
}
