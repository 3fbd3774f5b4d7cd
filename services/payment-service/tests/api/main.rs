//! payment-service against real Postgres and Kafka: a fresh database and topic prefix per test,
//! messages published to its topics, effects read from its table, its topics and its HTTP API.

mod charges;
mod dead_letters;
mod helpers;
mod payments;
mod refunds;
