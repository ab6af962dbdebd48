//! The end-to-end load harness behind the `espoir-load` binary. The
//! criterion micro-benchmarks live in `benches/benches/`.
//!
//! # Layout
//!
//! * `latency`: latency histograms and the summary a run reports.
//! * `client`: one websocket client speaking obespoir's framing.
//! * `closed_loop`: C clients, each sending one request and waiting for its
//!   reply before the next, for a duration.
//! * `idle`: many idle connections that only heartbeat, for memory per
//!   connection at the proxy.
//! * `procs`: server processes: start, wait until they serve, CPU time and
//!   RSS read from `/proc`, stop with SIGTERM.
//! * `echo`: the bare tokio-tungstenite echo server, the physical limit of
//!   one websocket hop.
//! * `obespoir`: obespoir's own demo cluster, started from its PyPI package.
//! * `suite`: every scenario side by side in one run, the table with ratios
//!   and its section of `docs/benchmarks.md`.
//! * `scale`: the scaling mode: nodes as separate processes pinned to N
//!   cores, the generator pinned to the others, the bare echo side by side.
//! * `bets`: bets per second end to end on the betting app's cluster.
//! * `traces`: tracing's cost: a cluster with `traces` off, then on at
//!   each sampling ratio exporting to a local OTLP sink, then off again.
//! * `window`: the servers' CPU time and system calls over a measured window.
//! * `report`: markers in markdown files, the date, the machine, figures.
//! * `tls`: what TLS costs: ws:// and wss:// side by side in one run, per
//!   round trip and per idle connection.
//! * `topics`: topics under load: subscribers over two proxies, a share of
//!   them slow (conflated), the fast ones' latency and the memory.
//! * `rooms`: rooms on a service node at 20 Hz, four member clients each,
//!   side by side with bare tokio intervals doing the same pushes: CPU,
//!   tick lateness, push bytes.
//! * `swarm`: many websocket clients in a child process ([`swarm::run`]),
//!   for the broadcast bench and tests that need more sockets than one
//!   process may open.

pub mod bets;
mod client;
mod closed_loop;
mod echo;
mod idle;
mod latency;
mod obespoir;
mod procs;
pub mod report;
pub mod rooms;
pub mod scale;
mod soak;
mod suite;
pub mod swarm;
mod tls;
pub mod topics;
mod traces;
mod window;

pub use bets::{BetsOptions, BetsReport};

pub use client::{Client, ClientError, tls_trusting};
pub use closed_loop::{LoadReport, LoadSpec, run_closed_loop};
pub use echo::serve_echo;
pub use idle::{IdleReport, IdleSpec, loopback_sources, run_idle};
pub use latency::{Latencies, Summary};
pub use obespoir::Obespoir;
pub use procs::{ProcSample, ServerProcs, threads_named, wait_serving};
pub use soak::{SoakRow, SoakSpec, run_soak, summary as soak_summary};
pub use suite::{Suite, SuiteOptions, splice_section, write_section};
pub use tls::{TlsCost, TlsCostOptions, write_tls_section};
pub use traces::{OtlpSink, TracesOptions, TracesRow, run_traces, traces_markdown, write_traces_section};
pub use window::{Syscalls, WindowStats, measure_window, parse_perf_csv};
