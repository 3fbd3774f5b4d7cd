//! inventory-service on its own port against real Postgres, Redis and Kafka: a fresh database,
//! Redis key prefix and topic prefix per test, seat maps and saga commands published to its
//! topics, effects read from its seats, its Redis keys, its answers and its HTTP API.

mod helpers;
mod locks;
mod owners;
mod seats;
