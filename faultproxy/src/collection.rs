//! The proxy collection: every proxy by name, each with its listener and its toxics. It owns the
//! invariants (unique proxy names, unique toxic names per proxy, toxiproxy's defaults and
//! checks) and is what the HTTP API and in-process callers (the scenario runner) both drive.
//!
//! ```text
//!   ProxyCollection ── name ─▶ Proxy { listen, upstream, enabled }
//!                                 ├─ accept task ─▶ one connection task per client (link.rs)
//!                                 └─ ToxicCollection { upstream chain, downstream chain,
//!                                                      live links ◀── LinkCommand }
//! ```
//!
//! A toxic change returns once every live link applied it (toxic_collection.rs), so when a call
//! returns the change is in effect on every connection.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::link::serve_connection;
use crate::model::{check_toxicity, ApiError, ProxyConfig, ProxyInfo, ProxyUpdate, ToxicPatch};
use crate::toxic_collection::ToxicCollection;
use crate::toxics::{Toxic, ToxicInfo};
/// How long stopping a proxy waits for its connections to close.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// Where a proxy without a `listen` address listens (loopback only, port picked by the OS).
const DEFAULT_LISTEN: &str = "127.0.0.1:0";
// ---------------------------------------------------------------------------------------------
// Proxies.

/// One proxy: its addresses, its toxics, and while enabled its listener.
struct Proxy {
    name: String,
    listen: String,
    upstream: String,
    running: Option<Running>,
    toxics: Arc<ToxicCollection>,
}

/// A listening proxy: the accept task and the connections it spawned.
struct Running {
    cancel: CancellationToken,
    accept: JoinHandle<()>,
    connections: TaskTracker,
}

impl Proxy {
    fn new(config: &ProxyConfig) -> Self {
        Self {
            name: config.name.clone(),
            listen: config.listen.clone(),
            upstream: config.upstream.clone(),
            running: None,
            toxics: Arc::default(),
        }
    }

    fn enabled(&self) -> bool {
        self.running.is_some()
    }

    fn info(&self) -> ProxyInfo {
        ProxyInfo {
            name: self.name.clone(),
            listen: self.listen.clone(),
            upstream: self.upstream.clone(),
            enabled: self.enabled(),
            toxics: self.toxics.list().iter().map(|t| t.info()).collect(),
        }
    }

    /// Binds the listen address (the real port replaces port 0) and starts accepting.
    fn start(&mut self, root: &CancellationToken) -> Result<(), ApiError> {
        if self.running.is_some() {
            return Ok(());
        }
        let address = if self.listen.is_empty() {
            DEFAULT_LISTEN.to_owned()
        } else {
            self.listen.clone()
        };
        let listen_error = |source| ApiError::Listen {
            address: address.clone(),
            source,
        };
        let std_listener = std::net::TcpListener::bind(address.as_str()).map_err(listen_error)?;
        std_listener.set_nonblocking(true).map_err(listen_error)?;
        let listener = tokio::net::TcpListener::from_std(std_listener).map_err(listen_error)?;
        self.listen = listener.local_addr().map_err(listen_error)?.to_string();

        let cancel = root.child_token();
        let connections = TaskTracker::new();
        let accept = tokio::spawn(accept_loop(
            listener,
            self.name.clone(),
            self.upstream.clone(),
            self.toxics.clone(),
            cancel.clone(),
            connections.clone(),
        ));
        tracing::info!(proxy = %self.name, listen = %self.listen, upstream = %self.upstream, "started proxy");
        self.running = Some(Running {
            cancel,
            accept,
            connections,
        });
        Ok(())
    }

    /// Stops listening (new connections are refused once this returns) and closes every
    /// connection.
    async fn stop(&mut self) {
        let Some(running) = self.running.take() else {
            return;
        };
        running.cancel.cancel();
        let _ = running.accept.await;
        running.connections.close();
        if tokio::time::timeout(STOP_TIMEOUT, running.connections.wait())
            .await
            .is_err()
        {
            tracing::warn!(proxy = %self.name, "connections still closing after {STOP_TIMEOUT:?}");
        }
        tracing::info!(proxy = %self.name, listen = %self.listen, "terminated proxy");
    }

