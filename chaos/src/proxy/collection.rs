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
//! Toxic changes are sent to every live link of the toxic's direction while the toxic
//! collection is locked (so every link sees changes in the same order as the chain), and the
//! caller then waits for the links to apply them: when a call returns, the change is in effect
//! on every connection.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::link::{serve_connection, LinkCommand};
use super::toxics::{default_name, KindError, Stream, Toxic, ToxicInfo, ToxicKind};

/// How long a toxic change waits for live links to apply it before answering anyway.
const APPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long stopping a proxy waits for its connections to close.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// Where a proxy without a `listen` address listens (loopback only, port picked by the OS).
const DEFAULT_LISTEN: &str = "127.0.0.1:0";

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

fn check_toxicity(toxicity: f32) -> Result<f32, ApiError> {
    if (0.0..=1.0).contains(&toxicity) {
        Ok(toxicity)
    } else {
        Err(ApiError::BadRequestBody(format!(
            "toxicity must be between 0 and 1, got {toxicity}"
        )))
    }
}

// ---------------------------------------------------------------------------------------------
// Toxics of one proxy.

/// The toxic chains of one proxy and the live links they apply to.
#[derive(Default)]
pub(crate) struct ToxicCollection {
    inner: Mutex<ToxicsInner>,
}

#[derive(Default)]
struct ToxicsInner {
    /// Indexed by [`Stream::index`]; the hidden noop is not listed.
    chains: [Vec<Arc<Toxic>>; 2],
    links: HashMap<u64, (Stream, mpsc::UnboundedSender<LinkCommand>)>,
    next_link: u64,
}

/// What a new link needs: the chain as it is now and the commands that change it from now on.
pub(crate) struct OpenedLink {
    pub(crate) toxics: Vec<Arc<Toxic>>,
    pub(crate) commands: mpsc::UnboundedReceiver<LinkCommand>,
    _registration: LinkRegistration,
}

/// Removes a link from its collection when the link ends.
struct LinkRegistration {
    id: u64,
    collection: Arc<ToxicCollection>,
}

impl Drop for LinkRegistration {
    fn drop(&mut self) {
        self.collection.lock().links.remove(&self.id);
    }
}

/// Acknowledgements from the links a change was sent to.
#[must_use = "wait for the links to apply the change"]
struct Applied(Vec<oneshot::Receiver<()>>);

impl Applied {
    /// Waits until every link applied the change (each drops its acknowledgement when done).
    async fn wait(self) {
        let all = futures::future::join_all(self.0);
        if tokio::time::timeout(APPLY_TIMEOUT, all).await.is_err() {
            tracing::warn!(
                "some connections took more than {APPLY_TIMEOUT:?} to apply a toxic change"
            );
        }
    }
}

impl ToxicCollection {
    fn lock(&self) -> MutexGuard<'_, ToxicsInner> {
        // A panic while holding this lock leaves plain data behind; keep serving.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a link of `stream` and gives it the current chain.
    pub(crate) fn open_link(self: &Arc<Self>, stream: Stream) -> OpenedLink {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut inner = self.lock();
        let id = inner.next_link;
        inner.next_link += 1;
        inner.links.insert(id, (stream, tx));
        OpenedLink {
            toxics: inner.chains[stream.index()].clone(),
            commands: rx,
            _registration: LinkRegistration {
                id,
                collection: self.clone(),
            },
        }
    }

    fn list(&self) -> Vec<Arc<Toxic>> {
        let inner = self.lock();
        inner.chains.iter().flatten().cloned().collect()
    }

    fn get(&self, name: &str) -> Option<Arc<Toxic>> {
        self.lock()
            .chains
            .iter()
            .flatten()
            .find(|t| t.name == name)
            .cloned()
    }

    fn add(&self, toxic: Toxic) -> Result<(Arc<Toxic>, Applied), ApiError> {
        let mut inner = self.lock();
        if inner.chains.iter().flatten().any(|t| t.name == toxic.name) {
            return Err(ApiError::ToxicAlreadyExists);
        }
        let toxic = Arc::new(toxic);
        inner.chains[toxic.stream.index()].push(toxic.clone());
        let applied = inner.send(toxic.stream, |done| LinkCommand::Add {
            toxic: toxic.clone(),
            done,
        });
        Ok((toxic, applied))
    }

    fn update(&self, name: &str, patch: ToxicPatch) -> Result<(Arc<Toxic>, Applied), ApiError> {
        let mut inner = self.lock();
        let slot = inner
            .chains
            .iter_mut()
            .flatten()
            .find(|t| t.name == name)
            .ok_or(ApiError::ToxicNotFound)?;
        let mut updated = Toxic::clone(slot);
        if let Some(attributes) = &patch.attributes {
            updated.kind = updated.kind.patched(attributes).map_err(|e| match e {
                KindError::UnknownType => ApiError::InvalidToxicType,
                KindError::BadAttributes(msg) => ApiError::BadRequestBody(msg),
            })?;
        }
        if let Some(toxicity) = patch.toxicity {
            updated.toxicity = check_toxicity(toxicity)?;
        }
        let updated = Arc::new(updated);
        *slot = updated.clone();
        let applied = inner.send(updated.stream, |done| LinkCommand::Update {
            toxic: updated.clone(),
            done,
        });
        Ok((updated, applied))
    }

    fn remove(&self, name: &str) -> Result<Applied, ApiError> {
        let mut inner = self.lock();
        let stream = inner
            .chains
            .iter()
            .flatten()
            .find(|t| t.name == name)
            .map(|t| t.stream)
            .ok_or(ApiError::ToxicNotFound)?;
        inner.chains[stream.index()].retain(|t| t.name != name);
        Ok(inner.send(stream, |done| LinkCommand::Remove {
            name: name.to_owned(),
            done,
        }))
    }

    /// Removes every toxic (first to last, as toxiproxy).
    fn reset(&self) -> Applied {
        let mut inner = self.lock();
        let mut acks = Vec::new();
        for stream in Stream::ALL {
            let removed = std::mem::take(&mut inner.chains[stream.index()]);
            for toxic in removed {
                let name = toxic.name.clone();
                acks.extend(
                    inner
                        .send(stream, |done| LinkCommand::Remove {
                            name: name.clone(),
                            done,
                        })
                        .0,
                );
            }
        }
        Applied(acks)
    }
}

impl ToxicsInner {
    fn send(
        &mut self,
        stream: Stream,
        command: impl Fn(oneshot::Sender<()>) -> LinkCommand,
    ) -> Applied {
        let mut acks = Vec::new();
        for (link_stream, tx) in self.links.values() {
            if *link_stream == stream {
                let (done, ack) = oneshot::channel();
                if tx.send(command(done)).is_ok() {
                    acks.push(ack);
                }
            }
        }
        Applied(acks)
    }
}

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
