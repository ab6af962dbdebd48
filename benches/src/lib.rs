//! Benchmarks support: the end-to-end load harness.
//!
//! * `swarm`: many websocket clients in a child process ([`swarm::run`]).

pub mod swarm;
