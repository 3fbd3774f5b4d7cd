//! user-service (:3001): register, login and `me` for TicketFlow.
//!
//! Passwords are hashed with argon2 off the async workers; registration and its
//! `ticketflow.user.registered` message commit in one transaction (outbox). An admin account is
//! ensured at start from `ADMIN_EMAIL`/`ADMIN_PASSWORD` so the admin API has a caller.
//!
//! Modules: `configuration` (Settings from env), `domain` (validated name/email/password),
//! `routes` (HTTP), `startup` (Application).

pub mod configuration;
pub mod domain;
pub mod lockout;
pub mod password;
pub mod routes;
pub mod startup;

pub use configuration::Settings;
pub use startup::Application;
