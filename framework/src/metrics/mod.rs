//! Per-node metrics, served by `GET /metrics` in Prometheus text format
//! (every metric is listed in `docs/operations.md`).
//!
//! * `counters`: [`NodeMetrics`], the counters bumped on the hot path.
//! * `scrape`: values read at scrape time from state the node keeps anyway
//!   (transport, links, peers, members, sessions).

mod counters;
mod scrape;

pub(crate) use counters::{NodeMetrics, Via};
