//! `kit`: the one place for what every Stampede reference service shares.
//!
//! A service is a library with `Application::build(Settings)`; it composes these pieces:
//!
//! ```text
//!   app         Infra::connect + App::bind/worker/run_until_stopped: a service's life cycle
//!   config      typed settings from env vars, errors that name the variable, secrets that never print
//!   error       ApiError -> {"error":{"code","message"}} with a fitting status
//!   json        ApiJson<T>: axum's Json whose rejections use the same envelope
//!   db          Postgres pool, database creation for tests/stack, embedded migrations
//!   kafka       topic names, message envelope, producer/consumer/admin on rdkafka
//!   inbox       dedupe by eventId inside the consumer's transaction
//!   bug_variants  deliberately broken behaviours, only in builds made for `chaos selftest`
//!   consumer    per-partition workers, bounded retries with backoff, then <topic>.DLT
//!   consumer_watch  assignment, lag and progress per consumer group: /health, /metrics, rejoin
//!   outbox      state change + message in one transaction; a relay publishes (no dual writes)
//!   identity    the gateway's proof of a verified user, checked by every service
//!   token       the user-facing JWT (issued by user-service, verified by the gateway)
//!   health      /health with dependency checks
//!   metrics     /metrics in Prometheus text, per-route request counters and latency
//!   server      serve a router with the shared layers and graceful shutdown
//!   telemetry   tracing subscriber (RUST_LOG wins)
//!   messages    the domain payloads carried on the saga's topics
//! ```

pub mod app;
pub mod broker;
pub mod bug_variants;
pub mod config;
pub mod consumer;
pub mod consumer_watch;
pub mod db;
pub mod dead_letters;
pub mod error;
pub mod health;
pub mod identity;
pub mod inbox;
pub mod json;
pub mod kafka;
pub mod messages;
pub mod metrics;
pub mod openapi;
pub mod outbox;
pub mod query;
pub mod seat_layout;
pub mod seed;
pub mod server;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod token;

pub use error::ApiError;
pub use identity::Identity;
pub use json::ApiJson;
