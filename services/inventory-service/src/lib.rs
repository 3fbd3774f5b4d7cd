//! inventory-service (:3004): seats per event and the seat locks of the booking saga.
//!
//! ```text
//!   event.created      -> seat map inserted in bulk (one statement, ids = seat_id(event, section, number))
//!   booking.initiated  -> Redis lock (strategy: lua | setnx | unsafe, owner = bookingId, TTL)
//!                         -> Postgres guard: UPDATE .. WHERE status = 'AVAILABLE' (all or nothing)
//!                         -> seats.locked | seats.lock-failed            (one transaction with the inbox + outbox)
//!   seats.confirm      -> RESERVED, only for the owning booking
//!   seats.release      -> AVAILABLE, only for the owning booking
//!   sweeper            -> LOCKED past locked_until -> AVAILABLE; retries Redis deletes that failed
//! ```
//!
//! Redis is a fast filter; Postgres is the guard. When Redis is unreachable the lock falls back to
//! the Postgres guard alone (counted in `inventory_redis_fallbacks_total`), so a Redis fault can
//! slow the saga but never sell a seat twice or leave one stuck. Only the `unsafe` strategy,
//! which exists to prove the checker catches double-booking, drops both guards.

pub mod configuration;
mod consumers;
pub mod locks;
pub mod race;
pub mod routes;
pub mod seats;
pub mod startup;
mod sweeper;

pub use configuration::Settings;
pub use startup::Application;
