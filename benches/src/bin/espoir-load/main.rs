//! `espoir-load`: the end-to-end load harness.
//!
//! ```text
//! espoir-load scale --espoir target/release/espoir -c 32,256 --write docs/benchmarks.md
//! espoir-load bets  --cluster configs/local -c 256
//! espoir-load run   --url ws://127.0.0.1:20000 -c 32 --duration 10 [--pid PID…]
//! espoir-load run   --cluster configs/bench --url ws://127.0.0.1:24000   # single process
//! espoir-load run   --in-process configs/hello -c 32                     # single process
//! espoir-load idle  --url ws://127.0.0.1:24000 -n 19000 --pid PID
//! espoir-load run   --url wss://127.0.0.1:24000 --ca certs/ca.pem        # TLS
//! espoir-load tls   --write docs/benchmarks.md                           # ws vs wss
//! espoir-load soak  --cluster configs/hello --minutes 30 --restart-every 3
//! espoir-load echo  --port 23900
//! espoir-load suite --write docs/benchmarks.md
//! espoir-load traces --cluster configs/hello --port-base 41000 --write docs/benchmarks.md
//! espoir-load --threads 2 topics -n 10000 --rate 100 --seconds 20 --slow-percent 10
//! espoir-load rooms -r 50,200,500 --duration 8                          # rooms vs intervals
//! ```
//!
//! `scale` and `bets` run the nodes as separate processes, as deployed;
//! `run --cluster`, `run --in-process` and `suite` run each cluster as one
//! process and say so.

mod roomed;
mod scaled;
mod single;
mod traced;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use bytes::Bytes;
use clap::{Parser, Subcommand};
use espoir_benches::{
    IdleSpec, LoadSpec, ServerProcs, SoakSpec, Suite, SuiteOptions, TlsCost, TlsCostOptions,
    loopback_sources, run_idle, run_soak, soak_summary, tls_trusting, write_section, write_tls_section,
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
    /// The scaling table: each node its own process pinned to N cores,
    /// the generator on the others, echo, direct and hello side by side.
    Scale(scaled::ScaleArgs),
    /// Bets per second end to end on the betting cluster (`espoir up`).
    Bets(scaled::BetsArgs),
    /// C clients in a closed loop against one URL.
    Run {
        /// Proxy websocket URL, ws:// or wss://.
        #[arg(long, default_value = "ws://127.0.0.1:20000")]
        url: String,
        /// For a wss:// URL: PEM file of the CA that signed the proxy's
        /// certificate (trusted alone).
        #[arg(long)]
        ca: Option<PathBuf>,
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
        /// Start `espoir up DIR` as a process first (and stop it after):
        /// every node in a single process.
        #[arg(long, conflicts_with = "in_process")]
        cluster: Option<PathBuf>,
        /// Start the cluster of DIR inside this process (hello handlers):
        /// servers and generator in a single process.
        #[arg(long)]
        in_process: Option<PathBuf>,
        /// The `espoir` binary for --cluster.
        #[arg(long)]
        espoir: Option<PathBuf>,
    },
    /// Topics: N subscribers over two proxies, one producer at a rate;
    /// runs without and with slow subscribers, side by side.
    Topics {
        /// Subscribers.
        #[arg(short = 'n', long, default_value_t = 10_000)]
        subscribers: usize,
        /// Messages per second.
        #[arg(long, default_value_t = 100.0)]
        rate: f64,
        /// Seconds of publishing per run.
        #[arg(long, default_value_t = 20.0)]
        seconds: f64,
        /// Share of slow subscribers in the second run, percent.
        #[arg(long, default_value_t = 10)]
        slow_percent: usize,
        /// Milliseconds a slow subscriber waits after each frame it reads.
        #[arg(long, default_value_t = 100)]
        slow_pause_ms: u64,
        /// Padding bytes per message.
        #[arg(long, default_value_t = 200)]
        pad: usize,
    },
    /// Rooms at 20 Hz with four member clients each, side by side with
    /// bare tokio intervals doing the same pushes (single process).
    Rooms(roomed::RoomsArgs),
    /// Hold N idle connections that heartbeat; report server RSS per connection.
    Idle {
        /// Proxy websocket URL, ws:// or wss://.
        #[arg(long, default_value = "ws://127.0.0.1:24000")]
        url: String,
        /// For a wss:// URL: PEM file of the CA that signed the proxy's
        /// certificate (trusted alone).
        #[arg(long)]
        ca: Option<PathBuf>,
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
    /// What TLS costs: configs/bench over ws:// and over wss://, side by
    /// side in one run (round trips, CPU per round trip, idle memory).
    Tls {
        /// Measured seconds per closed loop.
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
        /// Warm-up seconds per closed loop.
        #[arg(long, default_value_t = 2.0)]
        warmup: f64,
        /// Clients in the closed loops.
        #[arg(short = 'c', long, default_value_t = 32)]
        clients: usize,
        /// Rounds of (ws, wss), alternating.
        #[arg(long, default_value_t = 2)]
        rounds: usize,
        /// Idle connections per transport (0 skips them).
        #[arg(long, default_value_t = 5000)]
        idle: usize,
        /// Where configs/bench's ports (24000…24012) move to.
        #[arg(long, default_value_t = 24000)]
        port_base: u16,
        /// The `espoir` binary (default: next to this one).
        #[arg(long)]
        espoir: Option<PathBuf>,
        /// Markdown file to write the results into (between markers).
        #[arg(long)]
        write: Option<PathBuf>,
    },
    /// A bare tokio-tungstenite echo server (default settings).
    Echo {
        /// Port on 127.0.0.1.
        #[arg(long, default_value_t = 23900)]
        port: u16,
    },
    /// A cluster with tracing off, on (OTLP to a local sink) at each
    /// sampling ratio, and off again, side by side (single process).
    Traces(traced::TracesArgs),
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
    if let Some(spec) = std::env::var(espoir_benches::topics::TOPICS_SWARM_ENV)
        .ok()
        .as_deref()
        .and_then(espoir_benches::topics::SwarmSpec::decode)
    {
        return block_on(2, async move {
            espoir_benches::topics::run_swarm(spec).await;
            Ok(())
        });
    }
    let cli = Cli::parse();
    match cli.command {
        Cmd::Echo { port } => single::echo(port),
        // These pin this process before its runtime starts.
        Cmd::Scale(args) => scaled::scale(args),
        Cmd::Bets(args) => scaled::bets(args, cli.threads),
        other => block_on(cli.threads, dispatch(other, cli.threads)),
    }
}

/// Runs `work` on a runtime of `threads` client threads (1: a current-
/// thread runtime, one thread drives every client).
fn block_on(threads: usize, work: impl Future<Output = Result<(), String>>) -> ExitCode {
    let runtime = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build()
    };
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(err) => return fail(&format!("cannot start the runtime: {err}")),
    };
    match runtime.block_on(work) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => fail(&err),
    }
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("espoir-load: {msg}");
    ExitCode::FAILURE
}

