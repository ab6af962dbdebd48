//! The process's log: one tracing subscriber, whatever the number of nodes
//! the process runs, with each node's lines at that node's `log_level`, in
//! its own files when it has a `log_dir`, and named after it.
//!
//! Every node logs inside its node span (`node{node=<name>}`, see
//! `node/span.rs`). Each sink — stderr, or one node's files — is a
//! formatting layer with its own filter (`filter`) that finds the span a
//! line was written in and applies that node's level, so nodes never share
//! a verbosity. Lines outside any node (the process's own: "cluster up",
//! signals) go to stderr, or to the node's file when the process runs one
//! node. Writers are non-blocking (`sinks`) and flushed when the
//! [`LogGuard`] drops; lines are text or JSON (`json`).
//!
//! Nothing here is process-global beyond the one subscriber a binary
//! installs: [`LogSetup::layer`] hands the layer out, so a binary can add
//! its own layers (traces, …) to the same subscriber.

mod filter;
mod json;
mod sinks;

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::str::FromStr as _;
use std::sync::Arc;

use tracing::Subscriber;
use tracing_appender::non_blocking::{NonBlocking, WorkerGuard};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;

use self::filter::NodeFilter;
use self::json::NodeJson;
use super::error::LoggingError;
use crate::config::{LogFormat, LogLevel, LogsConfig, NodeConfig};

/// A boxed layer of subscriber `S`.
pub type BoxedLayer<S> = Box<dyn Layer<S> + Send + Sync + 'static>;

/// Keeps the log writers' threads alive; dropping it writes out every line
/// still queued. Hold it until the nodes have stopped.
#[derive(Debug)]
#[must_use = "dropping the guard stops the log writers"]
pub struct LogGuard {
    _writers: Vec<WorkerGuard>,
}

#[derive(Debug, Clone)]
struct NodeLog {
    name: Arc<str>,
    level: LogLevel,
    dir: Option<PathBuf>,
    logs: LogsConfig,
}

/// The log of a process running one node or several: which nodes, and
/// optionally a format that overrides each node's `logs.format`.
#[derive(Debug, Clone, Default)]
pub struct LogSetup {
    nodes: Vec<NodeLog>,
    format: Option<LogFormat>,
}

impl LogSetup {
    /// No node yet: lines go to stderr at `info`.
    pub fn new() -> LogSetup {
        LogSetup::default()
    }

    /// Logs the node of `config` at its `log_level`, to its `log_dir` when
    /// it has one (rotated as its `logs` section says), else to stderr.
    pub fn node(mut self, config: &NodeConfig) -> LogSetup {
        self.nodes.push(NodeLog {
            name: Arc::from(config.name.as_str()),
            level: config.log_level,
            dir: config.log_dir.clone(),
            logs: config.logs,
        });
        self
    }

    /// Writes every line in `format` (the command line's `--log-format`),
    /// whatever the nodes' `logs.format`; `None` keeps theirs.
    pub fn format(mut self, format: Option<LogFormat>) -> LogSetup {
        self.format = format;
        self
    }

    /// The format of stderr: the override, else JSON when every node asks
    /// for it (one stream has one format), else text.
    fn stderr_format(&self) -> LogFormat {
        self.format.unwrap_or_else(|| {
            let all_json =
                !self.nodes.is_empty() && self.nodes.iter().all(|n| n.logs.format == LogFormat::Json);
            if all_json { LogFormat::Json } else { LogFormat::Text }
        })
    }

