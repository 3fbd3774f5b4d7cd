//! `chaos`: Stampede's fault injection.
//!
//! ```text
//!   proxy    a TCP fault proxy speaking toxiproxy's v2 HTTP API: proxies, toxics (latency,
//!            bandwidth, slow_close, timeout, reset_peer, slicer, limit_data), down/up, reset;
//!            in-process via ProxyServer::start, or `chaos proxy`
//!   client   an async client for that API, for our proxy or a real toxiproxy alike
//! ```
//!
//! The scenario runner, nemesis and checker will sit beside these.

pub mod client;
pub mod proxy;

pub use client::{ClientError, ToxiproxyClient};
pub use proxy::{ProxyServer, ServerHandle};
