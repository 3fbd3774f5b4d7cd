//! event-service on its own port against real Postgres and Kafka: a fresh database and topic
//! prefix per test, admin writes proven as the gateway proves them, `event.created` read back
//! from the broker.

mod access;
mod events;
mod helpers;
mod listing;
mod ticketflow;
mod venues;
