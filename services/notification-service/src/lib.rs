//! notification-service (:3006): tells users what happened, exactly once per thing.
//!
//! It keeps a directory of users from `ticketflow.user.registered` (to address mail) and records
//! one notification per user for the welcome, and one per booking and kind for
//! `booking.confirmed` (CONFIRMED), `booking.failed` (FAILED, or EXPIRED for reason `EXPIRED`)
//! and `booking.cancelled` (CANCELLED). With `SMTP_URL` set each new notification is also mailed.
//! Users read their recent notifications over HTTP.
//!
//! Modules: `configuration` (Settings from env), `domain` (kinds, statuses, texts), `mailer`
//! (SMTP through lettre), `consumers` (the saga handlers), `routes` (HTTP), `startup`
//! (Application).

pub mod configuration;
pub mod consumers;
pub mod domain;
pub mod mailer;
pub mod routes;
pub mod startup;

pub use configuration::Settings;
pub use startup::Application;
