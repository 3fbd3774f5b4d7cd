//! user-service on its own port against real Postgres and Kafka: a fresh database and topic
//! prefix per test, requests straight to the service (identity proven as the gateway proves it),
//! effects read from its table, its topic and the tokens it issues.

mod accounts;
mod helpers;
mod login;
mod me;
mod register;
