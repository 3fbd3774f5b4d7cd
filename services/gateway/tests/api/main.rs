//! Tests of the synchronous API through the gateway, against real user-service and event-service
//! instances (real Postgres and Kafka, a fresh database and topic prefix per test).

mod auth;
mod auth_limit;
mod events;
mod helpers;
mod paths;
mod start;
mod upstreams;
mod users;
