//! An async client for the toxiproxy v2 HTTP API: the controller the scenario runner uses to
//! create proxies (Redis, Postgres, Kafka), apply and remove toxics, take proxies down and reset.
//!
//! It only speaks HTTP, so it drives this crate's [`ProxyServer`](crate::ProxyServer) and a real
//! toxiproxy (the docker-compose setup) alike. Reads are loose ([`ProxyInfo`], [`ToxicInfo`]
//! keep unknown toxic types as JSON); writes are typed ([`Toxic`], [`ProxyConfig`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), faultproxy::ClientError> {
//! use faultproxy::{Latency, ProxyConfig, Toxic};
//! let toxiproxy = faultproxy::ToxiproxyClient::new("127.0.0.1:8474");
//! toxiproxy.create_proxy(&ProxyConfig::new("redis", "127.0.0.1:26379", "127.0.0.1:6379")).await?;
//! toxiproxy.add_toxic("redis", &Toxic::new(Latency { latency: 100, jitter: 10 })).await?;
//! toxiproxy.reset().await?;
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::model::{ProxyConfig, ProxyInfo, ProxyUpdate, ToxicPatch};
use crate::toxics::{Toxic, ToxicInfo};

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error (`{"error", "status"}` body, or plain text).
    #[error("toxiproxy answered {status}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// The request did not get an answer (connection refused, timeout).
    #[error("toxiproxy request failed: {0}")]
    Transport(#[from] reqwest::Error),
    /// The answer was not what the API documents.
    #[error("unexpected toxiproxy response: {0}")]
    Decode(String),
    /// The endpoint given to [`ToxiproxyClient::new`] is not a URL.
    #[error("invalid toxiproxy endpoint {0:?}")]
    Endpoint(String),
}

impl ClientError {
    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A toxiproxy v2 API client. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ToxiproxyClient {
    base: String,
    http: reqwest::Client,
}

impl ToxiproxyClient {
    /// A client for the server at `endpoint`: `host:port` or `http://host:port`.
    pub fn new(endpoint: impl AsRef<str>) -> Self {
        let endpoint = endpoint.as_ref().trim_end_matches('/');
        let base = if endpoint.starts_with("http://") || endpoint.starts_with("https://") {
            endpoint.to_owned()
        } else {
            format!("http://{endpoint}")
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("stampede-faultproxy/", env!("CARGO_PKG_VERSION")))
            .build()
            // Building only fails when TLS or the resolver cannot initialise; neither is used.
            .expect("an HTTP client without TLS always builds");
        Self { base, http }
    }

    /// The server's base URL.
    pub fn endpoint(&self) -> &str {
        &self.base
    }

    /// The server's version string (`{"version": ...}` on current servers, plain text on old).
    ///
    /// # Errors
    /// Transport or API errors.
    pub async fn version(&self) -> Result<String, ClientError> {
        let text = self
            .send(Method::GET, &["version"], None::<&()>)
            .await?
            .text()
            .await?;
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(serde_json::Value::Object(map)) => match map.get("version") {
                Some(serde_json::Value::String(v)) => Ok(v.clone()),
                _ => Err(ClientError::Decode(text)),
            },
            _ => Ok(text.trim().to_owned()),
        }
    }

    /// Every proxy by name.
    ///
    /// # Errors
    /// Transport or API errors.
    pub async fn proxies(&self) -> Result<BTreeMap<String, ProxyInfo>, ClientError> {
        self.json(Method::GET, &["proxies"], None::<&()>).await
    }

    /// Creates a proxy (409 if the name is taken).
    ///
    /// # Errors
    /// Transport or API errors.
    pub async fn create_proxy(&self, config: &ProxyConfig) -> Result<ProxyInfo, ClientError> {
        self.json(Method::POST, &["proxies"], Some(config)).await
    }

    /// Creates or replaces proxies; the safe way to (re)declare them at start.
    ///
    /// # Errors
    /// Transport or API errors.
    pub async fn populate(&self, configs: &[ProxyConfig]) -> Result<Vec<ProxyInfo>, ClientError> {
        #[derive(serde::Deserialize)]
        struct Populated {
            proxies: Option<Vec<ProxyInfo>>,
        }
        let populated: Populated = self
            .json(Method::POST, &["populate"], Some(&configs))
            .await?;
        Ok(populated.proxies.unwrap_or_default())
    }

    /// One proxy.
    ///
    /// # Errors
    /// Transport or API errors (404 for an unknown proxy).
    pub async fn proxy(&self, name: &str) -> Result<ProxyInfo, ClientError> {
        self.json(Method::GET, &["proxies", name], None::<&()>)
            .await
    }

