//! booking-service on its own port against real Postgres and Kafka: a fresh database and topic
//! prefix per test, its seat catalog fed by a real `event.created`, requests proven as the
//! gateway proves them, the saga's replies published to its topics, effects read from its table
//! and the topics it writes through its outbox.

mod access;
mod bookings;
mod helpers;
mod idempotency;
mod saga;
