//! Per-node metrics, exported by `GET /metrics` in Prometheus text format.
//!
//! Each node owns its own [`Registry`]: there is no process-global one, so
//! several nodes in one process (tests, `espoir up`) report separately.
//! Counters bumped on the hot path live here; values that already exist
//! elsewhere (transport counters, link states, sessions) are read at scrape
//! time by the collector in `scrape.rs`. `docs/operations.md` lists
//! every metric.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::{RwLock, Weak};
use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use super::exposition::{Exposition, to_prometheus_text};
use super::process::ProcessCollector;
use super::scrape::ScrapeCollector;
use super::totals::{Totals, TotalsSnapshot};
use crate::node::NodeState;
use crate::status::Status;

/// Distinct command ids that get their own label; later ones are counted
/// under `command="other"`. Bounds the series a misbehaving client can
/// create by sending random ids.
pub(crate) const MAX_COMMAND_LABELS: usize = 256;

/// A command id as a label value, or `other` past [`MAX_COMMAND_LABELS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct CommandLabel(Option<i32>);

impl EncodeLabelValue for CommandLabel {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        match self.0 {
            Some(id) => write!(encoder, "{id}"),
            None => encoder.write_str("other"),
        }
    }
}

/// Which side a message crossed: a client websocket or an RPC link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Via {
    /// A client's websocket (proxies).
    Client,
    /// A node-to-node link.
    Rpc,
}

