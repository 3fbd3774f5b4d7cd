//! Seat locking strategies measured against real Redis and Postgres (`benches/locking.rs`), with
//! `locking-limits.sh` running redis-benchmark and pgbench beside them; and the Kafka-protocol
//! broker measured from outside by `broker-bench` ([`broker`]).
//!
//! ```text
//!   Rig::connect            own Redis key prefix + own Postgres database (inventory-service's migrations)
//!     Rig::event            one event, n AVAILABLE seats
//!     Rig::lock / release   one strategy, k seats:
//!                             lua             SeatLocks(Lua)     lock script, release script
//!                             setnx           SeatLocks(SetNx)   k x SET NX PX (+ rollback), release script
//!                             pg_update       seats::lock_guarded in a transaction (the service's guard alone)
//!                             pg_skip_locked  SELECT .. FOR UPDATE SKIP LOCKED, then UPDATE (the seed's)
//!                             full            the inventory path: Redis lua lock + Postgres guard, one transaction
//!     contention::run       n lockers on a hot-spot pool: attempts, acquisitions, conflicts
//!   Rig::cleanup            delete the keys, drop the database
//! ```
//!
//! - [`rig`]: connections and isolation (unique key prefix, unique database dropped at the end).
//! - [`strategy`]: the five strategies, each `lock` + `release`.
//! - [`contention`]: the hot-spot distribution and the concurrent lockers.
//! - [`broker`]: `broker-bench`'s produce -> consume latency and idle-consumer measurements.
//!
//! It measures the services' own code (inventory's lock strategies) beside its peers, so it
//! imports services; no service may import it (`chaos/tests/dependencies.rs`).

pub mod broker;
pub mod contention;
pub mod rig;
pub mod strategy;

pub use contention::{Contention, HotSpot, Tally};
pub use rig::{Event, Rig};
pub use strategy::{Attempt, Strategy};
