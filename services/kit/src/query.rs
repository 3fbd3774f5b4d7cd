//! `ApiQuery<T>`: axum's `Query` extractor with its rejection in the error envelope, and
//! [`whole_number`] for paging parameters.
//!
//! axum answers a query string that does not fit `T` (`?limit=abc`, `?limit=-1` for a `u32`)
//! with a plain-text 400; clients of our API, and loadgen's error accounting, expect the
//! `{"error":{"code","message"}}` envelope on every 4xx. A bad query parameter is a bad field
//! like any other: 400 `VALIDATION_ERROR`, TicketFlow's code, in every service.

use std::ops::RangeInclusive;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::ApiError;

/// Query-string extractor whose rejection is a 400 `VALIDATION_ERROR` in the envelope.
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
            Err(rejection) => Err(ApiError::validation(rejection.body_text())),
        }
    }
}

/// A whole number from query parameter `field` (`limit`, `offset`) within `range`; `None` when
/// absent. Out of range is refused, not clamped, so a client learns its page is not what it
/// asked for.
///
/// # Errors
/// 400 `VALIDATION_ERROR` naming the field and the range.
pub fn whole_number(
    field: &str,
    raw: Option<&str>,
    range: RangeInclusive<i64>,
) -> Result<Option<i64>, ApiError> {
    raw.map(|text| match text.trim().parse::<i64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(ApiError::validation(format!(
            "{field} must be an integer between {} and {}",
            range.start(),
            range.end()
        ))),
    })
    .transpose()
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
            assert_eq!(json["error"]["code"], "VALIDATION_ERROR", "{bad}: {json}");
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

    #[test]
    fn a_whole_number_outside_its_range_is_refused_naming_field_and_range() {
        use super::whole_number;
        assert_eq!(whole_number("limit", None, 1..=10).unwrap(), None);
        assert_eq!(whole_number("limit", Some(" 7 "), 1..=10).unwrap(), Some(7));
        for bad in ["0", "11", "-1", "abc", "1.5", "99999999999999999999"] {
            let err = whole_number("limit", Some(bad), 1..=10).unwrap_err();
            assert_eq!(err.code, "VALIDATION_ERROR", "{bad}");
            assert!(
                err.to_string()
                    .contains("limit must be an integer between 1 and 10"),
                "{bad}: {err}"
            );
        }
    }
}
