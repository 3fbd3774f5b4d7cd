//! `ApiJson<T>`: axum's `Json` extractor and response, with rejections in the error envelope.
//!
//! Bad JSON is a 400 `INVALID_JSON`, a wrong content type a 415, an oversized body a 413
//! `PAYLOAD_TOO_LARGE`: the same statuses axum chooses, in our envelope instead of plain text.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::ApiError;

/// JSON body extractor / response whose errors use [`ApiError`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(rejection_to_error(rejection)),
        }
    }
}

fn rejection_to_error(rejection: JsonRejection) -> ApiError {
    let status = rejection.status();
    let text = rejection.body_text();
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(status, "PAYLOAD_TOO_LARGE", text),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            status,
            "UNSUPPORTED_MEDIA_TYPE",
            "expected Content-Type: application/json",
        ),
        StatusCode::UNPROCESSABLE_ENTITY => ApiError::validation(text),
        _ => ApiError::bad_request("INVALID_JSON", text),
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}