async fn dispatch(cmd: Cmd, threads: usize) -> Result<(), String> {
    match cmd {
        Cmd::Run { url, ca, command, body, clients, duration, warmup, pid, cluster, in_process, espoir } => {
            let spec = LoadSpec {
                url,
                tls: ca.as_deref().map(tls_trusting).transpose()?,
                command,
                body: Bytes::from(body),
                clients,
                warmup: Duration::from_secs_f64(warmup),
                duration: Duration::from_secs_f64(duration),
                timeout: Duration::from_secs(10),
            };
            single::run(spec, pid, cluster, in_process, espoir).await
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
        Cmd::Idle { url, ca, connections, command, every, hold, sources, pid } => {
            let spec = IdleSpec {
                url,
                tls: ca.as_deref().map(tls_trusting).transpose()?,
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
        Cmd::Tls { duration, warmup, clients, rounds, idle, port_base, espoir, write } => {
            let root = repo_root();
            let opts = TlsCostOptions {
                espoir: espoir.unwrap_or_else(sibling_espoir),
                configs: root.join("configs"),
                workdir: root.join("target/load-tls"),
                clients,
                duration: Duration::from_secs_f64(duration),
                warmup: Duration::from_secs_f64(warmup),
                rounds,
                idle,
                port_base,
            };
            let cost = TlsCost::run(&opts).await?;
            let command = format!(
                "cargo build --release -p espoir-nodes -p espoir-benches && target/release/espoir-load tls -c {clients} --duration {duration} --warmup {warmup} --rounds {rounds} --idle {idle} --port-base {port_base}"
            );
            let machine = format!(
                "{} cores ({}), `espoir up configs/bench` (proxy and service in one process), load generator on the same cores, one client thread",
                std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
                espoir_benches::report::cpu_model()
            );
            let section = cost.markdown(&command, &machine, clients);
            println!("{section}");
            if let Some(path) = write {
                write_tls_section(&path, &section)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            }
            Ok(())
        }
        Cmd::Topics { subscribers, rate, seconds, slow_percent, slow_pause_ms, pad } => {
            let spec = |slow_percent| espoir_benches::topics::TopicsSpec {
                subscribers,
                slow_percent,
                rate,
                duration: Duration::from_secs_f64(seconds),
                pad,
                slow_pause: Duration::from_millis(slow_pause_ms),
            };
            let mut reports = Vec::new();
            for slow in [0, slow_percent] {
                let report = espoir_benches::topics::run_topics(&spec(slow)).await?;
                eprintln!("{report:?}");
                reports.push(report);
            }
            println!("{}", espoir_benches::topics::markdown(&reports));
            Ok(())
        }
        Cmd::Echo { port } => Err(format!("echo on port {port} runs outside the client runtime")),
        Cmd::Scale(_) | Cmd::Bets(_) => {
            Err("scale and bets pin the generator before the runtime starts".into())
        }
        Cmd::Traces(args) => traced::run(args).await,
        Cmd::Rooms(args) => roomed::run(args, threads).await,
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

pub(crate) fn machine() -> String {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    format!(
        "{cores} cores ({}), each cluster in a single process (`espoir up DIR`), load generator on the same cores, one client thread",
        espoir_benches::report::cpu_model()
    )
}
