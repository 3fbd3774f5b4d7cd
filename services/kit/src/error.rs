//! The error envelope every Stampede service and the gateway answer with:
//! `{"error":{"code":"SCREAMING_SNAKE","message":"..."}}`.
//!
//! 4xx errors carry a message meant for the client. A 500 carries an opaque message; its cause is
//! logged here, once, with the full `anyhow` chain.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An HTTP error in the shared envelope.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// The cause of a 500, logged when the response is built, never sent.
    source: Option<anyhow::Error>,
    /// Seconds for a `Retry-After` header (429, 503).
    retry_after: Option<u64>,
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            source: None,
            retry_after: None,
        }
    }

    /// 429 `code`: the client must wait `retry_after_secs` before trying again.
    pub fn too_many_requests(
        code: &'static str,
        message: impl Into<String>,
        retry_after_secs: u64,
    ) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, code, message).retry_after(retry_after_secs)
    }

    /// 503 `BUSY`: the service sheds this request to stay alive; retry after `retry_after_secs`.
    pub fn busy(message: impl Into<String>, retry_after_secs: u64) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "BUSY", message).retry_after(retry_after_secs)
    }

    /// Adds a `Retry-After` header of `secs` seconds.
    #[must_use]
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 400 `VALIDATION_ERROR`.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::bad_request("VALIDATION_ERROR", message)
    }

    /// 401 `UNAUTHORIZED`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message)
    }

    /// 403 `FORBIDDEN`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "FORBIDDEN", message)
    }

    /// 404 `NOT_FOUND`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// An unexpected failure: 500 `INTERNAL_ERROR` with an opaque message; the cause is logged.
    pub fn internal(cause: anyhow::Error) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "INTERNAL_ERROR",
            message: "internal error".into(),
            source: Some(cause),
            retry_after: None,
        }
    }

    /// The envelope as JSON (the gateway uses it for its own errors).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"error": {"code": self.code, "message": self.message}})
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(cause: anyhow::Error) -> Self {
        Self::internal(cause)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(cause: sqlx::Error) -> Self {
        // Postgres text cannot hold a NUL character (SQLSTATE 22021): that is the client's
        // input, not the server's failure. Every field should refuse it by name first; this
        // keeps one it does not check from answering 500.
        if let sqlx::Error::Database(db) = &cause {
            if db.code().as_deref() == Some("22021") {
                return Self::validation("text must not contain NUL (\\u0000) characters");
            }
        }
        Self::internal(anyhow::Error::new(cause).context("database query failed"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(cause) = &self.source {
            tracing::error!(error = ?cause, "request failed with an unexpected error");
        }
        let body = Envelope {
            error: Body {
                code: self.code,
                message: &self.message,
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

/// Fallback for unknown routes: a 404 in the envelope rather than an empty body.
pub async fn not_found_fallback(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no route for {}", uri.path()))
}

/// The 405 of a route that does not take the method, in the envelope (axum's own has no body).
pub async fn method_not_allowed_fallback(
    method: axum::http::Method,
    uri: axum::http::Uri,
) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!("{} does not take {method}", uri.path()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn envelope_has_code_and_message() {
        let response =
            ApiError::conflict("EMAIL_TAKEN", "email already registered").into_response();
        assert_eq!(response.status(), StatusCode::CONFLICT);
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"error": {"code": "EMAIL_TAKEN", "message": "email already registered"}})
        );
    }

    #[tokio::test]
    async fn internal_error_hides_its_cause() {
        let response = ApiError::internal(anyhow::anyhow!("password=hunter2")).into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        assert!(!String::from_utf8_lossy(&bytes).contains("hunter2"));
    }
}
