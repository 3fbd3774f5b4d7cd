//! Toxics: the faults a link applies to one direction of a proxied connection, and the stub each
//! one runs in.
//!
//! A toxic is a serde struct of knobs (its `attributes`) with one async `pipe(&self, stub)`. The
//! [`ToxicKind`] enum is the type registry: its serde tag is the toxiproxy `type` and its content
//! the toxiproxy `attributes`. [`Toxic`] wraps a kind with what every toxic has: a name, the
//! stream it acts on and its toxicity (the chance that it applies to a given connection; a
//! connection that misses runs a noop in its place).
//!
//! Each link (one direction of one connection) runs a chain of stubs joined by channels, one
//! stub per toxic, with a hidden noop first:
//!
//! ```text
//!            +------------------- one stub per toxic ---------------------+
//!  socket -> | reader -> [noop] -> [latency] -> [bandwidth] -> ... -> writer | -> socket
//!            +------------------------------------------------------------+
//!                          ^ interrupt: stop the pipe, hand the stub back so it can be rewired
//! ```
//!
//! A stub's pipe selects between an interrupt and the next chunk, and closes its output at the
//! end of its input. Nothing a stub holds is ever dropped by an interrupt: chunks it was
//! delaying or forwarding go to its `pending` queue and are flushed first when it runs again
//! (or handed to its predecessor when the toxic is removed).

mod bandwidth;
mod latency;
mod limit_data;
mod noop;
mod reset_peer;
mod slicer;
mod slow_close;
mod timeout;

use std::any::Any;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::mpsc;
use tokio::time::Instant;

pub use bandwidth::Bandwidth;
pub use latency::Latency;
pub use limit_data::LimitData;
pub(crate) use noop::Noop;
pub use reset_peer::ResetPeer;
pub use slicer::Slicer;
pub use slow_close::SlowClose;
pub use timeout::Timeout;

/// The direction of a link, as toxiproxy names it.
///
/// `upstream` is client -> server (requests), `downstream` is server -> client (responses);
/// toxics default to downstream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    /// Client -> server.
    Upstream,
    /// Server -> client.
    #[default]
    Downstream,
}

impl Stream {
    /// Both directions, in toxiproxy's order (upstream toxics are listed first).
    pub const ALL: [Stream; 2] = [Stream::Upstream, Stream::Downstream];

    /// The name used on the wire: `upstream` or `downstream`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Upstream => "upstream",
            Stream::Downstream => "downstream",
        }
    }

    /// Parses the wire name; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "upstream" => Some(Stream::Upstream),
            "downstream" => Some(Stream::Downstream),
            _ => None,
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Stream::Upstream => 0,
            Stream::Downstream => 1,
        }
    }
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The registry of toxic types: tag = toxiproxy `type`, content = toxiproxy `attributes`.
///
/// Attributes are unsigned: a negative value is a bad request (toxiproxy takes it and then
/// misbehaves). Missing attributes default to 0, unknown ones are ignored, as in toxiproxy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "attributes", rename_all = "snake_case")]
pub enum ToxicKind {
    /// Delay every chunk by `latency` ± `jitter` ms.
    Latency(Latency),
    /// Cap the rate at `rate` KB/s.
    Bandwidth(Bandwidth),
    /// Delay the close by `delay` ms.
    SlowClose(SlowClose),
    /// Swallow data; close after `timeout` ms (0: never, until removed).
    Timeout(Timeout),
    /// Reset the connection (TCP RST) `timeout` ms after the first data.
    ResetPeer(ResetPeer),
    /// Cut data into pieces of `average_size` ± `size_variation` bytes, `delay` µs apart.
    Slicer(Slicer),
    /// Close the connection once `bytes` bytes went through.
    LimitData(LimitData),
}

/// Why `ToxicKind::parse` refused a type and its attributes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KindError {
    /// The `type` is not one of [`ToxicKind::TYPES`].
    #[error("invalid toxic type")]
    UnknownType,
    /// The attributes do not fit the type (wrong type, negative, out of range).
    #[error("{0}")]
    BadAttributes(String),
}

