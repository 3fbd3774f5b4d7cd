//! The user-facing JWT: issued by user-service at register/login, verified by the gateway.
//!
//! HS256 only, signed with `JWT_SECRET`; `alg: none` and every other algorithm are refused, and
//! `exp` is required.

use std::time::Duration;

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::Secret;

/// What a token says about its holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: Uuid,
    pub email: String,
    /// `user` or `admin`.
    pub role: String,
    pub iat: i64,
    pub exp: i64,
}

/// Why a token was refused; the gateway answers 401 with this text.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("token expired")]
    Expired,
    #[error("token signature or algorithm is not accepted")]
    BadSignature,
    #[error("token is malformed")]
    Malformed,
}

/// Signs and verifies user tokens with one HMAC key.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl TokenKeys {
    pub fn new(secret: &Secret, ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret.expose().as_bytes()),
            decoding: DecodingKey::from_secret(secret.expose().as_bytes()),
            validation,
            ttl,
        }
    }

    /// A token for `user_id` valid for the configured time to live.
    ///
    /// # Panics
    /// Never in practice: HS256 signing of serializable claims cannot fail.
    pub fn issue(&self, user_id: Uuid, email: &str, role: &str) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user_id,
            email: email.to_string(),
            role: role.to_string(),
            iat: now,
            exp: now + self.ttl.as_secs() as i64,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing does not fail")
    }

    /// The claims of a valid token.
    ///
    /// # Errors
    /// [`TokenError`] for an expired, wrongly signed, wrong-algorithm or malformed token.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        use jsonwebtoken::errors::ErrorKind;
        decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::InvalidSignature
                | ErrorKind::InvalidAlgorithm
                | ErrorKind::InvalidAlgorithmName => TokenError::BadSignature,
                _ => TokenError::Malformed,
            })
    }

    /// Signs arbitrary claims (tests forge expired tokens with it).
    pub fn sign_claims(&self, claims: &Claims) -> String {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HS256 signing does not fail")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64_url as b64;

    fn keys(secret: &str) -> TokenKeys {
        TokenKeys::new(&Secret::new(secret), Duration::from_secs(3600))
    }

    mod base64_url {
        pub fn encode(bytes: &[u8]) -> String {
            const ALPHABET: &[u8; 64] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let mut out = String::new();
            for chunk in bytes.chunks(3) {
                let n = chunk
                    .iter()
                    .enumerate()
                    .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
                let chars = chunk.len() + 1;
                for i in 0..chars {
                    out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
                }
            }
            out
        }
    }

    #[test]
    fn issued_token_verifies() {
        let keys = keys("a-secret-of-sufficient-length");
        let id = Uuid::new_v4();
        let claims = keys.verify(&keys.issue(id, "a@b.c", "user")).unwrap();
        assert_eq!(claims.sub, id);
        assert_eq!(claims.role, "user");
    }

    #[test]
    fn wrong_key_is_refused() {
        let token = keys("one-secret-of-sufficient-length").issue(Uuid::new_v4(), "a@b.c", "admin");
        assert_eq!(
            keys("another-secret-of-sufficient-len").verify(&token),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn alg_none_is_refused() {
        let header = b64::encode(br#"{"alg":"none","typ":"JWT"}"#);
        let exp = chrono::Utc::now().timestamp() + 3600;
        let payload = b64::encode(
            format!(
                r#"{{"sub":"{}","email":"x@y.z","role":"admin","iat":0,"exp":{exp}}}"#,
                Uuid::new_v4()
            )
            .as_bytes(),
        );
        let token = format!("{header}.{payload}.");
        assert!(keys("a-secret-of-sufficient-length")
            .verify(&token)
            .is_err());
    }

    #[test]
    fn expired_token_is_refused() {
        let keys = keys("a-secret-of-sufficient-length");
        let now = chrono::Utc::now().timestamp();
        let token = keys.sign_claims(&Claims {
            sub: Uuid::new_v4(),
            email: "a@b.c".into(),
            role: "user".into(),
            iat: now - 7200,
            exp: now - 3600,
        });
        assert_eq!(keys.verify(&token), Err(TokenError::Expired));
    }

    #[test]
    fn garbage_is_malformed() {
        assert_eq!(
            keys("a-secret-of-sufficient-length").verify("not.a.jwt"),
            Err(TokenError::Malformed)
        );
    }
}
