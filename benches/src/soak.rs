//! The soak: a cluster started from a config folder, one process per node,
//! under mixed closed-loop load for many minutes, with one node killed
//! (SIGKILL) and started again every few minutes. Each minute it prints the
//! resident memory of every node and the round trips and errors of that
//! minute, so a leak shows as a rising column and a bad restart as errors
//! that do not stop.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use espoir::{NodeConfig, NodeType};
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep};

use crate::closed_loop::{LoadSpec, run_closed_loop};
use crate::procs::{ServerProcs, sample_pid, wait_serving};

/// What to soak.
#[derive(Debug, Clone)]
pub struct SoakSpec {
    /// The cluster's config folder (every `*.json5` is one node).
    pub dir: PathBuf,
    /// The `espoir` binary.
    pub espoir: PathBuf,
    /// Where node output goes (one file per node).
    pub log_dir: PathBuf,
    /// Minutes of load.
    pub minutes: u32,
    /// A node is restarted every this many minutes (0: never).
    pub restart_every: u32,
    /// The load: (command, body, clients) closed loops run side by side.
    pub mix: Vec<(i32, Bytes, usize)>,
}

/// One node of the soaked cluster.
struct SoakNode {
    name: String,
    file: PathBuf,
    node_type: NodeType,
    procs: ServerProcs,
}

impl SoakNode {
    fn start(spec: &SoakSpec, file: &Path, name: &str) -> Result<ServerProcs, String> {
        let mut cmd = Command::new(&spec.espoir);
        cmd.arg("node").arg(file);
        ServerProcs::spawn(cmd, &spec.log_dir.join(format!("soak-{name}.log")))
            .map_err(|e| format!("cannot start {name}: {e}"))
    }

    fn rss_mib(&self) -> f64 {
        self.procs.pids().first().and_then(|&pid| sample_pid(pid)).map_or(0.0, |s| s.rss as f64 / 1048576.0)
    }
}

/// One minute of the soak.
#[derive(Debug, Clone)]
pub struct SoakRow {
    /// Minute number, from 1.
    pub minute: u32,
    /// Resident memory of each node at the end of the minute, MiB.
    pub rss_mib: Vec<f64>,
    /// Round trips completed in the minute.
    pub round_trips: u64,
    /// Errors in the minute (error replies, timeouts, broken connections).
    pub errors: u64,
    /// The node restarted during the minute, if any.
    pub restarted: Option<String>,
}

/// Runs the soak, printing a row per minute; returns every row.
///
/// # Errors
/// A config folder that does not load, a node that does not start, or a
/// cluster that never serves the first request.
pub async fn run_soak(spec: &SoakSpec, url: &str) -> Result<Vec<SoakRow>, String> {
    let configs = NodeConfig::load_dir(&spec.dir).map_err(|e| e.to_string())?;
    let mut nodes = Vec::new();
    for (file, config) in configs {
        let procs = SoakNode::start(spec, &file, &config.name)?;
        nodes.push(SoakNode { name: config.name.clone(), file, node_type: config.node_type(), procs });
    }
    let (first_cmd, first_body, _) = spec.mix.first().cloned().ok_or("an empty load mix")?;
    wait_serving(url, None, first_cmd, &first_body, Duration::from_secs(30))
        .await
        .map_err(|e| e.to_string())?;
    // Restart routes and services in turn; a proxy restart ends every
    // client's connection, which the load would count as errors by design.
    let victims: Vec<usize> =
        nodes.iter().enumerate().filter(|(_, n)| n.node_type != NodeType::Proxy).map(|(i, _)| i).collect();
    let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
    println!("minute | {} | round trips | errors | restarted", names.join(" MiB | ") + " MiB");
    let mut rows = Vec::new();
    let mut next_victim = 0;
    for minute in 1..=spec.minutes {
        let started = Instant::now();
        let mut loops = JoinSet::new();
        for (command, body, clients) in &spec.mix {
            let load = LoadSpec {
                url: url.to_owned(),
                tls: None,
                command: *command,
                body: body.clone(),
                clients: *clients,
                warmup: Duration::ZERO,
                duration: Duration::from_secs(58),
                timeout: Duration::from_secs(10),
            };
            loops.spawn(async move { run_closed_loop(&load).await });
        }
        let mut restarted = None;
        if spec.restart_every > 0 && minute % spec.restart_every == 0 && !victims.is_empty() {
            // Half-way through the minute, under load.
            sleep(Duration::from_secs(30)).await;
            let node = &mut nodes[victims[next_victim % victims.len()]];
            next_victim += 1;
            node.procs.kill();
            node.procs = restart(spec, node).await?;
            restarted = Some(node.name.clone());
        }
        let (mut round_trips, mut errors) = (0, 0);
        while let Some(done) = loops.join_next().await {
            match done {
                Ok(Ok(report)) => {
                    round_trips += report.round_trips;
                    errors += report.errors;
                }
                // A loop that could not even connect counts as one error.
                Ok(Err(_)) | Err(_) => errors += 1,
            }
        }
        let row = SoakRow {
            minute,
            rss_mib: nodes.iter().map(SoakNode::rss_mib).collect(),
            round_trips,
            errors,
            restarted,
        };
        let rss: Vec<String> = row.rss_mib.iter().map(|m| format!("{m:.1}")).collect();
        println!(
            "{:>6} | {} | {} | {} | {}",
            row.minute,
            rss.join(" | "),
            row.round_trips,
            row.errors,
            row.restarted.as_deref().unwrap_or("-")
        );
        rows.push(row);
        if let Some(rest) = Duration::from_secs(60).checked_sub(started.elapsed()) {
            sleep(rest).await;
        }
    }
    for node in nodes {
        node.procs.stop(Duration::from_secs(5));
    }
    Ok(rows)
}

/// Starts a killed node again; its ports may take a moment to free.
async fn restart(spec: &SoakSpec, node: &SoakNode) -> Result<ServerProcs, String> {
    for _ in 0..20 {
        let mut procs = SoakNode::start(spec, &node.file, &node.name)?;
        sleep(Duration::from_millis(500)).await;
        if !procs.any_exited() {
            return Ok(procs);
        }
        sleep(Duration::from_millis(500)).await;
    }
    Err(format!("{} did not start again", node.name))
}

/// The totals of a soak, for its last line.
pub fn summary(rows: &[SoakRow], names: usize) -> String {
    let errors: u64 = rows.iter().map(|r| r.errors).sum();
    let trips: u64 = rows.iter().map(|r| r.round_trips).sum();
    let restarts = rows.iter().filter(|r| r.restarted.is_some()).count();
    let growth: Vec<String> = (0..names)
        .map(|i| match (rows.first(), rows.last()) {
            (Some(a), Some(b)) => format!("{:+.1}", b.rss_mib[i] - a.rss_mib[i]),
            _ => "n/a".into(),
        })
        .collect();
    format!(
        "{} minutes, {trips} round trips, {errors} errors, {restarts} restarts; RSS change first→last minute (MiB): {}",
        rows.len(),
        growth.join(", ")
    )
}
