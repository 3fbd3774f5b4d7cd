//! notification-service against real Postgres and Kafka (a fresh database and topic prefix per
//! test) and, for mail, a tiny SMTP listener in the test process.

mod bookings;
mod helpers;
mod mail;
mod recent;
mod users;
