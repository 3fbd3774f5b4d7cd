//! The seeded admin account's published defaults: user-service creates (and on every start
//! updates) the admin from `ADMIN_EMAIL` / `ADMIN_PASSWORD`, falling back to these; the stack
//! runner, the chaos runner and the tests log in with them. One definition: loadgen, which must
//! not depend on the services, repeats them as its flag defaults, and a chaos test holds the two
//! equal.

/// `ADMIN_EMAIL`'s default.
pub const ADMIN_EMAIL: &str = "admin@ticketflow.dev";
/// `ADMIN_PASSWORD`'s default. Published: set your own outside a development machine.
pub const ADMIN_PASSWORD: &str = "Admin1234!";