impl ToxicKind {
    /// Every toxic type this proxy knows, by its toxiproxy name.
    pub const TYPES: [&'static str; 7] = [
        "latency",
        "bandwidth",
        "slow_close",
        "timeout",
        "reset_peer",
        "slicer",
        "limit_data",
    ];

    /// The toxiproxy `type` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            ToxicKind::Latency(_) => "latency",
            ToxicKind::Bandwidth(_) => "bandwidth",
            ToxicKind::SlowClose(_) => "slow_close",
            ToxicKind::Timeout(_) => "timeout",
            ToxicKind::ResetPeer(_) => "reset_peer",
            ToxicKind::Slicer(_) => "slicer",
            ToxicKind::LimitData(_) => "limit_data",
        }
    }

    /// Builds a kind from a toxiproxy `type` and `attributes` object (absent = all defaults).
    ///
    /// # Errors
    /// [`KindError::UnknownType`] for a type not in [`Self::TYPES`], [`KindError::BadAttributes`]
    /// when the attributes do not deserialize or fail the type's checks.
    pub fn parse(type_name: &str, attributes: Option<Value>) -> Result<Self, KindError> {
        if !Self::TYPES.contains(&type_name) {
            return Err(KindError::UnknownType);
        }
        let attributes = match attributes {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(v) => v,
        };
        let tagged = serde_json::json!({ "type": type_name, "attributes": attributes });
        let kind: ToxicKind =
            serde_json::from_value(tagged).map_err(|e| KindError::BadAttributes(e.to_string()))?;
        kind.validate().map_err(KindError::BadAttributes)?;
        Ok(kind)
    }

    /// The attributes as a JSON object, the shape toxiproxy shows.
    pub fn attributes(&self) -> Map<String, Value> {
        let value = match self {
            ToxicKind::Latency(t) => serde_json::to_value(t),
            ToxicKind::Bandwidth(t) => serde_json::to_value(t),
            ToxicKind::SlowClose(t) => serde_json::to_value(t),
            ToxicKind::Timeout(t) => serde_json::to_value(t),
            ToxicKind::ResetPeer(t) => serde_json::to_value(t),
            ToxicKind::Slicer(t) => serde_json::to_value(t),
            ToxicKind::LimitData(t) => serde_json::to_value(t),
        };
        match value {
            Ok(Value::Object(map)) => map,
            // Unreachable: every attribute struct is a plain struct of integers.
            _ => Map::new(),
        }
    }

    /// This kind with some attributes replaced (a toxiproxy toxic update: keys not given keep
    /// their value).
    ///
    /// # Errors
    /// [`KindError::BadAttributes`] when the merged attributes do not fit the type.
    pub fn patched(&self, patch: &Map<String, Value>) -> Result<Self, KindError> {
        let mut attributes = self.attributes();
        for (k, v) in patch {
            attributes.insert(k.clone(), v.clone());
        }
        Self::parse(self.type_name(), Some(Value::Object(attributes)))
    }

    fn validate(&self) -> Result<(), String> {
        match self {
            ToxicKind::Latency(t) => t.validate(),
            ToxicKind::Bandwidth(t) => t.validate(),
            ToxicKind::SlowClose(t) => t.validate(),
            ToxicKind::Timeout(t) => t.validate(),
            ToxicKind::ResetPeer(t) => t.validate(),
            ToxicKind::Slicer(t) => t.validate(),
            ToxicKind::LimitData(t) => t.validate(),
        }
    }

    /// Runs this toxic's pipe on a stub until it is interrupted or closes.
    pub(crate) async fn pipe(&self, stub: &mut ToxicStub) -> PipeEnd {
        let piped = match self {
            ToxicKind::Latency(t) => t.pipe(stub).await,
            ToxicKind::Bandwidth(t) => t.pipe(stub).await,
            ToxicKind::SlowClose(t) => t.pipe(stub).await,
            ToxicKind::Timeout(t) => t.pipe(stub).await,
            ToxicKind::ResetPeer(t) => t.pipe(stub).await,
            ToxicKind::Slicer(t) => t.pipe(stub).await,
            ToxicKind::LimitData(t) => t.pipe(stub).await,
        };
        match piped {
            Err(end) => end,
        }
    }

    /// Capacity of the channel that feeds this toxic's stub.
    pub(crate) fn buffer_size(&self) -> usize {
        let size = match self {
            ToxicKind::Latency(t) => t.buffer_size(),
            ToxicKind::Bandwidth(t) => t.buffer_size(),
            ToxicKind::SlowClose(t) => t.buffer_size(),
            ToxicKind::Timeout(t) => t.buffer_size(),
            ToxicKind::ResetPeer(t) => t.buffer_size(),
            ToxicKind::Slicer(t) => t.buffer_size(),
            ToxicKind::LimitData(t) => t.buffer_size(),
        };
        size.max(1)
    }

    /// Fresh per-connection state for a new stub of this toxic.
    pub(crate) fn new_state(&self) -> Option<ToxicState> {
        match self {
            ToxicKind::Latency(t) => t.new_state(),
            ToxicKind::Bandwidth(t) => t.new_state(),
            ToxicKind::SlowClose(t) => t.new_state(),
            ToxicKind::Timeout(t) => t.new_state(),
            ToxicKind::ResetPeer(t) => t.new_state(),
            ToxicKind::Slicer(t) => t.new_state(),
            ToxicKind::LimitData(t) => t.new_state(),
        }
    }

    /// What removing this toxic does to a link it was running on.
    pub(crate) fn cleanup(&self) -> Cleanup {
        match self {
            ToxicKind::Latency(t) => t.cleanup(),
            ToxicKind::Bandwidth(t) => t.cleanup(),
            ToxicKind::SlowClose(t) => t.cleanup(),
            ToxicKind::Timeout(t) => t.cleanup(),
            ToxicKind::ResetPeer(t) => t.cleanup(),
            ToxicKind::Slicer(t) => t.cleanup(),
            ToxicKind::LimitData(t) => t.cleanup(),
        }
    }
}

