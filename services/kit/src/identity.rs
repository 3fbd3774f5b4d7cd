//! Identity from the gateway: how a service knows who is calling.
//!
//! The gateway verifies the user's JWT, strips every identity header a client sent
//! (`x-user-id`, `x-user-email`, `x-user-role`, [`IDENTITY_HEADER`]), and adds
//! [`IDENTITY_HEADER`]: a 60-second HS256 token signed with `INTERNAL_SECRET`, a key clients never
//! hold. Services trust only that header; a request straight to a service port that claims an
//! identity any other way (the seed's `x-user-id`) is anonymous, and a forged or stale
//! `x-stampede-identity` is refused with 401.
//!
//! ```text
//!   client --Authorization: Bearer <user JWT>--> gateway --x-stampede-identity: <internal JWT>--> service
//! ```

use std::time::Duration;

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::Secret;
use crate::ApiError;

/// The header carrying the gateway's proof.
pub const IDENTITY_HEADER: &str = "x-stampede-identity";
/// Headers a client might use to claim an identity; the gateway removes all of them.
pub const CLIENT_IDENTITY_HEADERS: [&str; 4] =
    ["x-user-id", "x-user-email", "x-user-role", IDENTITY_HEADER];
const ISSUER: &str = "stampede-gateway";

/// A verified caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub user_id: Uuid,
    pub email: String,
    pub role: String,
}

impl Identity {
    pub fn is_admin(&self) -> bool {
        self.role == "admin"
    }

    /// # Errors
    /// 403 `FORBIDDEN` unless the caller is an admin.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::forbidden("admin role required"))
        }
    }
}

#[derive(Serialize, Deserialize)]
struct InternalClaims {
    sub: Uuid,
    email: String,
    role: String,
    iss: String,
    exp: i64,
}

/// Signs (gateway) and verifies (services) the internal identity token.
#[derive(Clone)]
pub struct IdentityKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl IdentityKeys {
    pub fn new(internal_secret: &Secret) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[ISSUER]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(internal_secret.expose().as_bytes()),
            decoding: DecodingKey::from_secret(internal_secret.expose().as_bytes()),
            validation,
            ttl: Duration::from_secs(60),
        }
    }

    /// The header value proving `identity` (gateway side).
    pub fn sign(&self, identity: &Identity) -> String {
        let claims = InternalClaims {
            sub: identity.user_id,
            email: identity.email.clone(),
            role: identity.role.clone(),
            iss: ISSUER.into(),
            exp: chrono::Utc::now().timestamp() + self.ttl.as_secs() as i64,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing does not fail")
    }

    /// The identity proven by a header value (service side).
    ///
    /// # Errors
    /// 401 when the proof is forged, stale or malformed.
    pub fn verify(&self, header_value: &str) -> Result<Identity, ApiError> {
        decode::<InternalClaims>(header_value, &self.decoding, &self.validation)
            .map(|data| Identity {
                user_id: data.claims.sub,
                email: data.claims.email,
                role: data.claims.role,
            })
            .map_err(|_| {
                ApiError::unauthorized("identity proof from the gateway is missing or invalid")
            })
    }
}

impl<S> FromRequestParts<S> for Identity
where
    IdentityKeys: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match <Identity as OptionalFromRequestParts<S>>::from_request_parts(parts, state).await? {
            Some(identity) => Ok(identity),
            None => Err(ApiError::unauthorized("authentication required")),
        }
    }
}

impl<S> OptionalFromRequestParts<S> for Identity
where
    IdentityKeys: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let Some(value) = parts.headers.get(IDENTITY_HEADER) else {
            return Ok(None);
        };
        let value = value
            .to_str()
            .map_err(|_| ApiError::unauthorized("identity proof is not valid text"))?;
        IdentityKeys::from_ref(state).verify(value).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Identity {
        Identity {
            user_id: Uuid::new_v4(),
            email: "a@b.c".into(),
            role: "user".into(),
        }
    }

    #[test]
    fn signed_identity_round_trips() {
        let keys = IdentityKeys::new(&Secret::new("internal-secret-for-tests"));
        let id = identity();
        assert_eq!(keys.verify(&keys.sign(&id)).unwrap(), id);
    }

    #[test]
    fn identity_signed_with_another_key_is_refused() {
        let theirs = IdentityKeys::new(&Secret::new("attacker-secret-for-tests"));
        let ours = IdentityKeys::new(&Secret::new("internal-secret-for-tests"));
        let err = ours.verify(&theirs.sign(&identity())).unwrap_err();
        assert_eq!(err.status, axum::http::StatusCode::UNAUTHORIZED);
    }
}
