//! The booking saga end to end: all seven services in this process (each on port 0 with its own
//! databases, topic prefix and Redis prefix) against real Postgres, Redis and the Kafka broker.

mod compensation;
mod concurrency;
mod contract;
mod generated_input;
mod happy_path;
mod helpers;
mod idempotency;
mod long_poll;
mod openapi;
mod outage;
mod redelivery;
mod restart;
mod ticketflow_clients;
mod ticketflow_kafka;