macro_rules! kind_from {
    ($($t:ident),*) => {$(
        impl From<$t> for ToxicKind {
            fn from(t: $t) -> Self {
                ToxicKind::$t(t)
            }
        }
    )*};
}
kind_from!(Latency, Bandwidth, SlowClose, Timeout, ResetPeer, Slicer, LimitData);

/// A toxic as toxiproxy shows it: a kind plus name, stream and toxicity.
///
/// Serializes to the body of `POST /proxies/{proxy}/toxics`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Toxic {
    /// Unique within a proxy; defaults to `<type>_<stream>`.
    pub name: String,
    /// Type and attributes (`type` and `attributes` on the wire).
    #[serde(flatten)]
    pub kind: ToxicKind,
    /// Which direction of each connection it acts on.
    pub stream: Stream,
    /// Chance in [0, 1] that a connection gets this toxic (else a noop runs in its place).
    pub toxicity: f32,
}

impl Toxic {
    /// A downstream toxic with toxicity 1 and toxiproxy's default name `<type>_downstream`.
    pub fn new(kind: impl Into<ToxicKind>) -> Self {
        let kind = kind.into();
        Self {
            name: default_name(kind.type_name(), Stream::Downstream),
            kind,
            stream: Stream::Downstream,
            toxicity: 1.0,
        }
    }

    /// Acts on `stream` instead; a default name follows the stream.
    #[must_use]
    pub fn on(mut self, stream: Stream) -> Self {
        if self.name == default_name(self.kind.type_name(), self.stream) {
            self.name = default_name(self.kind.type_name(), stream);
        }
        self.stream = stream;
        self
    }

    /// Acts on client -> server data.
    #[must_use]
    pub fn upstream(self) -> Self {
        self.on(Stream::Upstream)
    }

    /// Acts on server -> client data (the default).
    #[must_use]
    pub fn downstream(self) -> Self {
        self.on(Stream::Downstream)
    }

