//! gateway (:3000): the one door of a TicketFlow stack.
//!
//! ```text
//!   client ──> sign-in limit per address (429) ──> body limit (413) ──> JWT check (401) ──> strip client identity headers
//!          ──> add x-stampede-identity (signed with INTERNAL_SECRET) ──> upstream by path prefix
//!          <── upstream response, or 503 (unreachable) / 504 (timeout) in the error envelope
//! ```
//!
//! A request without a token goes through anonymously; each service decides whether its route
//! needs an identity. A request with a bad token is refused here.
//! Modules: `configuration`, `upstream` (routing table), `auth`, `auth_limit` (sign-in and
//! sign-up per client address), `routes` (proxy, health), `startup`.

pub mod auth;
pub mod auth_limit;
pub mod configuration;
pub mod routes;
pub mod startup;
pub mod upstream;

pub use configuration::Settings;
pub use startup::Application;
