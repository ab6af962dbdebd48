//! `node` and `up`: starting nodes, waiting for a signal, draining.
//!
//! Each node is started from its file, so `POST /update_remote_rpc_config`
//! re-reads it. On SIGTERM or Ctrl-C every node drains (see
//! `docs/operations.md`): proxies first, so their clients' last requests
//! still find services, then services, then routes.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use super::check::problems;
use super::error::CliError;
use super::logs::LogSetup;
use super::signal::shutdown_signal;
use crate::config::{LogFormat, NodeConfig};
use crate::mongo::{OpenedConfig, open_node_config};
use crate::node::{HandlerGroups, RunningNode};
use crate::proto::NodeType;
use crate::shutdown::Shutdown;

/// Runs one node. Its file is a full config, or a bootstrap file naming
/// the MongoDB document that holds the config (`docs/config.md`).
pub(super) fn node(
    file: &Path,
    groups: &HandlerGroups,
    grace: Duration,
    format: Option<LogFormat>,
) -> Result<ExitCode, CliError> {
    let runtime = runtime()?;
    let opened = runtime.block_on(open_node_config(file))?;
    let config = &opened.config;
    let logs = LogSetup::new().node(config).format(format).install()?;
    if let Some(why) = &opened.fallback {
        tracing::warn!(node = %config.name, "{why}");
    }
    // A single node follows its config's `watch` flag.
    let outcome = serve(&runtime, groups, vec![opened], grace, None);
    // Lines logged while the runtime stops are written before the log is.
    drop(runtime);
    drop(logs);
    outcome
}

/// Runs every config of `dir` as one cluster. `watch`: whether every node
/// applies edits of its file by itself.
pub(super) fn up(
    dir: &Path,
    groups: &HandlerGroups,
    grace: Duration,
    watch: bool,
    format: Option<LogFormat>,
) -> Result<ExitCode, CliError> {
    let configs = NodeConfig::load_dir(dir)?;
    if configs.is_empty() {
        return Err(CliError::NoConfigs(dir.to_path_buf()));
    }
    // What `check` finds stops the cluster before any node starts (rules
    // across nodes included, which no single node could see).
    let problems = problems(&configs, groups);
    if !problems.is_empty() {
        return Err(CliError::Problems(problems));
    }
    // Each node logs at its own level, to its own files when it has a
    // `log_dir`, else to the terminal; every line names its node.
    let logs =
        configs.iter().fold(LogSetup::new().format(format), |setup, (_, c)| setup.node(c)).install()?;
    let runtime = runtime()?;
    let opened = configs.into_iter().map(|(file, config)| OpenedConfig::from_file(file, config)).collect();
    let outcome = serve(&runtime, groups, opened, grace, Some(watch));
    drop(runtime);
    drop(logs);
    outcome
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(CliError::Runtime)
}

/// Starts the nodes, waits for a signal (or for every node to stop), then
/// drains them. Exit status 2 when the drain outlasted `grace`.
fn serve(
    runtime: &tokio::runtime::Runtime,
    groups: &HandlerGroups,
    configs: Vec<OpenedConfig>,
    grace: Duration,
    watch: Option<bool>,
) -> Result<ExitCode, CliError> {
    runtime.block_on(async move {
        let shutdown = Shutdown::new();
        let mut nodes: Vec<RunningNode> = Vec::new();
        for opened in configs {
            match start(groups, opened, watch, &shutdown).await {
                Ok(node) => nodes.push(node),
                Err(err) => {
                    shutdown.finish(grace).await;
                    return Err(err);
                }
            }
        }
        tracing::info!(nodes = nodes.len(), "cluster up; Ctrl-C or SIGTERM drains and stops it");
        tokio::select! {
            () = shutdown_signal() => {
                tracing::info!(?grace, "signal received: draining");
            }
            () = all_stopped(&nodes) => {
                tracing::info!("every node has stopped");
            }
        }
        let deadline = tokio::time::Instant::now() + grace;
        let drained = drain_all(&nodes, grace).await;
        // Whatever is left gets the rest of the grace period (at least a
        // second), not a second one: supervisors are told to wait --grace
        // and a few seconds before they kill (docs/deployment.md).
        let rest =
            deadline.saturating_duration_since(tokio::time::Instant::now()).max(Duration::from_secs(1));
        let clean = shutdown.finish(rest).await;
        drop(nodes);
        Ok(if clean && drained { ExitCode::SUCCESS } else { ExitCode::from(2) })
    })
}

/// Starts one node with the groups its `api_path` names.
async fn start(
    groups: &HandlerGroups,
    opened: OpenedConfig,
    watch: Option<bool>,
    shutdown: &Shutdown,
) -> Result<RunningNode, CliError> {
    let node = opened.config.name.clone();
    let api_path = opened.config.api_path.clone();
    let mut builder = opened.builder();
    if let Some(on) = watch {
        builder = builder.watch(on);
    }
    let builder = groups
        .apply(builder, &api_path)
        .map_err(|source| CliError::UnknownGroup { node: node.clone(), source })?;
    builder.start(shutdown).await.map_err(|source| CliError::Start { node, source })
}

/// Resolves once every node has stopped (for example each was drained
/// through `POST /drain`).
async fn all_stopped(nodes: &[RunningNode]) {
    for node in nodes {
        node.stopped().await;
    }
}

/// Drains proxies, then services, then routes, each group at once, all
/// within one grace period. True when all in-flight work finished.
async fn drain_all(nodes: &[RunningNode], grace: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + grace;
    let mut clean = true;
    for role in [NodeType::Proxy, NodeType::Service, NodeType::Route] {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let group = nodes.iter().filter(|n| n.endpoint().node_type() == role).map(|n| n.drain(left));
        clean &= futures_util::future::join_all(group).await.into_iter().all(|ok| ok);
    }
    clean
}
