//! Live reconfiguration: re-read the node's config source, validate,
//! diff, apply. `POST /update_remote_rpc_config`, the file watcher and
//! [`crate::RunningNode::reload`] all go through [`reload`], so every
//! reload behaves the same.
//!
//! Applying is ordered so that no request fails during a change: new peers
//! are dialed first (they join balancing once their link is up), then the
//! routing and `no_state` tables are swapped in one atomic store, then the
//! peers that left are closed.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;

use super::diff::{self, ConfigDiff};
use super::history::{ReloadHistory, ReloadRecord};
use super::report::{PeerChange, ReloadReport};
use crate::cluster::PeerOrigin;
use crate::config::{ConfigError, NodeConfig, RemotePort};
use crate::dispatch::AppliedConfig;
use crate::id::NodeId;
use crate::node::NodeState;

/// Where a node's config comes from, to re-read it on reload.
///
/// [`FileSource`] reads a JSON5 file; other stores (MongoDB) implement this
/// trait and are given to [`crate::NodeBuilder::config_source`].
pub trait ConfigSource: Send + Sync + fmt::Debug + 'static {
    /// Reads and validates the node's current config.
    ///
    /// # Errors
    /// [`ConfigError::Read`] when the source cannot be read; a syntax or
    /// validation error otherwise.
    fn load(&self) -> BoxFuture<'_, Result<NodeConfig, ConfigError>>;

    /// Where it reads from, for logs and admin answers; never a secret.
    fn describe(&self) -> String;

    /// For sources that can tell when they change (a MongoDB change
    /// stream): a channel that yields once per possible change, fed by a
    /// task tied to `shutdown`. A watching node then re-reads on each
    /// signal instead of polling. `None` (the default): the node polls.
    fn changes(&self, shutdown: &crate::shutdown::Shutdown) -> Option<tokio::sync::mpsc::Receiver<()>> {
        let _ = shutdown;
        None
    }
}

/// A config file, re-read on every load.
///
/// The watcher reads it twice a second; parsing JSON5 costs far more than
/// reading a small file, so the text last parsed is kept and an unchanged
/// file is not parsed again.
#[derive(Debug, Clone)]
pub struct FileSource {
    path: PathBuf,
    last: Arc<Mutex<Option<(String, NodeConfig)>>>,
}

impl FileSource {
    /// Reads `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileSource { path: path.into(), last: Arc::default() }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl ConfigSource for FileSource {
    fn load(&self) -> BoxFuture<'_, Result<NodeConfig, ConfigError>> {
        let (path, last) = (self.path.clone(), Arc::clone(&self.last));
        Box::pin(async move {
            // File reads block; keep them off the async workers.
            let read = tokio::task::spawn_blocking(move || {
                let text = std::fs::read_to_string(&path)
                    .map_err(|source| ConfigError::Read { file: path.clone(), source })?;
                let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
                if let Some((seen, config)) = last.as_ref()
                    && *seen == text
                {
                    return Ok(config.clone());
                }
                let config = NodeConfig::from_file_text(&text, &path)?;
                *last = Some((text, config.clone()));
                Ok(config)
            });
            read.await.unwrap_or_else(|join| {
                Err(ConfigError::Read { file: self.path.clone(), source: std::io::Error::other(join) })
            })
        })
    }

    fn describe(&self) -> String {
        format!("file {}", self.path.display())
    }
}

/// Why a reload applied nothing. The running config is untouched.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The node was built from an in-memory config: there is nothing to
    /// re-read.
    #[error("this node has no config source to re-read (it was started from an in-memory config)")]
    NoSource,
    /// The source could not be read, or what it holds is not a valid config
    /// for this node.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl ReloadError {
    /// Whether the new config is at fault (as opposed to the source being
    /// unavailable): the admin endpoint answers 400 then.
    pub fn is_invalid_config(&self) -> bool {
        matches!(
            self,
            ReloadError::Config(
                ConfigError::Syntax { .. } | ConfigError::Invalid { .. } | ConfigError::Several { .. }
            )
        )
    }
}

/// Where a node's reloads re-read its config, one reload at a time.
pub(crate) struct Reloader {
    /// `None` for in-memory configs.
    source: Option<Arc<dyn ConfigSource>>,
    /// Serializes reloads.
    lock: tokio::sync::Mutex<()>,
    /// The last reloads, for the console.
    pub(crate) history: ReloadHistory,
}

impl Reloader {
    pub(crate) fn new(source: Option<Arc<dyn ConfigSource>>) -> Reloader {
        Reloader { source, lock: tokio::sync::Mutex::new(()), history: ReloadHistory::default() }
    }