    /// Names the toxic (needed for two toxics of the same type on the same stream).
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Sets the per-connection chance of applying.
    #[must_use]
    pub fn with_toxicity(mut self, toxicity: f32) -> Self {
        self.toxicity = toxicity;
        self
    }

    /// The toxiproxy JSON view of this toxic.
    pub fn info(&self) -> ToxicInfo {
        ToxicInfo {
            attributes: self.kind.attributes(),
            name: self.name.clone(),
            kind: self.kind.type_name().to_owned(),
            stream: self.stream,
            toxicity: self.toxicity,
        }
    }
}

/// toxiproxy's default toxic name.
pub fn default_name(type_name: &str, stream: Stream) -> String {
    format!("{type_name}_{stream}")
}

/// A toxic as any toxiproxy v2 server reports it (`GET .../toxics/{name}`).
///
/// Loose on purpose: a real toxiproxy may report types this crate does not implement;
/// [`ToxicInfo::kind`] parses the known ones.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToxicInfo {
    /// Type-specific knobs.
    pub attributes: Map<String, Value>,
    /// Unique within the proxy.
    pub name: String,
    /// toxiproxy type name.
    #[serde(rename = "type")]
    pub kind: String,
    /// Direction.
    pub stream: Stream,
    /// Per-connection chance.
    pub toxicity: f32,
}

impl ToxicInfo {
    /// The typed kind, when it is one this crate implements.
    ///
    /// # Errors
    /// As [`ToxicKind::parse`].
    pub fn kind(&self) -> Result<ToxicKind, KindError> {
        ToxicKind::parse(&self.kind, Some(Value::Object(self.attributes.clone())))
    }
}

// ---------------------------------------------------------------------------------------------
// The stub a toxic runs in.

/// Bytes read from a socket at one instant.
#[derive(Debug)]
pub(crate) struct StreamChunk {
    pub(crate) data: Bytes,
    /// When the reader got it; latency counts from here, so a chain does not add up delays.
    pub(crate) timestamp: Instant,
}

/// Why a pipe stopped running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PipeEnd {
    /// The link asked to take the stub back (to rewire or update it); nothing was lost.
    Interrupted,
    /// The stub is done: its output is closed once the stub is dropped.
    Closed,
}

/// What a pipe returns: it only ever stops, with the reason (`Ok` cannot happen), so `?`
/// threads an interrupt or a close out of any step.
pub(crate) type Piped = Result<Infallible, PipeEnd>;

/// One step of a pipe: a value, or the reason to stop.
pub(crate) type Flow<T = ()> = Result<T, PipeEnd>;

/// Per-connection state of a stateful toxic (kept across interrupts and updates).
pub(crate) type ToxicState = Box<dyn Any + Send>;

/// What removing a toxic does to a live link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cleanup {
    /// Splice the stub out, forwarding what it held.
    Forward,
    /// Close the connection (toxiproxy's timeout toxic: the data it swallowed is gone, so the
    /// stream cannot go on).
    Close(CloseKind),
}

/// How a connection ends when a toxic closes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum CloseKind {
    /// End of input passed through: half-close the other side.
    Eof = 0,
    /// The toxic ended the connection: close both sides (FIN).
    Abort = 1,
    /// The toxic reset the connection: RST both sides (`SO_LINGER` 0).
    Reset = 2,
}

/// How the toxics of a connection asked it to end; the strongest request wins.
#[derive(Debug, Default)]
pub(crate) struct CloseSignal(AtomicU8);

impl CloseSignal {
    pub(crate) fn raise(&self, kind: CloseKind) {
        self.0.fetch_max(kind as u8, Ordering::AcqRel);
    }

    pub(crate) fn get(&self) -> CloseKind {
        match self.0.load(Ordering::Acquire) {
            0 => CloseKind::Eof,
            1 => CloseKind::Abort,
            _ => CloseKind::Reset,
        }
    }
}

