//! Per-node metrics, served by `GET /metrics` as OpenMetrics or Prometheus
//! text, as the scraper's `Accept` asks (every metric is listed in
//! `docs/operations.md`).
//!
//! * `counters`: [`NodeMetrics`], the counters and histograms bumped on
//!   the hot path, and the build info.
//! * `scrape`: values read at scrape time from state the node keeps anyway
//!   (transport, links, peers, members, sessions).
//! * `process`: the process's CPU, memory, descriptors and start time,
//!   from `/proc`.
//! * `exposition`: choosing the format from `Accept`, and OpenMetrics
//!   rewritten as Prometheus text 0.0.4 (pure).
//! * `totals`: the same counts summed over their labels, with a
//!   fixed-bucket histogram of handler times, for the operations
//!   console's JSON snapshot.

mod counters;
mod exposition;
mod process;
mod scrape;
mod totals;

pub(crate) use counters::{NodeMetrics, Via};
pub(crate) use exposition::Exposition;