    pub(crate) fn source(&self) -> Option<&Arc<dyn ConfigSource>> {
        self.source.as_ref()
    }
}

/// Re-reads the node's source and applies what changed. Serialized: two
/// reloads never interleave.
pub(crate) async fn reload(shared: &Arc<NodeState>) -> Result<ReloadReport, ReloadError> {
    let _one_at_a_time = shared.reload.lock.lock().await;
    let result = read_and_apply(shared).await;
    shared.reload.history.push(record(&result));
    match &result {
        Ok(report) if report.changed => {
            shared.metrics.reload("applied");
            tracing::info!(source = %report.source, added = report.added.len(), removed = report.removed.len(),
                reconnected = report.reconnected.len(), routes_changed = report.routes_changed,
                no_state_changed = report.no_state_changed, restart_required = ?report.restart_required,
                "config reloaded");
        }
        Ok(report) => {
            shared.metrics.reload("unchanged");
            tracing::info!(source = %report.source, restart_required = ?report.restart_required,
                "config reloaded: nothing to change live");
        }
        Err(err) if err.is_invalid_config() => {
            shared.metrics.reload("invalid");
            tracing::warn!(error = %err, "config reload refused; the running config is kept");
        }
        Err(err) => {
            shared.metrics.reload("unavailable");
            tracing::warn!(error = %err, "config reload failed; the running config is kept");
        }
    }
    result
}

async fn read_and_apply(shared: &Arc<NodeState>) -> Result<ReloadReport, ReloadError> {
    let source = shared.reload.source().ok_or(ReloadError::NoSource)?;
    let new = source.load().await?;
    let current = shared.router.live.load_full();
    let origin = PathBuf::from(source.describe());
    let diff =
        diff::diff(&current.config, &new, &origin).map_err(|problems| ConfigError::Invalid { problems })?;
    // Validation already refused conflicting tables; this cannot fail for
    // a loaded config, but a source that skips validation gets an error.
    let as_problem = |field: &str, err: crate::routing::TableError| ConfigError::Invalid {
        problems: vec![crate::config::Problem::new(&origin, field, err.to_string())],
    };
    let routes = new.route_table().map_err(|e| as_problem("rpc.route", e))?;
    let stateless = new.state_table().map_err(|e| as_problem("websocket.no_state", e))?;
    let config = Arc::new(new);
    apply(shared, &diff, AppliedConfig { config: Arc::clone(&config), routes, stateless });
    let mut report = report(source.describe(), &diff);
    report.jobs = shared.jobs.reconfigure(&config);
    report.changed |= report.jobs.is_some();
    Ok(report)
}

fn apply(shared: &NodeState, diff: &ConfigDiff, live: AppliedConfig) {
    for entry in diff.added.iter().chain(&diff.changed) {
        shared.cluster.peers.configure(
            &shared.router.endpoint,
            entry.peer_spec(&live.config.rpc),
            entry.node_type,
        );
    }
    shared.router.live.store(Arc::new(live));
    if diff.routes_changed {
        // Which types this node sends to decides who links to it directly.
        crate::cluster::announce_all(shared);
    }
    let removed: Vec<NodeId> = diff.removed.iter().map(RemotePort::node_id).collect();
    for id in &removed {
        shared.cluster.peers.remove(id, PeerOrigin::Config);
    }
    // On a route, a node taken out of the config leaves the cluster.
    crate::cluster::evict(shared, &removed);
}

fn report(source: String, diff: &ConfigDiff) -> ReloadReport {
    let list = |ports: &[RemotePort]| ports.iter().map(PeerChange::from).collect();
    ReloadReport {
        source,
        changed: !diff.is_empty(),
        added: list(&diff.added),
        removed: list(&diff.removed),
        reconnected: list(&diff.changed),
        routes_changed: diff.routes_changed,
        no_state_changed: diff.no_state_changed,
        restart_required: diff.restart_required.clone(),
        jobs: None,
    }
}

/// The history's record of a reload that ended in `outcome`.
fn record(outcome: &Result<ReloadReport, ReloadError>) -> ReloadRecord {
    match outcome {
        Ok(report) => ReloadRecord::applied(report.clone()),
        Err(err) => {
            let problems = match err {
                ReloadError::Config(config) => {
                    config.problems().into_iter().map(|p| format!("{}: {}", p.field, p.reason)).collect()
                }
                ReloadError::NoSource => Vec::new(),
            };
            let result = if err.is_invalid_config() { "invalid" } else { "unavailable" };
            ReloadRecord::refused(result, err.to_string(), problems)
        }
    }
}