    /// Whether `config` asks for something else than this proxy (populate replaces it then).
    fn differs(&self, config: &ProxyConfig) -> bool {
        if self.upstream != config.upstream {
            return true;
        }
        if self.listen == config.listen {
            return false;
        }
        // "127.0.0.1:0" differs from the port it got; "localhost:8000" matches 127.0.0.1:8000.
        match (self.listen.parse::<SocketAddr>(), resolve(&config.listen)) {
            (Ok(ours), Some(theirs)) => theirs.port() == 0 || ours != theirs,
            _ => true,
        }
    }
}

fn resolve(address: &str) -> Option<SocketAddr> {
    use std::net::ToSocketAddrs;
    address.to_socket_addrs().ok()?.next()
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    name: String,
    upstream: String,
    toxics: Arc<ToxicCollection>,
    cancel: CancellationToken,
    connections: TaskTracker,
) {
    loop {
        let accepted = tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((client, peer)) => {
                tracing::debug!(proxy = %name, %peer, "accepted client");
                connections.spawn(serve_connection(
                    client,
                    upstream.clone(),
                    toxics.clone(),
                    cancel.child_token(),
                ));
            }
            Err(error) => {
                // Out of file descriptors and the like: do not spin.
                tracing::warn!(proxy = %name, %error, "error while accepting client");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Every proxy, by name. Cheap to clone (a handle); dropping the last handle does not stop
/// the proxies: call [`ProxyCollection::shutdown`] (the server handle does).
#[derive(Clone, Default)]
pub struct ProxyCollection {
    proxies: Arc<tokio::sync::Mutex<BTreeMap<String, Proxy>>>,
    root: CancellationToken,
}

impl ProxyCollection {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every proxy with its toxics (`GET /proxies`).
    pub async fn list(&self) -> BTreeMap<String, ProxyInfo> {
        let proxies = self.proxies.lock().await;
        proxies
            .iter()
            .map(|(name, p)| (name.clone(), p.info()))
            .collect()
    }

    /// Creates a proxy, started unless `enabled` is false (`POST /proxies`).
    ///
    /// # Errors
    /// Missing name or upstream (400), a taken name (409), a listen address that cannot be
    /// bound (500).
    pub async fn create(&self, config: ProxyConfig) -> Result<ProxyInfo, ApiError> {
        check_config(&config, None)?;
        let mut proxies = self.proxies.lock().await;
        if proxies.contains_key(&config.name) {
            return Err(ApiError::ProxyAlreadyExists);
        }
        let mut proxy = Proxy::new(&config);
        if config.enabled.unwrap_or(true) {
            proxy.start(&self.root)?;
        }
        let info = proxy.info();
        proxies.insert(config.name.clone(), proxy);
        Ok(info)
    }

    /// Creates or replaces proxies (`POST /populate`): the request is checked whole first; a
    /// proxy whose listen and upstream match the existing one is left untouched, one that
    /// differs is replaced (stopped, and started anew without toxics).
    ///
    /// # Errors
    /// The first failure, with the proxies created before it.
    pub async fn populate(
        &self,
        configs: Vec<ProxyConfig>,
    ) -> Result<Vec<ProxyInfo>, (ApiError, Vec<ProxyInfo>)> {
        let mut seen = std::collections::HashSet::new();
        for (i, config) in configs.iter().enumerate() {
            check_config(config, Some(i + 1)).map_err(|e| (e, Vec::new()))?;
            if !seen.insert(config.name.as_str()) {
                return Err((
                    ApiError::DuplicateProxyName(config.name.clone()),
                    Vec::new(),
                ));
            }
        }
        let mut proxies = self.proxies.lock().await;
        let mut done = Vec::with_capacity(configs.len());
        for config in configs {
            if let Some(existing) = proxies.get_mut(&config.name) {
                if !existing.differs(&config) {
                    done.push(existing.info());
                    continue;
                }
                existing.stop().await;
                proxies.remove(&config.name);
            }
            let mut proxy = Proxy::new(&config);
            if config.enabled.unwrap_or(true) {
                if let Err(e) = proxy.start(&self.root) {
                    return Err((e, done));
                }
            }
            done.push(proxy.info());
            proxies.insert(config.name.clone(), proxy);
        }
        Ok(done)
    }

    /// One proxy (`GET /proxies/{name}`).
    ///
    /// # Errors
    /// [`ApiError::ProxyNotFound`].
    pub async fn get(&self, name: &str) -> Result<ProxyInfo, ApiError> {
        let proxies = self.proxies.lock().await;
        proxies
            .get(name)
            .map(Proxy::info)
            .ok_or(ApiError::ProxyNotFound)
    }

    /// Changes a proxy (`POST /proxies/{name}`): a new listen or upstream restarts it; enabled
    /// false takes it down (existing connections closed, new ones refused), true brings it back
    /// on the same address.
    ///
    /// # Errors
    /// Unknown proxy (404), or the address cannot be bound (500; the proxy stays down).
    pub async fn update(&self, name: &str, update: ProxyUpdate) -> Result<ProxyInfo, ApiError> {
        let mut proxies = self.proxies.lock().await;
        let proxy = proxies.get_mut(name).ok_or(ApiError::ProxyNotFound)?;
        let enabled = update.enabled.unwrap_or(proxy.enabled());
        let listen = update.listen.unwrap_or_else(|| proxy.listen.clone());
        let upstream = update.upstream.unwrap_or_else(|| proxy.upstream.clone());
        if listen != proxy.listen || upstream != proxy.upstream {
            proxy.stop().await;
            proxy.listen = listen;
            proxy.upstream = upstream;
        }
        if enabled && !proxy.enabled() {
            proxy.start(&self.root)?;
        } else if !enabled && proxy.enabled() {
            proxy.stop().await;
        }
        Ok(proxy.info())
    }

    /// Takes a proxy down for good (`DELETE /proxies/{name}`).
    ///
    /// # Errors
    /// [`ApiError::ProxyNotFound`].
    pub async fn remove(&self, name: &str) -> Result<(), ApiError> {
        let mut proxies = self.proxies.lock().await;
        let mut proxy = proxies.remove(name).ok_or(ApiError::ProxyNotFound)?;
        proxy.stop().await;
        Ok(())
    }

    /// A proxy's toxics, upstream first (`GET /proxies/{name}/toxics`).
    ///
    /// # Errors
    /// [`ApiError::ProxyNotFound`].
    pub async fn toxics(&self, proxy: &str) -> Result<Vec<ToxicInfo>, ApiError> {
        let toxics = self.toxic_collection(proxy).await?;
        Ok(toxics.list().iter().map(|t| t.info()).collect())
    }

    /// Adds a toxic; it is active on every live connection when this returns
    /// (`POST /proxies/{name}/toxics`).
    ///
    /// # Errors
    /// Unknown proxy (404), a taken toxic name (409).
    pub async fn add_toxic(&self, proxy: &str, toxic: Toxic) -> Result<ToxicInfo, ApiError> {
        check_toxicity(toxic.toxicity)?;
        let toxics = self.toxic_collection(proxy).await?;
        let (toxic, applied) = toxics.add(toxic)?;
        applied.wait().await;
        Ok(toxic.info())
    }

    /// One toxic (`GET /proxies/{name}/toxics/{toxic}`).
    ///
    /// # Errors
    /// Unknown proxy or toxic (404).
    pub async fn toxic(&self, proxy: &str, name: &str) -> Result<ToxicInfo, ApiError> {
        let toxics = self.toxic_collection(proxy).await?;
        toxics
            .get(name)
            .map(|t| t.info())
            .ok_or(ApiError::ToxicNotFound)
    }

    /// Changes a toxic's attributes or toxicity on every connection
    /// (`POST /proxies/{name}/toxics/{toxic}`).
    ///
    /// # Errors
    /// Unknown proxy or toxic (404), attributes that do not fit (400).
    pub async fn update_toxic(
        &self,
        proxy: &str,
        name: &str,
        patch: ToxicPatch,
    ) -> Result<ToxicInfo, ApiError> {
        let toxics = self.toxic_collection(proxy).await?;
        let (toxic, applied) = toxics.update(name, patch)?;
        applied.wait().await;
        Ok(toxic.info())
    }

    /// Removes a toxic from every connection, forwarding what it held
    /// (`DELETE /proxies/{name}/toxics/{toxic}`).
    ///
    /// # Errors
    /// Unknown proxy or toxic (404).
    pub async fn remove_toxic(&self, proxy: &str, name: &str) -> Result<(), ApiError> {
        let toxics = self.toxic_collection(proxy).await?;
        toxics.remove(name)?.wait().await;
        Ok(())
    }

    /// Enables every proxy and removes every toxic (`POST /reset`).
    ///
    /// # Errors
    /// A proxy that cannot listen again (500).
    pub async fn reset(&self) -> Result<(), ApiError> {
        let mut proxies = self.proxies.lock().await;
        let mut pending = Vec::new();
        for proxy in proxies.values_mut() {
            proxy.start(&self.root)?;
            pending.push(proxy.toxics.reset());
        }
        drop(proxies);
        for applied in pending {
            applied.wait().await;
        }
        Ok(())
    }

    /// Stops every proxy and forgets them.
    pub async fn shutdown(&self) {
        let mut proxies = self.proxies.lock().await;
        for proxy in proxies.values_mut() {
            proxy.stop().await;
        }
        proxies.clear();
    }

    /// Stops everything without waiting (for `Drop` of a server handle).
    pub(crate) fn cancel_all(&self) {
        self.root.cancel();
    }

    async fn toxic_collection(&self, proxy: &str) -> Result<Arc<ToxicCollection>, ApiError> {
        let proxies = self.proxies.lock().await;
        proxies
            .get(proxy)
            .map(|p| p.toxics.clone())
            .ok_or(ApiError::ProxyNotFound)
    }
}

/// toxiproxy's required fields; `at` numbers the proxy in a populate request.
fn check_config(config: &ProxyConfig, at: Option<usize>) -> Result<(), ApiError> {
    let field = |name: &str| match at {
        Some(i) => format!("{name} at proxy {i}"),
        None => name.to_owned(),
    };
    if config.name.is_empty() {
        return Err(ApiError::MissingField(field("name")));
    }
    if config.upstream.is_empty() {
        return Err(ApiError::MissingField(field("upstream")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn missing_fields_name_the_field_and_position() {
        let e = check_config(&ProxyConfig::new("", "", "x:1"), Some(2)).unwrap_err();
        assert_eq!(e.to_string(), "missing required field: name at proxy 2");
        let e = check_config(&ProxyConfig::new("a", "", ""), None).unwrap_err();
        assert_eq!(e.to_string(), "missing required field: upstream");
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn toxic_names_are_unique_per_proxy() {
        let toxics = ToxicCollection::default();
        let t = Toxic::new(super::super::toxics::Latency {
            latency: 1,
            jitter: 0,
        });
        let (_, applied) = toxics.add(t.clone()).unwrap();
        applied.wait().await;
        assert!(matches!(
            toxics.add(t.upstream().named("latency_downstream")),
            Err(ApiError::ToxicAlreadyExists)
        ));
        assert!(matches!(
            toxics.remove("nope"),
            Err(ApiError::ToxicNotFound)
        ));
        toxics.remove("latency_downstream").unwrap().wait().await;
        assert!(toxics.list().is_empty());
    }
}