/// The per-link, per-toxic place a pipe runs: input and output channels, an interrupt, chunks
/// held across interrupts, per-connection state, and the toxicity roll.
pub(crate) struct ToxicStub {
    input: mpsc::Receiver<StreamChunk>,
    output: mpsc::Sender<StreamChunk>,
    interrupt: mpsc::Receiver<()>,
    pending: VecDeque<StreamChunk>,
    /// Per-connection state of a stateful toxic.
    pub(crate) state: Option<ToxicState>,
    /// Whether the toxicity roll chose the toxic (else a noop runs).
    pub(crate) enabled: bool,
    close: Arc<CloseSignal>,
}

impl ToxicStub {
    pub(crate) fn new(
        input: mpsc::Receiver<StreamChunk>,
        output: mpsc::Sender<StreamChunk>,
        close: Arc<CloseSignal>,
    ) -> Self {
        let (_, interrupt) = mpsc::channel(1);
        Self {
            input,
            output,
            interrupt,
            pending: VecDeque::new(),
            state: None,
            enabled: true,
            close,
        }
    }

    /// Installs a fresh interrupt channel and returns its sender (one per run).
    pub(crate) fn arm_interrupt(&mut self) -> mpsc::Sender<()> {
        let (tx, rx) = mpsc::channel(1);
        self.interrupt = rx;
        tx
    }

    /// Replaces the output, returning the old one (used when rewiring the chain).
    pub(crate) fn replace_output(
        &mut self,
        output: mpsc::Sender<StreamChunk>,
    ) -> mpsc::Sender<StreamChunk> {
        std::mem::replace(&mut self.output, output)
    }

    /// Takes everything this stub holds, in stream order: its pending chunks, then whatever is
    /// still queued on its input. Used when the stub is spliced out.
    pub(crate) fn take_buffered(&mut self) -> VecDeque<StreamChunk> {
        let mut chunks = std::mem::take(&mut self.pending);
        while let Ok(chunk) = self.input.try_recv() {
            chunks.push_back(chunk);
        }
        chunks
    }

    /// Puts chunks in front of whatever this stub still has to send.
    pub(crate) fn prepend_pending(&mut self, mut chunks: VecDeque<StreamChunk>) {
        chunks.append(&mut self.pending);
        self.pending = chunks;
    }

    /// Consumes the stub, keeping only its output.
    pub(crate) fn into_output(self) -> mpsc::Sender<StreamChunk> {
        self.output
    }

    /// The next chunk, `None` at the end of input, or the interrupt.
    pub(crate) async fn next(&mut self) -> Flow<Option<StreamChunk>> {
        tokio::select! {
            biased;
            signal = self.interrupt.recv() => Err(interrupted(signal)),
            chunk = self.input.recv() => Ok(chunk),
        }
    }

    /// Sends a chunk on. On an interrupt the chunk is kept (sent first on the next run).
    pub(crate) async fn forward(&mut self, chunk: StreamChunk) -> Flow {
        tokio::select! {
            biased;
            signal = self.interrupt.recv() => {
                self.pending.push_front(chunk);
                Err(interrupted(signal))
            }
            permit = self.output.reserve() => match permit {
                Ok(permit) => {
                    permit.send(chunk);
                    Ok(())
                }
                // Nobody reads our output any more: the link is going away.
                Err(_) => Err(PipeEnd::Closed),
            },
        }
    }

    /// Waits until `deadline`, or the interrupt.
    pub(crate) async fn sleep_until(&mut self, deadline: Instant) -> Flow {
        tokio::select! {
            biased;
            signal = self.interrupt.recv() => Err(interrupted(signal)),
            () = tokio::time::sleep_until(deadline) => Ok(()),
        }
    }

    /// Holds `chunk` until `deadline`; on an interrupt the chunk is kept as pending.
    pub(crate) async fn hold_until(
        &mut self,
        chunk: StreamChunk,
        deadline: Instant,
    ) -> Flow<StreamChunk> {
        match self.sleep_until(deadline).await {
            Ok(()) => Ok(chunk),
            Err(end) => {
                self.pending.push_front(chunk);
                Err(end)
            }
        }
    }

