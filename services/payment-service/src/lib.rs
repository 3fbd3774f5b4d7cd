//! payment-service (:3005): the payment processor stand-in of the booking saga.
//!
//! It answers `ticketflow.payment.requested` with `ticketflow.payment.processed` after a
//! configurable latency, succeeding with a configurable probability, and charges each booking at
//! most once however often the request is delivered. When a booking fails or is cancelled it
//! refunds a captured payment, or voids the booking's payment so that a late request charges
//! nothing. Users read their payments over HTTP.
//!
//! Modules: `configuration` (Settings from env), `domain` (success rate, payment status, the
//! payment row), `processor` (the simulated processor), `consumers` (the saga handlers),
//! `routes` (HTTP), `startup` (Application).

pub mod configuration;
pub mod consumers;
pub mod domain;
pub mod processor;
pub mod routes;
pub mod startup;

pub use configuration::Settings;
pub use startup::Application;
