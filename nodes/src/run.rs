//! `espoir node` and `espoir up`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use espoir::{Node, NodeConfig, RunningNode, Shutdown};

use crate::{apps, logging};

pub(crate) fn node(file: &Path, grace: Duration) -> ExitCode {
    let config = match NodeConfig::load(file) {
        Ok(c) => c,
        Err(err) => return fail(&err.to_string()),
    };
    if let Err(err) = logging::init(config.log_level, config.log_dir.as_deref(), &config.name) {
        return fail(&err);
    }
    serve(vec![config], grace)
}

pub(crate) fn up(dir: &Path, grace: Duration) -> ExitCode {
    let configs = match NodeConfig::load_dir(dir) {
        Ok(c) => c,
        Err(err) => return fail(&err.to_string()),
    };
    if configs.is_empty() {
        return fail(&format!("no config files (*.json5, *.json) in {}", dir.display()));
    }
    // One process, one log: the most verbose level any node asks for.
    let level = configs.iter().map(|(_, c)| c.log_level).max_by_key(|l| l.as_tracing()).unwrap_or_default();
    if let Err(err) = logging::init(level, None, "espoir-up") {
        return fail(&err);
    }
    serve(configs.into_iter().map(|(_, c)| c).collect(), grace)
}

fn serve(configs: Vec<NodeConfig>, grace: Duration) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(err) => return fail(&format!("cannot start the async runtime: {err}")),
    };
    runtime.block_on(async move {
        let shutdown = Shutdown::new();
        let groups = apps::groups();
        let mut nodes: Vec<RunningNode> = Vec::new();
        for config in configs {
            let name = config.name.clone();
            let api_path = config.api_path.clone();
            let builder = match groups.apply(Node::builder(config), &api_path) {
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
        tracing::info!(nodes = nodes.len(), "cluster up; Ctrl-C or SIGTERM stops it");
        wait_for_signal().await;
        tracing::info!(?grace, "shutting down");
        let clean = shutdown.finish(grace).await;
        drop(nodes);
        if clean { ExitCode::SUCCESS } else { ExitCode::from(2) }
    })
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