    /// Queues a chunk behind what is already pending (the rest of a chunk whose head an
    /// interrupt caught).
    pub(crate) fn keep(&mut self, chunk: StreamChunk) {
        self.pending.push_back(chunk);
    }

    /// Ends the connection in the given way; returns the end to propagate.
    pub(crate) fn close(&self, kind: CloseKind) -> PipeEnd {
        self.close.raise(kind);
        PipeEnd::Closed
    }

    /// Sends what an earlier run left pending, before the pipe reads anything new.
    async fn flush_pending(&mut self) -> Flow {
        while let Some(chunk) = self.pending.pop_front() {
            self.forward(chunk).await?;
        }
        Ok(())
    }
}

/// An interrupt that arrived, or the link that could send one gone (then the stub is done).
fn interrupted(signal: Option<()>) -> PipeEnd {
    match signal {
        Some(()) => PipeEnd::Interrupted,
        None => PipeEnd::Closed,
    }
}

/// Runs a toxic (or a noop: the chain head, or a connection the toxicity roll spared) on a stub
/// until it is interrupted (the stub comes back to be rewired) or closes (`None`: the stub is
/// dropped, closing its output).
pub(crate) async fn run_stub(mut stub: ToxicStub, toxic: Option<Arc<Toxic>>) -> Option<ToxicStub> {
    let end = match stub.flush_pending().await {
        Err(end) => end,
        Ok(()) => match toxic {
            Some(toxic) if stub.enabled => toxic.kind.pipe(&mut stub).await,
            _ => match Noop.pipe(&mut stub).await {
                Err(end) => end,
            },
        },
    };
    match end {
        PipeEnd::Interrupted => Some(stub),
        PipeEnd::Closed => None,
    }
}

/// Rolls the toxicity dice for one connection (toxiproxy: `rand.Float32() < toxicity`).
pub(crate) fn roll(toxicity: f32) -> bool {
    rand::random::<f32>() < toxicity
}

/// `at + after`, saturating far in the future instead of overflowing.
pub(crate) fn deadline(at: Instant, after: std::time::Duration) -> Instant {
    at.checked_add(after)
        .unwrap_or_else(|| at + std::time::Duration::from_secs(86_400 * 365 * 30))
}

/// The interface every toxic implements; defaults cover the common case.
pub(crate) trait Pipe {
    /// Moves chunks from the stub's input to its output, applying the fault, until interrupted
    /// or closed. Must select on the interrupt wherever it waits (the stub helpers do).
    async fn pipe(&self, stub: &mut ToxicStub) -> Piped;

    /// Capacity of the channel feeding this toxic (toxiproxy's buffered toxics).
    fn buffer_size(&self) -> usize {
        1
    }

    /// Per-connection state, created once per stub.
    fn new_state(&self) -> Option<ToxicState> {
        None
    }

    /// What removing the toxic from a live link does.
    fn cleanup(&self) -> Cleanup {
        Cleanup::Forward
    }

    /// Checks attributes beyond their types.
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    mod hostile {
        use proptest::prelude::*;

        use super::*;

        proptest::proptest! {
            /// Whatever a client sends as a toxic's type and attributes, parsing answers a toxic or
            /// an error; never a panic.
            #[test]
            fn any_type_and_attributes(
                type_at in 0usize..20,
                junk_type in "\\PC{0,12}",
                keys in proptest::collection::vec(
                    proptest::prop_oneof![
                        proptest::strategy::Just("latency".to_string()),
                        proptest::strategy::Just("jitter".to_string()),
                        proptest::strategy::Just("rate".to_string()),
                        proptest::strategy::Just("delay".to_string()),
                        proptest::strategy::Just("timeout".to_string()),
                        proptest::strategy::Just("bytes".to_string()),
                        proptest::strategy::Just("average_size".to_string()),
                        proptest::strategy::Just("size_variation".to_string()),
                        "[a-z_]{1,10}",
                    ],
                    0..4,
                ),
                values in proptest::collection::vec(
                    proptest::prop_oneof![
                        proptest::num::i64::ANY.prop_map(serde_json::Value::from),
                        proptest::num::u64::ANY.prop_map(serde_json::Value::from),
                        proptest::num::f64::ANY.prop_map(serde_json::Value::from),
                        "\\PC{0,8}".prop_map(serde_json::Value::from),
                        proptest::strategy::Just(serde_json::Value::Null),
                    ],
                    4,
                ),
            ) {
                let name = ToxicKind::TYPES.get(type_at).copied().unwrap_or(junk_type.as_str());
                let attributes: serde_json::Map<String, serde_json::Value> =
                    keys.into_iter().zip(values).collect();
                let _ = ToxicKind::parse(name, Some(serde_json::Value::Object(attributes)));
            }
        }
    }

