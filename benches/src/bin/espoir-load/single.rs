//! The single-process paths of `espoir-load run`: a cluster started as one
//! `espoir up DIR` process, or inside this process (`--in-process`), and
//! the bare echo server. Their output says "single process", so nobody
//! mistakes them for the per-process scale mode (`espoir-load scale`).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use espoir::{HandlerGroups, Node, NodeConfig, RunningNode, Shutdown};
use espoir_benches::{
    LoadReport, LoadSpec, ProcSample, ServerProcs, run_closed_loop, serve_echo, wait_serving,
};

use crate::{fail, repo_root, sibling_espoir};

/// The echo server: its own multi-threaded runtime, whatever `--threads`
/// says for clients, as a bare tokio server would run.
pub(crate) fn echo(port: u16) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(err) => return fail(&format!("cannot start the runtime: {err}")),
    };
    rt.block_on(async move {
        match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
            Ok(listener) => {
                serve_echo(listener).await;
                ExitCode::SUCCESS
            }
            Err(err) => fail(&format!("cannot listen on 127.0.0.1:{port}: {err}")),
        }
    })
}

pub(crate) async fn run(
    spec: LoadSpec,
    pids: Vec<u32>,
    cluster: Option<PathBuf>,
    in_process: Option<PathBuf>,
    espoir: Option<PathBuf>,
) -> Result<(), String> {
    let mut pids = pids;
    let mut procs = None;
    let mut local = None;
    if let Some(dir) = cluster {
        println!("mode: single process: every node of {} in one `espoir up` process", dir.display());
        let mut cmd = Command::new(espoir.unwrap_or_else(sibling_espoir));
        cmd.arg("up").arg(&dir);
        let p =
            ServerProcs::spawn(cmd, &repo_root().join("target/load-run.log")).map_err(|e| e.to_string())?;
        pids.extend(p.pids());
        procs = Some(p);
    } else if let Some(dir) = in_process {
        println!(
            "mode: single process: every node of {} inside the load generator's own process",
            dir.display()
        );
        local = Some(start_in_process(&dir).await?);
        pids.push(std::process::id());
    }
    wait_serving(&spec.url, spec.tls.as_ref(), spec.command, &spec.body, Duration::from_secs(30))
        .await
        .map_err(|e| e.to_string())?;
    let before = ServerProcs::sample_pids(&pids);
    let started = std::time::Instant::now();
    let report = run_closed_loop(&spec).await.map_err(|e| e.to_string())?;
    let wall = started.elapsed();
    let after = ServerProcs::sample_pids(&pids);
    print_report(&report, &before, &after, wall, !pids.is_empty());
    if let Some(p) = procs {
        p.stop(Duration::from_secs(5));
    }
    if let Some((shutdown, nodes)) = local {
        shutdown.finish(Duration::from_secs(5)).await;
        drop(nodes);
    }
    Ok(())
}

fn print_report(r: &LoadReport, before: &ProcSample, after: &ProcSample, wall: Duration, servers: bool) {
    let l = r.latency;
    println!(
        "C={} {:.0} round trips/s over {:?}: p50 {:?} p99 {:?} max {:?} mean {:?}, {} errors",
        r.clients,
        r.rate(),
        r.elapsed,
        l.p50,
        l.p99,
        l.max,
        l.mean,
        r.errors
    );
    if servers {
        let cpu = after.cpu.saturating_sub(before.cpu);
        println!(
            "server: {:.2} cores, peak RSS {:.1} MiB",
            cpu.as_secs_f64() / wall.as_secs_f64(),
            after.peak_rss as f64 / 1048576.0
        );
    }
}

/// Starts every node of `dir` in this process with the hello handlers.
async fn start_in_process(dir: &Path) -> Result<(Shutdown, Vec<RunningNode>), String> {
    let configs = NodeConfig::load_dir(dir).map_err(|e| e.to_string())?;
    let groups = HandlerGroups::new()
        .add("hello.proxy", hello::proxy)
        .add("hello.route", hello::route)
        .add("hello.service", hello::service);
    let shutdown = Shutdown::new();
    let mut nodes = Vec::new();
    for (_, config) in configs {
        let api = config.api_path.clone();
        let builder = groups.apply(Node::builder(config), &api).map_err(|e| e.to_string())?;
        nodes.push(builder.start(&shutdown).await.map_err(|e| e.to_string())?);
    }
    Ok((shutdown, nodes))
}
