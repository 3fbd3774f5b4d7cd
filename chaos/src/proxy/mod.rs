//! The fault proxy: a TCP proxy that injects faults (toxics) and speaks toxiproxy's v2 HTTP API.
//!
//! ```text
//!   HTTP API (api) ─▶ ProxyCollection (collection) ─▶ per proxy: listener + ToxicCollection
//!                                                      └─ per client: two links (link), each
//!                                                         pass-through or a chain of toxics
//! ```

mod api;
mod collection;
mod link;
mod toxics;

pub use api::{router, ProxyServer, ServerHandle, VERSION};
pub use collection::{
    ApiError, ProxyCollection, ProxyConfig, ProxyInfo, ProxyUpdate, ToxicPatch, ToxicRequest,
};
pub use toxics::{
    default_name, Bandwidth, KindError, Latency, LimitData, ResetPeer, Slicer, SlowClose, Stream,
    Timeout, Toxic, ToxicInfo, ToxicKind,
};
