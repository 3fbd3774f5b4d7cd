//! What the API and in-process callers exchange with the collection: proxy and toxic
//! configurations, the views of them the API serves, and toxiproxy's errors.

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use std::net::SocketAddr;

use crate::toxics::{default_name, KindError, Stream, Toxic, ToxicInfo, ToxicKind};

/// An error with toxiproxy's message and status; the body is `{"error": msg, "status": code}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not the JSON expected, or attributes do not fit (400).
    #[error("bad request body: {0}")]
    BadRequestBody(String),
    /// A required field is empty or missing (400).
    #[error("missing required field: {0}")]
    MissingField(String),
    /// No proxy by that name (404).
    #[error("proxy not found")]
    ProxyNotFound,
    /// A proxy by that name exists (409).
    #[error("proxy already exists")]
    ProxyAlreadyExists,
    /// `stream` is neither upstream nor downstream (400).
    #[error("stream was invalid, can be either upstream or downstream")]
    InvalidStream,
    /// Unknown toxic `type` (400).
    #[error("invalid toxic type")]
    InvalidToxicType,
    /// A toxic by that name exists on the proxy (409).
    #[error("toxic already exists")]
    ToxicAlreadyExists,
    /// No toxic by that name on the proxy (404).
    #[error("toxic not found")]
    ToxicNotFound,
    /// The same name twice in one populate request (500, as toxiproxy).
    #[error("duplicate proxy name {0:?}")]
    DuplicateProxyName(String),
    /// The listen address cannot be bound (500, as toxiproxy: e.g. address already in use).
    #[error("listen tcp {address}: {source}")]
    Listen {
        /// The address asked for.
        address: String,
        /// Why binding failed.
        source: std::io::Error,
    },
}

impl ApiError {
    /// The HTTP status toxiproxy answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequestBody(_)
            | ApiError::MissingField(_)
            | ApiError::InvalidStream
            | ApiError::InvalidToxicType => StatusCode::BAD_REQUEST,
            ApiError::ProxyNotFound | ApiError::ToxicNotFound => StatusCode::NOT_FOUND,
            ApiError::ProxyAlreadyExists | ApiError::ToxicAlreadyExists => StatusCode::CONFLICT,
            ApiError::DuplicateProxyName(_) | ApiError::Listen { .. } => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

/// A proxy to create: the body of `POST /proxies`, an element of `POST /populate` and of the
/// `--config` file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyConfig {
    /// Unique name.
    #[serde(default)]
    pub name: String,
    /// `host:port` to listen on; port 0 picks one (the response shows it). Empty: 127.0.0.1:0.
    #[serde(default)]
    pub listen: String,
    /// `host:port` to connect each client to.
    #[serde(default)]
    pub upstream: String,
    /// Start listening now (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

impl ProxyConfig {
    /// An enabled proxy.
    pub fn new(
        name: impl Into<String>,
        listen: impl Into<String>,
        upstream: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            listen: listen.into(),
            upstream: upstream.into(),
            enabled: None,
        }
    }
}

/// Changes to a proxy: the body of `POST /proxies/{name}`; absent fields keep their value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyUpdate {
    /// New listen address (restarts the proxy, dropping its connections).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// New upstream (restarts the proxy, dropping its connections).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// `false` takes the proxy down (connections closed, new ones refused); `true` brings it up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// A proxy as toxiproxy shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProxyInfo {
    /// Unique name.
    pub name: String,
    /// The address it listens on (with the real port once started).
    pub listen: String,
    /// Where clients are connected to.
    pub upstream: String,
    /// Up (listening) or down.
    pub enabled: bool,
    /// Active toxics, upstream ones first.
    pub toxics: Vec<ToxicInfo>,
}

impl ProxyInfo {
    /// The listen address as a socket address, when it is one.
    pub fn listen_addr(&self) -> Option<SocketAddr> {
        self.listen.parse().ok()
    }
}

/// A toxic to add, as toxiproxy reads it: every field optional, defaults applied in
/// [`ToxicRequest::into_toxic`].
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ToxicRequest {
    /// Defaults to `<type>_<stream>`.
    #[serde(default)]
    pub name: Option<String>,
    /// toxiproxy toxic type.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// `upstream` or `downstream` (default).
    #[serde(default)]
    pub stream: Option<String>,
    /// Default 1.0.
    #[serde(default)]
    pub toxicity: Option<f32>,
    /// Type-specific knobs; absent ones are 0.
    #[serde(default)]
    pub attributes: Option<Value>,
}

impl ToxicRequest {
    /// Applies toxiproxy's defaults and checks, in its order: stream, name, type, attributes.
    ///
    /// # Errors
    /// [`ApiError::InvalidStream`], [`ApiError::InvalidToxicType`], or
    /// [`ApiError::BadRequestBody`] for attributes or a toxicity outside [0, 1].
    pub fn into_toxic(self) -> Result<Toxic, ApiError> {
        let stream = match self.stream.as_deref() {
            None | Some("") => Stream::Downstream,
            Some(s) => Stream::parse(s).ok_or(ApiError::InvalidStream)?,
        };
        let type_name = self.kind.unwrap_or_default();
        let name = match self.name {
            Some(name) if !name.is_empty() => name,
            _ => default_name(&type_name, stream),
        };
        let kind = ToxicKind::parse(&type_name, self.attributes).map_err(|e| match e {
            KindError::UnknownType => ApiError::InvalidToxicType,
            KindError::BadAttributes(msg) => ApiError::BadRequestBody(msg),
        })?;
        let toxicity = check_toxicity(self.toxicity.unwrap_or(1.0))?;
        Ok(Toxic {
            name,
            kind,
            stream,
            toxicity,
        })
    }
}

/// Changes to a toxic: the body of `POST /proxies/{proxy}/toxics/{toxic}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ToxicPatch {
    /// Attributes to change; the others keep their value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Map<String, Value>>,
    /// New toxicity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toxicity: Option<f32>,
}

pub(crate) fn check_toxicity(toxicity: f32) -> Result<f32, ApiError> {
    if (0.0..=1.0).contains(&toxicity) {
        Ok(toxicity)
    } else {
        Err(ApiError::BadRequestBody(format!(
            "toxicity must be between 0 and 1, got {toxicity}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: serde_json::Value) -> ToxicRequest {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn toxic_request_applies_toxiproxy_defaults() {
        let t = request(serde_json::json!({"type": "latency", "attributes": {"latency": 10}}))
            .into_toxic()
            .unwrap();
        assert_eq!(t.name, "latency_downstream");
        assert_eq!(t.stream, Stream::Downstream);
        assert_eq!(t.toxicity, 1.0);
    }

    #[test]
    fn toxic_request_errors_in_toxiproxy_order() {
        let bad_stream = request(serde_json::json!({"type": "nope", "stream": "sideways"}));
        assert!(matches!(
            bad_stream.into_toxic(),
            Err(ApiError::InvalidStream)
        ));
        let bad_type = request(serde_json::json!({"type": "nope", "attributes": {"x": -1}}));
        assert!(matches!(
            bad_type.into_toxic(),
            Err(ApiError::InvalidToxicType)
        ));
        let negative =
            request(serde_json::json!({"type": "timeout", "attributes": {"timeout": -1}}));
        assert!(matches!(
            negative.into_toxic(),
            Err(ApiError::BadRequestBody(_))
        ));
        let toxicity = request(serde_json::json!({"type": "timeout", "toxicity": 1.5}));
        assert!(matches!(
            toxicity.into_toxic(),
            Err(ApiError::BadRequestBody(_))
        ));
    }
}
