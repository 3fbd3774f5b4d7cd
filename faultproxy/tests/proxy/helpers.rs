//! Shared fixtures: an API server on port 0, an echo server on port 0, proxies in front of
//! them, unique names, and a time bound for every test.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Once;
use std::time::{Duration, Instant};

use faultproxy::ToxiproxyClient;
use faultproxy::{ProxyConfig, ProxyServer, ServerHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Redis of the local stack.
pub const REDIS: &str = "127.0.0.1:6379";

/// Tracing once, silent unless `TEST_LOG` is set.
pub fn init_tracing() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(
                    std::env::var("RUST_LOG").unwrap_or_else(|_| "faultproxy=debug".into()),
                ))
                .with_test_writer()
                .init();
        }
    });
}

/// Fails the test if `fut` takes longer than `limit`.
pub async fn bounded<T>(limit: Duration, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, fut)
        .await
        .unwrap_or_else(|_| panic!("test exceeded {limit:?}"))
}

/// A proxy server of its own and a client for it.
pub struct TestApp {
    pub server: ServerHandle,
    pub client: ToxiproxyClient,
    pub http: reqwest::Client,
}

impl TestApp {
    pub async fn spawn() -> Self {
        init_tracing();
        let server = ProxyServer::start("127.0.0.1:0")
            .await
            .expect("bind the API on port 0");
        let client = ToxiproxyClient::new(server.url());
        Self {
            server,
            client,
            http: reqwest::Client::new(),
        }
    }

    /// Creates a proxy on 127.0.0.1:0 to `upstream`; returns its real address.
    pub async fn proxy(&self, name: &str, upstream: impl ToString) -> SocketAddr {
        let info = self
            .client
            .create_proxy(&ProxyConfig::new(name, "127.0.0.1:0", upstream.to_string()))
            .await
            .expect("create proxy");
        info.listen_addr().expect("listen is a socket address")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    /// A raw request; returns status and JSON body (Null when empty).
    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&str>,
    ) -> (u16, serde_json::Value) {
        let mut request = self.http.request(method, self.url(path));
        if let Some(body) = body {
            request = request.body(body.to_owned());
        }
        let response = request.send().await.expect("API answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let json = if text.trim().is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
        };
        (status, json)
    }
}

/// An echo server on port 0: every connection gets back what it sends; it half-closes when the
/// client does.
pub async fn spawn_echo() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind echo");
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let (mut r, mut w) = socket.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
                let _ = w.shutdown().await;
            });
        }
    });
    addr
}

/// A unique name for proxies, keys, topics.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// Sends `msg` and reads the same number of bytes back; returns the round-trip time.
pub async fn round_trip(stream: &mut TcpStream, msg: &[u8]) -> Duration {
    let start = Instant::now();
    stream.write_all(msg).await.expect("write");
    let mut back = vec![0; msg.len()];
    stream.read_exact(&mut back).await.expect("read back");
    assert_eq!(back, msg);
    start.elapsed()
}

/// Reads until EOF or error; returns the bytes and how it ended.
pub async fn read_to_end(stream: &mut TcpStream) -> (Vec<u8>, std::io::Result<()>) {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) => return (out, Ok(())),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => return (out, Err(e)),
        }
    }
}

/// A free port on 127.0.0.1 (bound and released; good enough for a child process to bind).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A free loopback port below the kernel's ephemeral range (`ip_local_port_range`), which
/// `bind(127.0.0.1:0)` never returns: no test binding port 0 can take it.
pub fn free_port_below_ephemeral_range() -> u16 {
    let low: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768);
    // Start somewhere different in each process, so parallel test binaries rarely probe alike.
    let span = low.saturating_sub(20_000).max(1);
    let start = 20_000 + (std::process::id() % u32::from(span)) as u16;
    (start..low)
        .chain(20_000..start)
        .find(|port| std::net::TcpListener::bind(("127.0.0.1", *port)).is_ok())
        .expect("a free port below the ephemeral range")
}

/// The sorted keys of a JSON object.
pub fn keys(value: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

/// Asserts `actual` is in `[expected - below, expected + above]`, logging the figures.
pub fn assert_within(
    what: &str,
    actual: Duration,
    expected: Duration,
    below: Duration,
    above: Duration,
) {
    println!("{what}: expected {expected:?}, actual {actual:?}");
    assert!(
        actual + below >= expected && actual <= expected + above,
        "{what}: expected {expected:?} (-{below:?}/+{above:?}), got {actual:?}"
    );
}
