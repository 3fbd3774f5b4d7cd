//! `ApiQuery<T>`: axum's `Query` extractor with its rejection in the error envelope.
//!
//! axum answers a query string that does not fit `T` (`?limit=abc`, `?limit=-1` for a `u32`)
//! with a plain-text 400; clients of our API, and loadgen's error accounting, expect the
//! `{"error":{"code","message"}}` envelope on every 4xx.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::ApiError;

/// Query-string extractor whose rejection is a 400 `INVALID_QUERY` in the envelope.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError::bad_request(
                "INVALID_QUERY",
                rejection.body_text(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::response::IntoResponse;
    use axum::routing::get;
    use axum::Router;
    use http_body_util::BodyExt;
    use serde::Deserialize;
    use tower::ServiceExt;

    use super::ApiQuery;

    #[derive(Deserialize)]
    struct Page {
        limit: Option<u32>,
    }

    async fn page(ApiQuery(page): ApiQuery<Page>) -> impl IntoResponse {
        format!("{:?}", page.limit)
    }

    #[tokio::test]
    async fn a_query_that_does_not_fit_is_a_400_in_the_envelope() {
        let app = Router::new().route("/", get(page));
        for bad in ["/?limit=abc", "/?limit=-1", "/?limit=99999999999"] {
            let response = app
                .clone()
                .oneshot(Request::get(bad).body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
            let body = response.into_body().collect().await.unwrap().to_bytes();
            let json: serde_json::Value = serde_json::from_slice(&body)
                .unwrap_or_else(|e| panic!("{bad}: not JSON ({e}): {body:?}"));
            assert_eq!(json["error"]["code"], "INVALID_QUERY", "{bad}: {json}");
            assert!(
                json["error"]["message"].as_str().unwrap().contains("limit"),
                "{bad}: the message names the parameter: {json}"
            );
        }
        let fine = app
            .oneshot(Request::get("/?limit=7").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(fine.status(), StatusCode::OK);
    }
}