    /// The layer that writes the log, for a subscriber of the binary's own
    /// making (`tracing_subscriber::registry().with(layer).with(…)`), and
    /// the guard to hold while it is in use. `RUST_LOG` (`target=level`
    /// directives), when set, replaces every node's `log_level`.
    ///
    /// # Errors
    /// [`LoggingError`] when a `log_dir` or file cannot be made, or
    /// `RUST_LOG` is not a list of `target=level` directives.
    pub fn layer<S>(&self) -> Result<(BoxedLayer<S>, LogGuard), LoggingError>
    where
        S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
    {
        let env = rust_log()?;
        let targets =
            |level: LogLevel| env.clone().unwrap_or_else(|| Targets::new().with_default(level.as_tracing()));
        let routed: Arc<HashSet<Arc<str>>> =
            Arc::new(self.nodes.iter().filter(|n| n.dir.is_some()).map(|n| Arc::clone(&n.name)).collect());
        // The process's own lines: at the one node's level, or at the most
        // verbose level of them all.
        let process_level =
            self.nodes.iter().map(|n| n.level).max_by_key(|l| l.as_tracing()).unwrap_or_default();
        let single = self.nodes.len() == 1;
        let mut layers: Vec<BoxedLayer<S>> = Vec::new();
        let mut writers = Vec::new();
        for node in &self.nodes {
            let Some(dir) = &node.dir else { continue };
            let (writer, guard) = sinks::node_files(dir, &node.name, &node.logs)?;
            writers.push(guard);
            let own = HashMap::from([(Arc::clone(&node.name), targets(node.level))]);
            let rest = single.then(|| targets(node.level));
            let filter = NodeFilter::new(own, Arc::clone(&routed), rest);
            layers.push(sink_layer(writer, self.format.unwrap_or(node.logs.format), false, filter));
        }
        if !(single && routed.len() == 1) {
            let own = self
                .nodes
                .iter()
                .filter(|n| n.dir.is_none())
                .map(|n| (Arc::clone(&n.name), targets(n.level)))
                .collect();
            let filter = NodeFilter::new(own, Arc::clone(&routed), Some(targets(process_level)));
            let (writer, guard) = sinks::stderr();
            writers.push(guard);
            let format = self.stderr_format();
            let ansi = format == LogFormat::Text && std::io::stderr().is_terminal();
            layers.push(sink_layer(writer, format, ansi, filter));
        }
        Ok((Box::new(layers), LogGuard { _writers: writers }))
    }

    /// Installs the log as the process's subscriber.
    ///
    /// # Errors
    /// As [`LogSetup::layer`], and [`LoggingError::AlreadySet`] when the
    /// process already has a subscriber.
    pub fn install(&self) -> Result<LogGuard, LoggingError> {
        let (layer, guard) = self.layer()?;
        tracing_subscriber::registry().with(layer).try_init().map_err(|_| LoggingError::AlreadySet)?;
        Ok(guard)
    }
}

/// Sets up the process's log for one node, as `espoir node` does: at its
/// `log_level` (`RUST_LOG` overrides it), to stderr, or with a `log_dir`
/// to `{log_dir}/{name}.{date}.log` rotated as its `logs` section says. For
/// a binary with its own `main`; without it (or another tracing
/// subscriber) those keys do nothing and the node logs nowhere. Hold the
/// guard until the node has stopped. Several nodes: [`LogSetup`].
///
/// # Errors
/// As [`LogSetup::install`].
pub fn init_logging(config: &NodeConfig) -> Result<LogGuard, LoggingError> {
    LogSetup::new().node(config).install()
}

/// `RUST_LOG`'s directives, when set.
fn rust_log() -> Result<Option<Targets>, LoggingError> {
    match std::env::var("RUST_LOG") {
        Ok(value) if !value.trim().is_empty() => Targets::from_str(&value)
            .map(Some)
            .map_err(|err| LoggingError::RustLog { value, reason: err.to_string() }),
        _ => Ok(None),
    }
}

fn sink_layer<S>(writer: NonBlocking, format: LogFormat, ansi: bool, filter: NodeFilter) -> BoxedLayer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_ansi(ansi)
            .with_target(false)
            .with_filter(filter)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .fmt_fields(NodeJson::fields())
            .event_format(NodeJson::new())
            .with_writer(writer)
            .with_filter(filter)
            .boxed(),
    }
}
