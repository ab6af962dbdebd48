//! `espoir-load`: the end-to-end load harness.
//!
//! ```text
//! espoir-load run   --url ws://127.0.0.1:20000 -c 32 --duration 10 [--pid PID…]
//! espoir-load run   --cluster configs/bench --url ws://127.0.0.1:24000
//! espoir-load run   --in-process configs/hello -c 32
//! espoir-load idle  --url ws://127.0.0.1:24000 -n 19000 --pid PID
//! espoir-load soak  --cluster configs/hello --minutes 30 --restart-every 3
//! espoir-load echo  --port 23900
//! espoir-load suite --write docs/benchmarks.md
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use bytes::Bytes;
use clap::{Parser, Subcommand};
use espoir::{HandlerGroups, Node, NodeConfig, RunningNode, Shutdown};
use espoir_benches::{
    IdleSpec, LoadReport, LoadSpec, ProcSample, ServerProcs, SoakSpec, Suite, SuiteOptions, loopback_sources,
    run_closed_loop, run_idle, run_soak, serve_echo, soak_summary, wait_serving, write_section,
};

#[derive(Parser, Debug)]
#[command(name = "espoir-load", about = "Closed-loop websocket load for obespoir-framed servers")]
struct Cli {
    /// Client threads (1: one thread drives every client, as in the
    /// reference measurements).
    #[arg(long, default_value_t = 1, global = true)]
    threads: usize,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// C clients in a closed loop against one URL.
    Run {
        /// Proxy websocket URL.
        #[arg(long, default_value = "ws://127.0.0.1:20000")]
        url: String,
        /// Request command id.
        #[arg(long, default_value_t = 20000)]
        command: i32,
        /// Request body (JSON).
        #[arg(long, default_value = r#"{"user_id":10}"#)]
        body: String,
        /// Clients.
        #[arg(short = 'c', long, default_value_t = 32)]
        clients: usize,
        /// Measured seconds.
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
        /// Unmeasured warm-up seconds.
        #[arg(long, default_value_t = 2.0)]
        warmup: f64,
        /// Server processes to report CPU time and memory for.
        #[arg(long)]
        pid: Vec<u32>,
        /// Start `espoir up DIR` as a process first (and stop it after).
        #[arg(long, conflicts_with = "in_process")]
        cluster: Option<PathBuf>,
        /// Start the cluster of DIR inside this process (hello handlers).
        #[arg(long)]
        in_process: Option<PathBuf>,
        /// The `espoir` binary for --cluster.
        #[arg(long)]
        espoir: Option<PathBuf>,
    },
    /// Hold N idle connections that heartbeat; report server RSS per connection.
    Idle {
        /// Proxy websocket URL.
        #[arg(long, default_value = "ws://127.0.0.1:24000")]
        url: String,
        /// Connections.
        #[arg(short = 'n', long, default_value_t = 19_000)]
        connections: usize,
        /// Heartbeat command id.
        #[arg(long, default_value_t = 10000)]
        command: i32,
        /// Seconds between heartbeats per connection.
        #[arg(long, default_value_t = 5.0)]
        every: f64,
        /// Seconds to hold every connection once all are open.
        #[arg(long, default_value_t = 12.0)]
        hold: f64,
        /// Loopback source addresses to spread over (127.0.0.2…).
        #[arg(long, default_value_t = 8)]
        sources: u8,
        /// The server process to measure.
        #[arg(long)]
        pid: u32,
    },
    /// Minutes of mixed load on a cluster of processes (one per config in
    /// DIR), killing and restarting a route or service every few minutes;
    /// prints each node's RSS and the errors, minute by minute.
    Soak {
        /// The cluster's config folder.
        #[arg(long, default_value = "configs/hello")]
        cluster: PathBuf,
        /// A proxy websocket URL of that cluster.
        #[arg(long, default_value = "ws://127.0.0.1:20000")]
        url: String,
        /// Minutes of load.
        #[arg(long, default_value_t = 30)]
        minutes: u32,
        /// Restart a node every this many minutes (0: never).
        #[arg(long, default_value_t = 3)]
        restart_every: u32,
        /// Clients per command of the mix (login 1000, request 20000, heartbeat 10000).
        #[arg(short = 'c', long, default_value_t = 16)]
        clients: usize,
        /// The `espoir` binary (default: next to this one).
        #[arg(long)]
        espoir: Option<PathBuf>,
    },
    /// A bare tokio-tungstenite echo server (default settings).
    Echo {
        /// Port on 127.0.0.1.
        #[arg(long, default_value_t = 23900)]
        port: u16,
    },
    /// Every scenario side by side; prints the table, optionally writes it.
    Suite {
        /// Measured seconds per scenario.
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
        /// Warm-up seconds per scenario.
        #[arg(long, default_value_t = 2.0)]
        warmup: f64,
        /// Idle connections (0 skips the idle scenario).
        #[arg(long, default_value_t = 19_000)]
        idle: usize,
        /// Client counts for the scaling scenario.
        #[arg(long, value_delimiter = ',', default_value = "1,32,256,1024")]
        scaling: Vec<usize>,
        /// The `espoir` binary (default: next to this one).
        #[arg(long)]
        espoir: Option<PathBuf>,
        /// Python with obEspoir 0.2.4 (default: provisioned by .ci/provision-obespoir).
        #[arg(long)]
        obespoir_python: Option<PathBuf>,
        /// Do not measure obespoir.
        #[arg(long)]
        no_obespoir: bool,
        /// Markdown file to write the results into (between markers).
        #[arg(long)]
        write: Option<PathBuf>,
    },
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

fn sibling_espoir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("espoir")))
        .unwrap_or_else(|| PathBuf::from("espoir"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Cmd::Echo { port } = cli.command {
        return echo(port);
    }
    let runtime = if cli.threads <= 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(cli.threads).enable_all().build()
    };
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(err) => return fail(&format!("cannot start the runtime: {err}")),
    };
    match runtime.block_on(dispatch(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => fail(&err),
    }
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("espoir-load: {msg}");
    ExitCode::FAILURE
}