impl EncodeLabelValue for Via {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        encoder.write_str(match self {
            Via::Client => "client",
            Via::Rpc => "rpc",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct MessageLabels {
    command: CommandLabel,
    via: Via,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CommandLabels {
    command: CommandLabel,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct LimitLabels {
    limit: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct JobLabels {
    job: String,
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

/// The compiler that built espoir, as `build.rs` found it.
const RUSTC_VERSION: &str = match option_env!("ESPOIR_RUSTC_VERSION") {
    Some(version) => version,
    None => "unknown",
};

/// Round trips: 50 µs (a loopback hop) to ~6.5 s.
fn round_trip_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_05, 2.0, 18))
}

fn handler_histogram() -> Histogram {
    // 0.5 ms to ~16 s: covers a cache hit up past the default 10 s deadline.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// The metrics of one node.
#[derive(Debug)]
pub(crate) struct NodeMetrics {
    registry: Registry,
    /// Command ids that have a label of their own.
    labelled: RwLock<HashSet<i32, foldhash::fast::RandomState>>,
    received: Family<MessageLabels, Counter>,
    sent: Family<MessageLabels, Counter>,
    handler_seconds: Family<CommandLabels, Histogram, fn() -> Histogram>,
    errors: Family<KindLabels, Counter>,
    clients_accepted: Counter,
    clients_refused: Counter,
    admin_auth_failures: Counter,
    reloads: Family<ResultLabels, Counter>,
    limits_hit: Family<LimitLabels, Counter>,
    client_request_seconds: Histogram,
    /// The process's metrics, under their standard unprefixed names.
    process: Registry,
    /// The same counts summed over their labels, for the console.
    totals: Totals,
    job_ticks: Family<JobLabels, Counter>,
}

impl NodeMetrics {
    /// `node` is read back at scrape time (weakly: no cycle).
    /// `rpc_calls`: the endpoint's call round trips, registered as they are.
    pub(crate) fn new(node: Weak<NodeState>, rpc_calls: Histogram) -> NodeMetrics {
        let mut registry = Registry::with_prefix("espoir");
        let client_request_seconds = round_trip_histogram();
        registry.register(
            "build",
            "Version of espoir and of the compiler that built it",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION")), ("rustc", RUSTC_VERSION)]),
        );
        registry.register(
            "client_request_duration_seconds",
            "Client requests on this proxy from the frame's arrival to its reply written (requests with no reply are not observed)",
            client_request_seconds.clone(),
        );
        registry.register(
            "rpc_call_duration_seconds",
            "Calls from this node to another (forwarded client requests, ctx.call, session operations) from send to answer; calls with no answer are not observed (see rpc_call_timeouts)",
            rpc_calls,
        );
        let received = Family::<MessageLabels, Counter>::default();
        let sent = Family::<MessageLabels, Counter>::default();
        let handler_seconds =
            Family::<CommandLabels, Histogram, fn() -> Histogram>::new_with_constructor(handler_histogram);
        let errors = Family::<KindLabels, Counter>::default();
        let reloads = Family::<ResultLabels, Counter>::default();
        let limits_hit = Family::<LimitLabels, Counter>::default();
        let (clients_accepted, clients_refused, admin_auth_failures) =
            (Counter::default(), Counter::default(), Counter::default());
        registry.register(
            "messages_received",
            "Messages received for handling or forwarding, by command id and side (client websocket or rpc link)",
            received.clone(),
        );
        registry.register(
            "messages_sent",
            "Messages sent, by command id and side (client websocket or rpc link)",
            sent.clone(),
        );
        registry.register(
            "handler_duration_seconds",
            "Time local handlers took, by command id",
            handler_seconds.clone(),
        );
        registry.register(
            "request_errors",
            "Requests that ended in an error status, by kind (status name)",
            errors.clone(),
        );
        registry.register("client_connections", "Client websocket sessions opened", clients_accepted.clone());
        registry.register(
            "client_connections_refused",
            "Client connections accepted and closed at once: websocket.max_connections were open, or the proxy began draining while they waited in the accept backlog (later ones meet a closed listener and are refused by the OS, uncounted)",
            clients_refused.clone(),
        );
        registry.register(
            "admin_auth_failures",
            "Admin HTTP requests refused for a missing or wrong bearer token",
            admin_auth_failures.clone(),
        );
        registry.register(
            "config_reloads",
            "Config reloads, by result (applied, unchanged, invalid, unavailable)",
            reloads.clone(),
        );
        registry.register(
            "limits_hit",
            "Times a limit acted, by limit (connections_per_ip, message_rate, message_flood, bytes_rate, max_frame, write_timeout, handshake_timeout, idle_timeout, handlers_max_inflight, handlers_per_command)",
            limits_hit.clone(),
        );
        let job_ticks = Family::<JobLabels, Counter>::default();
        registry.register(
            "job_ticks",
            "Ticks of recurring jobs on this node, by job and outcome (ran, failed, elsewhere, unclaimed, missed)",
            job_ticks.clone(),
        );
        registry.register_collector(Box::new(ScrapeCollector::new(node)));
        let mut process = Registry::default();
        process.register_collector(Box::new(ProcessCollector));
        NodeMetrics {
            registry,
            labelled: RwLock::default(),
            received,
            sent,
            handler_seconds,
            errors,
            clients_accepted,
            clients_refused,
            admin_auth_failures,
            reloads,
            limits_hit,
            client_request_seconds,
            process,
            totals: Totals::default(),
            job_ticks,
        }
    }

    fn command(&self, id: i32) -> CommandLabel {
        if self.labelled.read().unwrap_or_else(|p| p.into_inner()).contains(&id) {
            return CommandLabel(Some(id));
        }
        let mut labelled = self.labelled.write().unwrap_or_else(|p| p.into_inner());
        if labelled.len() < MAX_COMMAND_LABELS || labelled.contains(&id) {
            labelled.insert(id);
            CommandLabel(Some(id))
        } else {
            CommandLabel(None)
        }
    }

    /// A message came in.
    pub(crate) fn received(&self, via: Via, command: i32) {
        self.received.get_or_create(&MessageLabels { command: self.command(command), via }).inc();
        self.totals.received(via == Via::Client);
    }

    /// A message went out.
    pub(crate) fn sent(&self, via: Via, command: i32) {
        self.sent.get_or_create(&MessageLabels { command: self.command(command), via }).inc();
        self.totals.sent(via == Via::Client);
    }

    /// A local handler finished after `elapsed`.
    pub(crate) fn handled<T>(&self, command: i32, elapsed: Duration, result: &Result<T, Status>) {
        self.handler_seconds
            .get_or_create(&CommandLabels { command: self.command(command) })
            .observe(elapsed.as_secs_f64());
        self.totals.handled(elapsed);
        if let Err(status) = result {
            self.error(status);
        }
    }

    /// A request failed with `status`.
    pub(crate) fn error(&self, status: &Status) {
        self.errors.get_or_create(&KindLabels { kind: status.code().name() }).inc();
        self.totals.error();
    }

    pub(crate) fn client_accepted(&self) {
        self.clients_accepted.inc();
    }

    pub(crate) fn client_refused(&self) {
        self.clients_refused.inc();
    }

    /// `n` clients refused at once (a draining proxy's backlog).
    pub(crate) fn clients_refused(&self, n: u64) {
        self.clients_refused.inc_by(n);
    }

    pub(crate) fn admin_auth_failure(&self) {
        self.admin_auth_failures.inc();
    }

    /// A limit acted (see `docs/config.md`, "Limits").
    pub(crate) fn limit_hit(&self, limit: &'static str) {
        self.limits_hit.get_or_create(&LimitLabels { limit }).inc();
    }

    /// A client request was answered `elapsed` after its frame arrived.
    pub(crate) fn client_request(&self, elapsed: Duration) {
        self.client_request_seconds.observe(elapsed.as_secs_f64());
    }

    /// `n` ticks of `job` ended as `outcome` (see `jobs/status.rs`). Job
    /// names come from the node's own code and config, so they are few.
    pub(crate) fn job_ticks(&self, job: &str, outcome: &'static str, n: u64) {
        self.job_ticks.get_or_create(&JobLabels { job: job.to_owned(), outcome }).inc_by(n);
    }

    /// A reload ended with `result`.
    pub(crate) fn reload(&self, result: &'static str) {
        self.reloads.get_or_create(&ResultLabels { result }).inc();
    }

    /// The running totals, for the console's snapshot.
    pub(crate) fn totals(&self) -> TotalsSnapshot {
        self.totals.snapshot()
    }

    /// Everything, in OpenMetrics text.
    pub(crate) fn encode(&self) -> String {
        self.encode_as(Exposition::OpenMetrics)
    }

    /// Everything, in `format`.
    pub(crate) fn encode_as(&self, format: Exposition) -> String {
        use prometheus_client::encoding::text::{encode_eof, encode_registry};
        let mut out = String::new();
        // Writing into a String only fails if a collector reports an error,
        // which ours never do; an empty scrape is the fallback.
        let written = encode_registry(&mut out, &self.registry)
            .and_then(|()| encode_registry(&mut out, &self.process))
            .and_then(|()| encode_eof(&mut out));
        if let Err(err) = written {
            tracing::error!(error = %err, "metrics encoding failed");
            out.clear();
        }
        match format {
            Exposition::OpenMetrics => out,
            Exposition::Prometheus => to_prometheus_text(&out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Code;

    #[test]
    fn command_labels_are_capped_and_the_rest_counted_as_other() {
        let m = NodeMetrics::new(std::sync::Weak::new(), round_trip_histogram());
        for id in 0..(MAX_COMMAND_LABELS as i32 + 10) {
            m.received(Via::Client, id);
        }
        m.received(Via::Client, 3);
        let text = m.encode();
        assert!(text.contains(r#"espoir_messages_received_total{command="3",via="client"} 2"#), "{text}");
        assert!(
            text.contains(r#"espoir_messages_received_total{command="other",via="client"} 10"#),
            "{text}"
        );
        let series = text.lines().filter(|l| l.starts_with("espoir_messages_received_total{")).count();
        assert_eq!(series, MAX_COMMAND_LABELS + 1);
    }

    #[test]
    fn handler_times_and_errors_are_recorded() {
        let m = NodeMetrics::new(std::sync::Weak::new(), round_trip_histogram());
        m.handled::<()>(7, Duration::from_millis(3), &Ok(()));
        m.handled::<()>(7, Duration::from_millis(3), &Err(Status::new(Code::TIMEOUT, "late")));
        m.reload("invalid");
        m.limit_hit("message_rate");
        let text = m.encode();
        assert!(text.contains(r#"espoir_handler_duration_seconds_count{command="7"} 2"#), "{text}");
        assert!(text.contains(r#"espoir_request_errors_total{kind="timeout"} 1"#), "{text}");
        assert!(text.contains(r#"espoir_config_reloads_total{result="invalid"} 1"#), "{text}");
        assert!(text.contains(r#"espoir_limits_hit_total{limit="message_rate"} 1"#), "{text}");
    }
}