    /// Changes a proxy (POST, which every toxiproxy 2.x accepts).
    ///
    /// # Errors
    /// Transport or API errors.
    pub async fn update_proxy(
        &self,
        name: &str,
        update: &ProxyUpdate,
    ) -> Result<ProxyInfo, ClientError> {
        self.json(Method::POST, &["proxies", name], Some(update))
            .await
    }

    /// Brings a proxy up.
    ///
    /// # Errors
    /// Transport or API errors.
    pub async fn enable(&self, name: &str) -> Result<ProxyInfo, ClientError> {
        self.update_proxy(
            name,
            &ProxyUpdate {
                enabled: Some(true),
                ..ProxyUpdate::default()
            },
        )
        .await
    }

    /// Takes a proxy down: its connections are closed and new ones refused.
    ///
    /// # Errors
    /// Transport or API errors.
    pub async fn disable(&self, name: &str) -> Result<ProxyInfo, ClientError> {
        self.update_proxy(
            name,
            &ProxyUpdate {
                enabled: Some(false),
                ..ProxyUpdate::default()
            },
        )
        .await
    }

    /// Deletes a proxy.
    ///
    /// # Errors
    /// Transport or API errors.
    pub async fn delete_proxy(&self, name: &str) -> Result<(), ClientError> {
        self.send(Method::DELETE, &["proxies", name], None::<&()>)
            .await?;
        Ok(())
    }

    /// A proxy's toxics.
    ///
    /// # Errors
    /// Transport or API errors.
    pub async fn toxics(&self, proxy: &str) -> Result<Vec<ToxicInfo>, ClientError> {
        self.json(Method::GET, &["proxies", proxy, "toxics"], None::<&()>)
            .await
    }

    /// Adds a toxic; on our server it is active on every live connection once this returns.
    ///
    /// # Errors
    /// Transport or API errors (409 for a taken name, 400 for bad attributes).
    pub async fn add_toxic(&self, proxy: &str, toxic: &Toxic) -> Result<ToxicInfo, ClientError> {
        self.json(Method::POST, &["proxies", proxy, "toxics"], Some(toxic))
            .await
    }

    /// One toxic.
    ///
    /// # Errors
    /// Transport or API errors.
    pub async fn toxic(&self, proxy: &str, name: &str) -> Result<ToxicInfo, ClientError> {
        self.json(
            Method::GET,
            &["proxies", proxy, "toxics", name],
            None::<&()>,
        )
        .await
    }

    /// Changes some attributes (the others keep their value) or the toxicity of a toxic.
    ///
    /// # Errors
    /// Transport or API errors.
    pub async fn update_toxic(
        &self,
        proxy: &str,
        name: &str,
        patch: &ToxicPatch,
    ) -> Result<ToxicInfo, ClientError> {
        self.json(
            Method::POST,
            &["proxies", proxy, "toxics", name],
            Some(patch),
        )
        .await
    }

    /// Removes a toxic.
    ///
    /// # Errors
    /// Transport or API errors.
    pub async fn remove_toxic(&self, proxy: &str, name: &str) -> Result<(), ClientError> {
        self.send(
            Method::DELETE,
            &["proxies", proxy, "toxics", name],
            None::<&()>,
        )
        .await?;
        Ok(())
    }

    /// Enables every proxy and removes every toxic.
    ///
    /// # Errors
    /// Transport or API errors.
    pub async fn reset(&self) -> Result<(), ClientError> {
        self.send(Method::POST, &["reset"], None::<&()>).await?;
        Ok(())
    }

    /// The endpoint with the path segments appended, each percent-encoded (names may hold any
    /// character).
    fn url(&self, segments: &[&str]) -> Result<reqwest::Url, ClientError> {
        let invalid = || ClientError::Endpoint(self.base.clone());
        let mut url = reqwest::Url::parse(&self.base).map_err(|_| invalid())?;
        url.path_segments_mut()
            .map_err(|_| invalid())?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &[&str],
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<T, ClientError> {
        let response = self.send(method, path, body).await?;
        let bytes = response.bytes().await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| ClientError::Decode(format!("{e}: {}", String::from_utf8_lossy(&bytes))))
    }

    async fn send(
        &self,
        method: Method,
        path: &[&str],
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<reqwest::Response, ClientError> {
        let mut request = self.http.request(method, self.url(path)?);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        Err(api_error(
            status,
            &response.text().await.unwrap_or_default(),
        ))
    }
}

fn api_error(status: StatusCode, body: &str) -> ClientError {
    #[derive(serde::Deserialize)]
    struct Body {
        error: String,
    }
    let message = serde_json::from_str::<Body>(body)
        .map(|b| b.error)
        .unwrap_or_else(|_| body.trim().to_owned());
    ClientError::Api {
        status: status.as_u16(),
        message,
    }
}