async fn dispatch(cmd: Cmd) -> Result<(), String> {
    match cmd {
        Cmd::Run { url, command, body, clients, duration, warmup, pid, cluster, in_process, espoir } => {
            let spec = LoadSpec {
                url,
                command,
                body: Bytes::from(body),
                clients,
                warmup: Duration::from_secs_f64(warmup),
                duration: Duration::from_secs_f64(duration),
                timeout: Duration::from_secs(10),
            };
            run(spec, pid, cluster, in_process, espoir).await
        }
        Cmd::Soak { cluster, url, minutes, restart_every, clients, espoir } => {
            let spec = SoakSpec {
                dir: cluster,
                espoir: espoir.unwrap_or_else(sibling_espoir),
                log_dir: repo_root().join("target/soak"),
                minutes,
                restart_every,
                mix: vec![
                    (1000, Bytes::from_static(br#"{"name":"jamon","passwd":"test"}"#), clients),
                    (20000, Bytes::from_static(br#"{"user_id":10}"#), clients),
                    (10000, Bytes::from_static(b"{}"), clients),
                ],
            };
            let rows = run_soak(&spec, &url).await?;
            let nodes = rows.first().map_or(0, |r| r.rss_mib.len());
            println!("{}", soak_summary(&rows, nodes));
            Ok(())
        }
        Cmd::Idle { url, connections, command, every, hold, sources, pid } => {
            let spec = IdleSpec {
                url,
                connections,
                heartbeat_command: command,
                heartbeat_every: Duration::from_secs_f64(every),
                hold: Duration::from_secs_f64(hold),
                sources: loopback_sources(sources),
            };
            let sample = move || ServerProcs::sample_pids(&[pid]);
            let r = run_idle(&spec, sample).await.map_err(|e| e.to_string())?;
            println!(
                "held {} failed {} heartbeats {}/{} rss {:.1} MiB -> {:.1} MiB: {:.2} KiB per connection",
                r.held,
                r.failed,
                r.heartbeats_answered,
                r.heartbeats_sent,
                r.rss_before as f64 / 1048576.0,
                r.rss_after as f64 / 1048576.0,
                r.per_connection() as f64 / 1024.0
            );
            Ok(())
        }
        Cmd::Echo { port } => Err(format!("echo on port {port} runs outside the client runtime")),
        Cmd::Suite { duration, warmup, idle, scaling, espoir, obespoir_python, no_obespoir, write } => {
            let root = repo_root();
            let python = if no_obespoir {
                None
            } else {
                match obespoir_python {
                    Some(p) => Some(p),
                    None => Some(provision_obespoir(&root)?),
                }
            };
            let opts = SuiteOptions {
                espoir: espoir.unwrap_or_else(sibling_espoir),
                harness: std::env::current_exe().map_err(|e| e.to_string())?,
                configs: root.join("configs"),
                obespoir_python: python,
                workdir: root.join("target/load-suite"),
                duration: Duration::from_secs_f64(duration),
                warmup: Duration::from_secs_f64(warmup),
                idle_connections: idle,
                scaling,
            };
            let suite = Suite::run(&opts).await;
            let command = format!(
                "cargo build --release -p espoir-nodes -p espoir-benches && target/release/espoir-load suite --duration {duration} --warmup {warmup} --idle {idle}"
            );
            let section = suite.markdown(&command, &machine());
            println!("{section}");
            if let Some(path) = write {
                write_section(&path, &section)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            }
            Ok(())
        }
    }
}

/// The echo server: its own multi-threaded runtime, whatever `--threads`
/// says for clients, as a bare tokio server would run.
fn echo(port: u16) -> ExitCode {
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

async fn run(
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
        let mut cmd = Command::new(espoir.unwrap_or_else(sibling_espoir));
        cmd.arg("up").arg(&dir);
        let p =
            ServerProcs::spawn(cmd, &repo_root().join("target/load-run.log")).map_err(|e| e.to_string())?;
        pids.extend(p.pids());
        procs = Some(p);
    } else if let Some(dir) = in_process {
        local = Some(start_in_process(&dir).await?);
        pids.push(std::process::id());
    }
    wait_serving(&spec.url, spec.command, &spec.body, Duration::from_secs(30))
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

fn provision_obespoir(root: &Path) -> Result<PathBuf, String> {
    let out = Command::new("bash")
        .arg(root.join(".ci/provision-obespoir"))
        .output()
        .map_err(|e| format!("cannot run .ci/provision-obespoir: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "could not install obespoir (use --no-obespoir to skip it): {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    format!("{cores} cores ({cpu}), load generator on the same cores, one client thread")
}
