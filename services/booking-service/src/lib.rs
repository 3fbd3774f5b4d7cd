//! booking-service (:3003): owns the booking saga.
//!
//! ```text
//!   event.created       the event (ON_SALE) and its seat prices -> the catalog
//!   event.updated       name and sale status, when newer than what the catalog has
//!   POST /api/bookings  event not ON_SALE -> 409 EVENT_NOT_ON_SALE, nothing written
//!   POST /api/bookings ──tx──> PENDING/AWAITING_SEATS + outbox booking.initiated ──> 202
//!   seats.locked        PENDING/AWAITING_SEATS   -> AWAITING_PAYMENT + payment.requested
//!                       terminal                 -> seats.release (the lock came too late)
//!   seats.lock-failed   PENDING                  -> FAILED(LOCK_FAILED) + booking.failed
//!   payment.processed   SUCCESS, PENDING         -> CONFIRMED + booking.confirmed + seats.confirm
//!                       FAILED,  PENDING         -> FAILED(PAYMENT_FAILED) + booking.failed + seats.release
//!                       SUCCESS, FAILED/EXPIRED/CANCELLED -> the closing message again (payment refunds)
//!   expiry worker       PENDING past expires_at  -> EXPIRED + booking.failed(EXPIRED) + seats.release
//!   POST /:id/cancel    PENDING|CONFIRMED        -> CANCELLED + booking.cancelled + seats.release
//! ```
//!
//! Every transition is one transaction: `SELECT .. FOR UPDATE`, a guard on the current status,
//! the update, the inbox row, the outbox rows. A terminal booking never changes again.

pub mod configuration;
mod expiry;
pub mod routes;
mod saga;
pub mod startup;
pub mod state;
pub mod watchers;

pub use configuration::Settings;
pub use startup::Application;
