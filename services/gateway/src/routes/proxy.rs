//! Forwarding one request to its upstream.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use kit::ApiError;

use super::GatewayState;
use crate::auth::{authenticate, is_public_read, rewrite_identity_headers};

/// Hop-by-hop headers (RFC 9110 section 7.6.1) and those the client library sets itself.
const NOT_FORWARDED: [&str; 10] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
];

/// Any method on `/api/...`.
pub async fn forward(State(state): State<GatewayState>, request: Request) -> Response {
    match try_forward(&state, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn try_forward(state: &GatewayState, request: Request) -> Result<Response, ApiError> {
    let state = &state.inner;
    let (parts, body) = request.into_parts();
    refuse_ambiguous_path(parts.uri.path())?;
    let upstream = state
        .routes
        .resolve(parts.uri.path())
        .ok_or_else(|| ApiError::not_found(format!("no route for {}", parts.uri.path())))?;
    let base_url = upstream.base_url.as_deref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            SERVICE_UNAVAILABLE,
            format!("{} is not deployed in this stack", upstream.name),
        )
    })?;
    let identity = match authenticate(&parts.headers, &state.tokens) {
        Ok(identity) => identity,
        // A bad token on a public read is read anonymously (it grants nothing either way).
        Err(_) if is_public_read(&parts.method, parts.uri.path()) => None,
        Err(refusal) => return Err(refusal),
    };
    let body = read_body(&parts.headers, body, state.body_limit).await?;

    let mut headers = forwardable(&parts.headers);
    rewrite_identity_headers(&mut headers, identity.as_ref(), &state.identity);
    let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let url = format!("{base_url}{path_and_query}");
    let sent = state
        .client
        .request(parts.method, &url)
        .headers(headers)
        .body(body)
        .send()
        .await
        .map_err(|e| upstream_error(upstream.name, &e))?;

    let mut response = Response::builder().status(sent.status());
    if let Some(response_headers) = response.headers_mut() {
        *response_headers = forwardable(sent.headers());
    }
    let stream = sent.bytes_stream().map_err(std::io::Error::other);
    response
        .body(Body::from_stream(stream))
        .map_err(|e| ApiError::internal(anyhow::Error::new(e).context("cannot build response")))
}

/// Refuses a path whose meaning differs between the gateway and the service: a dot segment
/// (`.` or `..`, literal or percent-encoded in any case) or an encoded slash or backslash.
///
/// Why: routing matches the path as sent, but the upstream URL is parsed by the HTTP client,
/// which resolves dot segments (WHATWG URL rules, `%2e` included). `/api/events/../../metrics`
/// matched event-service's prefix and then reached its `/metrics`: any unrouted path of any
/// service was one `..` away. No legitimate client sends these, so the answer is a 400 rather
/// than a normalisation that could disagree with the service's own.
fn refuse_ambiguous_path(path: &str) -> Result<(), ApiError> {
    // Every spelling of `.` and `..` with `%2e` (compared without allocating: this runs on
    // every proxied request).
    const DOT_SEGMENTS: [&str; 6] = [".", "..", "%2e", "%2e.", ".%2e", "%2e%2e"];
    let dot_segment = path
        .split('/')
        .any(|segment| DOT_SEGMENTS.iter().any(|d| segment.eq_ignore_ascii_case(d)));
    let encoded_separator = path.contains('\\')
        || path.as_bytes().windows(3).any(|w| {
            w[0] == b'%'
                && (w[1..].eq_ignore_ascii_case(b"2f") || w[1..].eq_ignore_ascii_case(b"5c"))
        });
    if encoded_separator || dot_segment {
        return Err(ApiError::bad_request(
            "INVALID_PATH",
            "the path has a dot segment or an encoded slash; send the resolved path",
        ));
    }
    Ok(())
}

/// The body, or 413 when it is larger than `limit` (checked on the declared length first, so a
/// large upload is refused before it is read).
async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<axum::body::Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!("request body exceeds {limit} bytes"),
        )
    };
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())
}

fn forwardable(headers: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        if !NOT_FORWARDED.contains(&name.as_str()) {
            out.append(HeaderName::clone(name), value.clone());
        }
    }
    out
}

/// TicketFlow's gateway answers an unreachable upstream with 503 and this code (contract
/// section 1); a timeout stays Stampede's 504 `UPSTREAM_TIMEOUT`, which says more.
const SERVICE_UNAVAILABLE: &str = "SERVICE_UNAVAILABLE";

fn upstream_error(service: &str, error: &reqwest::Error) -> ApiError {
    if error.is_timeout() {
        ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "UPSTREAM_TIMEOUT",
            format!("{service} did not answer in time"),
        )
    } else {
        tracing::warn!(service, error = %error, "upstream unreachable");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            SERVICE_UNAVAILABLE,
            format!("{service} is unreachable"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::refuse_ambiguous_path;

    #[test]
    fn dot_segments_and_encoded_separators_are_refused_and_plain_paths_pass() {
        for bad in [
            "/api/events/../metrics",
            "/api/events/./x",
            "/api/events/%2E%2e/x",
            "/api/events/.%2E",
            "/api/events/a%2Fb",
            "/api/events/a%5cb",
            "/api/events/a\\b",
        ] {
            assert!(refuse_ambiguous_path(bad).is_err(), "{bad}");
        }
        for good in [
            "/api/events",
            "/api/events/abc.def",
            "/api/events/..abc",
            "/api/bookings/my",
        ] {
            assert!(refuse_ambiguous_path(good).is_ok(), "{good}");
        }
    }
}
