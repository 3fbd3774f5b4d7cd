//! `faultproxy`: a TCP proxy that injects faults (toxics) and speaks toxiproxy's v2 HTTP API, and
//! an async client for that API.
//!
//! ```text
//!   HTTP API (api) ─▶ ProxyCollection (collection) ─▶ per proxy: listener + ToxicCollection
//!                                                      └─ per client: two links (link), each
//!                                                         pass-through or a chain of toxics
//!   client   ToxiproxyClient: drives this server or a real toxiproxy alike
//!   serve    the server as a process: `faultproxy` and `chaos proxy`
//! ```
//!
//! Modules depend downwards only: api → collection → link → toxic_collection → model → toxics.
//!
//! What it must never import: the services (`kit`, `stack`, any `*-service`), the harness
//! (`chaos`, `loadgen`, `checker`, `reports`). It is usable on its own, like toxiproxy; the
//! workspace's dependency test (`chaos/tests/dependencies.rs`) enforces this.

mod api;
pub mod client;
mod collection;
mod link;
mod model;
pub mod serve;
mod toxic_collection;
mod toxics;

pub use api::{router, ProxyServer, ServerHandle, VERSION};
pub use client::{ClientError, ToxiproxyClient};
pub use collection::ProxyCollection;
pub use model::{ApiError, ProxyConfig, ProxyInfo, ProxyUpdate, ToxicPatch, ToxicRequest};
pub use toxics::{
    default_name, Bandwidth, KindError, Latency, LimitData, ResetPeer, Slicer, SlowClose, Stream,
    Timeout, Toxic, ToxicInfo, ToxicKind,
};
