//! From the client's `Authorization` header to the identity the services trust.

use axum::http::HeaderMap;
use kit::identity::{Identity, IdentityKeys, CLIENT_IDENTITY_HEADERS, IDENTITY_HEADER};
use kit::token::{TokenError, TokenKeys};
use kit::ApiError;

/// The reads anyone may make: the catalogue, venues and seat maps. A client holding an expired
/// or foreign token (a browser that kept yesterday's) still reads them, as TicketFlow's gateway
/// serves them whatever the token; every other route refuses a bad token with a 401.
pub fn is_public_read(method: &axum::http::Method, path: &str) -> bool {
    const PUBLIC: [&str; 3] = ["/api/events", "/api/venues", "/api/inventory"];
    (method == axum::http::Method::GET || method == axum::http::Method::HEAD)
        && PUBLIC
            .iter()
            .any(|prefix| crate::upstream::is_under(path, prefix))
}

/// Verifies the bearer token, if any. No header: anonymous (`Ok(None)`).
///
/// # Errors
/// 401 for a token that is not `Bearer`, malformed, wrongly signed, of another algorithm, or expired.
pub fn authenticate(headers: &HeaderMap, tokens: &TokenKeys) -> Result<Option<Identity>, ApiError> {
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("Authorization header is not valid text"))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or_else(|| ApiError::unauthorized("Authorization must be `Bearer <token>`"))?;
    let claims = tokens.verify(token.trim()).map_err(|e| {
        ApiError::unauthorized(match e {
            TokenError::Expired => "token expired",
            TokenError::BadSignature => "token signature is invalid",
            TokenError::Malformed => "token is malformed",
        })
    })?;
    Ok(Some(Identity {
        user_id: claims.sub,
        email: claims.email,
        role: claims.role,
    }))
}

/// Removes every header a client could use to claim an identity, then adds the signed proof of
/// the verified one (if any). `Authorization` is removed too: services never see user tokens.
pub fn rewrite_identity_headers(
    headers: &mut HeaderMap,
    identity: Option<&Identity>,
    keys: &IdentityKeys,
) {
    for name in CLIENT_IDENTITY_HEADERS {
        headers.remove(name);
    }
    headers.remove(axum::http::header::AUTHORIZATION);
    if let Some(identity) = identity {
        let proof = keys.sign(identity);
        headers.insert(
            IDENTITY_HEADER,
            proof.parse().expect("a JWT is a valid header value"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit::config::Secret;

    #[test]
    fn only_reads_of_the_catalogue_venues_and_seats_are_public() {
        use axum::http::Method;
        for path in [
            "/api/events",
            "/api/events/x",
            "/api/venues/x",
            "/api/inventory/events/x/seats",
        ] {
            assert!(is_public_read(&Method::GET, path), "{path}");
            assert!(!is_public_read(&Method::POST, path), "{path}");
        }
        for path in [
            "/api/eventsX",
            "/api/bookings/my",
            "/api/users/me",
            "/api/payments/x",
        ] {
            assert!(!is_public_read(&Method::GET, path), "{path}");
        }
    }

    #[test]
    fn forged_identity_headers_are_replaced() {
        let keys = IdentityKeys::new(&Secret::new("internal-secret-for-tests"));
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-user-id",
            "00000000-0000-0000-0000-000000000000".parse().unwrap(),
        );
        headers.insert("x-user-role", "admin".parse().unwrap());
        headers.insert(IDENTITY_HEADER, "forged".parse().unwrap());
        rewrite_identity_headers(&mut headers, None, &keys);
        assert!(headers.get("x-user-id").is_none());
        assert!(headers.get("x-user-role").is_none());
        assert!(headers.get(IDENTITY_HEADER).is_none());
    }
}