    #[test]
    fn every_registered_type_parses_with_default_attributes() {
        for t in ToxicKind::TYPES {
            let parsed = ToxicKind::parse(t, None);
            // slicer needs a non-zero average_size
            if t == "slicer" {
                assert!(parsed.is_err());
                let kind =
                    ToxicKind::parse(t, Some(serde_json::json!({"average_size": 10}))).unwrap();
                assert_eq!(kind.type_name(), t);
            } else {
                assert_eq!(parsed.unwrap().type_name(), t);
            }
        }
    }

    #[test]
    fn parse_rejects_unknown_type_and_negative_attributes() {
        assert_eq!(ToxicKind::parse("nope", None), Err(KindError::UnknownType));
        let err =
            ToxicKind::parse("latency", Some(serde_json::json!({"latency": -5}))).unwrap_err();
        assert!(matches!(err, KindError::BadAttributes(_)), "{err:?}");
    }

    #[test]
    fn attributes_have_toxiproxy_keys() {
        let cases: [(ToxicKind, &[&str]); 7] = [
            (Latency::default().into(), &["jitter", "latency"]),
            (Bandwidth::default().into(), &["rate"]),
            (SlowClose::default().into(), &["delay"]),
            (Timeout::default().into(), &["timeout"]),
            (ResetPeer::default().into(), &["timeout"]),
            (
                Slicer {
                    average_size: 1,
                    ..Slicer::default()
                }
                .into(),
                &["average_size", "delay", "size_variation"],
            ),
            (LimitData::default().into(), &["bytes"]),
        ];
        for (kind, keys) in cases {
            let mut got: Vec<_> = kind.attributes().keys().cloned().collect();
            got.sort();
            assert_eq!(got, keys.to_vec(), "{}", kind.type_name());
        }
    }

    #[test]
    fn patch_keeps_unmentioned_attributes() {
        let kind: ToxicKind = Latency {
            latency: 100,
            jitter: 10,
        }
        .into();
        let patch = serde_json::json!({"latency": 1000});
        let patched = kind.patched(patch.as_object().unwrap()).unwrap();
        assert_eq!(
            patched,
            Latency {
                latency: 1000,
                jitter: 10
            }
            .into()
        );
    }

    #[test]
    fn default_name_follows_stream() {
        let t = Toxic::new(Latency::default()).upstream();
        assert_eq!(t.name, "latency_upstream");
        let t = Toxic::new(Latency::default()).named("slow").upstream();
        assert_eq!(t.name, "slow");
    }

    #[test]
    fn toxic_serializes_like_toxiproxy() {
        let t = Toxic::new(Latency {
            latency: 5,
            jitter: 1,
        });
        let v = serde_json::to_value(&t).unwrap();
        let mut keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["attributes", "name", "stream", "toxicity", "type"]);
        assert_eq!(v["type"], "latency");
        assert_eq!(v["stream"], "downstream");
        assert_eq!(v["attributes"]["latency"], 5);
    }

    #[test]
    fn close_signal_keeps_the_strongest() {
        let s = CloseSignal::default();
        assert_eq!(s.get(), CloseKind::Eof);
        s.raise(CloseKind::Reset);
        s.raise(CloseKind::Abort);
        assert_eq!(s.get(), CloseKind::Reset);
    }
}
