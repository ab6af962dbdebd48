//! `espoir node` and `espoir up`.
//!
//! Each node is started from its file, so `POST /update_remote_rpc_config`
//! re-reads it. On SIGTERM or Ctrl-C every node drains (see
//! `docs/operations.md`): proxies first, so their clients' last requests
//! still find services, then services, then routes.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use espoir::{NodeConfig, NodeType, OpenedConfig, RunningNode, Shutdown, open_node_config};

use crate::{apps, logging};

/// Runs one node. Its file is a full config, or a bootstrap file naming
/// the MongoDB document that holds the config (`docs/config.md`).
pub(crate) fn node(file: &Path, grace: Duration) -> ExitCode {
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let opened = match runtime.block_on(open_node_config(file)) {
        Ok(c) => c,
        Err(err) => return fail(&err.to_string()),
    };
    let config = &opened.config;
    if let Err(err) = logging::init(config.log_level, config.log_dir.as_deref(), &config.name) {
        return fail(&err);
    }
    if let Some(why) = &opened.fallback {
        tracing::warn!(node = %config.name, "{why}");
    }
    // A single node follows its config's `watch` flag.
    serve(&runtime, vec![opened], grace, None)
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|err| fail(&format!("cannot start the async runtime: {err}")))
}

/// `watch`: whether every node applies edits of its file by itself.
pub(crate) fn up(dir: &Path, grace: Duration, watch: bool) -> ExitCode {
    let configs = match NodeConfig::load_dir(dir) {
        Ok(c) => c,
        Err(err) => return fail(&err.to_string()),
    };
    if configs.is_empty() {
        return fail(&format!("no config files (*.json5, *.json) in {}", dir.display()));
    }
    // What `espoir check` finds stops the cluster before any node starts
    // (rules across nodes included, which no single node could see).
    let cluster: Vec<NodeConfig> = configs.iter().map(|(_, c)| c.clone()).collect();
    let groups = apps::groups();
    let problems: Vec<String> = configs
        .iter()
        .filter_map(|(file, c)| groups.check(c, &cluster).err().map(|p| (file, p)))
        .flat_map(|(file, p)| p.into_iter().map(move |why| format!("{}: {why}", file.display())))
        .collect();
    if !problems.is_empty() {
        return fail(&problems.join("\n"));
    }
    // One process, one log: the most verbose level any node asks for.
    let level = configs.iter().map(|(_, c)| c.log_level).max_by_key(|l| l.as_tracing()).unwrap_or_default();
    if let Err(err) = logging::init(level, None, "espoir-up") {
        return fail(&err);
    }
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let opened = configs.into_iter().map(|(file, config)| OpenedConfig::from_file(file, config)).collect();
    serve(&runtime, opened, grace, Some(watch))
}

fn serve(
    runtime: &tokio::runtime::Runtime,
    configs: Vec<OpenedConfig>,
    grace: Duration,
    watch: Option<bool>,
) -> ExitCode {
    runtime.block_on(async move {
        let shutdown = Shutdown::new();
        let groups = apps::groups();
        let mut nodes: Vec<RunningNode> = Vec::new();
        for opened in configs {
            let name = opened.config.name.clone();
            let api_path = opened.config.api_path.clone();
            let mut builder = opened.builder();
            if let Some(on) = watch {
                builder = builder.watch(on);
            }
            let builder = match groups.apply(builder, &api_path) {
                Ok(b) => b,
                Err(err) => {
                    shutdown.finish(grace).await;
                    return fail(&format!("node {name}: {err}"));
                }
            };
            match builder.start(&shutdown).await {
                Ok(node) => nodes.push(node),
                Err(err) => {
                    shutdown.finish(grace).await;
                    return fail(&format!("node {name}: {err}"));
                }
            }
        }
        tracing::info!(nodes = nodes.len(), "cluster up; Ctrl-C or SIGTERM drains and stops it");
        tokio::select! {
            () = wait_for_signal() => {
                tracing::info!(?grace, "signal received: draining");
            }
            () = all_stopped(&nodes) => {
                tracing::info!("every node has stopped");
            }
        }
        let drained = drain_all(&nodes, grace).await;
        let clean = shutdown.finish(grace).await;
        drop(nodes);
        if clean && drained { ExitCode::SUCCESS } else { ExitCode::from(2) }
    })
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

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("espoir: {msg}");
    ExitCode::FAILURE
}
