//! The fault proxy over real TCP on 127.0.0.1: the API against toxiproxy's shapes (through our
//! client, raw HTTP, and the third-party `toxiproxy_rust` client), each toxic through an echo
//! server, Redis and Kafka through the proxy, bad input, and the command line.
//!
//! Every test starts its own API server and upstreams on port 0 and uses unique names, so tests
//! run in parallel; each is bounded in time. Timing assertions log the measured figures.

mod api;
mod cli;
mod helpers;
mod kafka;
mod redis;
mod third_party_client;
mod toxics;
