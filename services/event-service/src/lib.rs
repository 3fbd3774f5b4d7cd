//! event-service (:3002): events and venues for TicketFlow.
//!
//! Reads are public; writes need the admin role (proven by the gateway, see `kit::identity`).
//! Creating an event commits the row and its `ticketflow.event.created` message, which carries
//! the full seat layout (`kit::seat_layout`), in one transaction; inventory-service builds
//! the seats from it. Updating an event commits the row and its `ticketflow.event.updated`
//! (name, sale status, `updatedAt`) the same way; booking-service books only events `ON_SALE`.

pub mod configuration;
pub mod domain;
pub mod routes;
pub mod startup;

pub use configuration::Settings;
pub use startup::Application;
