//! What TLS costs, side by side in one run: configs/bench served over
//! `ws://` and, with a `tls` section added, over `wss://`, each as one
//! `espoir up` process, under the same closed-loop load and the same idle
//! connections, alternating so drift on a shared machine hits both alike.
//! The certificate comes from a CA made for the run ([`TestCa`]); both
//! copies of configs/bench are written with their ports moved to
//! `--port-base` so the run can sit beside another one.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use espoir_testkit::TestCa;

use tokio::time::Instant;

use crate::closed_loop::{LoadReport, LoadSpec, connect_all, drive};
use crate::idle::{IdleReport, IdleSpec, loopback_sources, run_idle};
use crate::procs::{ServerProcs, wait_serving};
use crate::window::{WindowStats, measure_window};

const BEGIN: &str = "<!-- tls-cost:begin -->";
const END: &str = "<!-- tls-cost:end -->";
/// configs/bench's ports (websocket, http, rpc; the service's http, rpc),
/// moved to the port base by their offset from the first.
const BENCH_PORTS: [u16; 5] = [24000, 24001, 24002, 24011, 24012];
const HEARTBEAT: i32 = 10000;
const ENTER: i32 = 20000;

/// How to run the comparison.
#[derive(Debug, Clone)]
pub struct TlsCostOptions {
    /// The `espoir` binary (release build).
    pub espoir: PathBuf,
    /// The repository's `configs/` folder (configs/bench is used).
    pub configs: PathBuf,
    /// Scratch folder: the TLS copy of the configs, the certificates, logs.
    pub workdir: PathBuf,
    /// Clients in the closed loop.
    pub clients: usize,
    /// Measured time per closed-loop run.
    pub duration: Duration,
    /// Unmeasured warm-up per run.
    pub warmup: Duration,
    /// Rounds of (ws, wss); each mode's figures add up over the rounds.
    pub rounds: usize,
    /// Idle connections per mode (0 skips the idle part).
    pub idle: usize,
    /// Where configs/bench's ports (24000…24012) move to.
    pub port_base: u16,
}

/// One transport: `ws` or `wss`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Ws,
    Wss,
}

/// Round trips and server CPU added up over the rounds of one mode and
/// one command.
#[derive(Debug, Clone, Default)]
struct Tally {
    round_trips: u64,
    errors: u64,
    seconds: f64,
    cpu: Duration,
    client_cpu: Duration,
    p50: Vec<Duration>,
    p99: Vec<Duration>,
}

impl Tally {
    fn add(&mut self, report: &LoadReport, window: &WindowStats) {
        self.round_trips += report.round_trips;
        self.errors += report.errors;
        self.seconds += report.elapsed.as_secs_f64();
        self.cpu += window.server_cpu;
        self.client_cpu += window.generator_cpu;
        self.p50.push(report.latency.p50);
        self.p99.push(report.latency.p99);
    }

    fn rate(&self) -> f64 {
        self.round_trips as f64 / self.seconds.max(1e-9)
    }

    /// Server CPU time per round trip, microseconds.
    fn cpu_us(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.round_trips.max(1) as f64
    }

    /// The load generator's CPU time per round trip, microseconds.
    fn client_cpu_us(&self) -> f64 {
        self.client_cpu.as_secs_f64() * 1e6 / self.round_trips.max(1) as f64
    }
}

fn median(values: &[Duration]) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

/// What the run measured.
#[derive(Debug, Default)]
pub struct TlsCost {
    /// (mode, command) → tally.
    loops: Vec<(Mode, i32, Tally)>,
    idle: Vec<(Mode, IdleReport)>,
    notes: Vec<String>,
}

type Failure = Box<dyn std::error::Error>;

impl TlsCost {
    /// Runs the comparison; a part that cannot run is noted, not fatal.
    pub async fn run(opts: &TlsCostOptions) -> Result<TlsCost, String> {
        let (plain_dir, tls_dir, client_tls) =
            prepare(opts).map_err(|e| format!("cannot prepare the configs: {e}"))?;
        let mut cost = TlsCost::default();
        for round in 0..opts.rounds.max(1) {
            for mode in [Mode::Ws, Mode::Wss] {
                let (dir, tls) = match mode {
                    Mode::Ws => (&plain_dir, None),
                    Mode::Wss => (&tls_dir, Some(&client_tls)),
                };
                let last = round + 1 == opts.rounds.max(1);
                if let Err(err) = cost.one(opts, mode, dir, tls, last).await {
                    cost.notes.push(format!("{mode:?} round {round}: not measured: {err}"));
                }
            }
        }
        Ok(cost)
    }

    /// One mode's server: the closed loops, and the idle connections in
    /// the last round.
    async fn one(
        &mut self,
        opts: &TlsCostOptions,
        mode: Mode,
        dir: &Path,
        tls: Option<&Arc<rustls::ClientConfig>>,
        idle: bool,
    ) -> Result<(), Failure> {
        let url = url(mode, opts.port_base);
        let mut cmd = Command::new(&opts.espoir);
        cmd.arg("up").arg(dir);
        let log = opts.workdir.join(format!("logs/{mode:?}.log").to_lowercase());
        let mut procs = ServerProcs::spawn(cmd, &log)?;
        for (command, body) in [(HEARTBEAT, &b"{}"[..]), (ENTER, &br#"{"user_id":10}"#[..])] {
            let body = Bytes::from_static(body);
            wait_serving(&url, tls, command, &body, Duration::from_secs(30)).await?;
            if procs.any_exited() {
                return Err("the server exited".into());
            }
            let spec = LoadSpec {
                url: url.clone(),
                tls: tls.cloned(),
                command,
                body,
                clients: opts.clients,
                warmup: opts.warmup,
                duration: opts.duration,
                timeout: Duration::from_secs(10),
            };
            // CPU time over exactly the measured window, as the scaling
            // mode takes it.
            let connected = connect_all(&spec.url, spec.clients, tls).await?;
            let (from, until) = spec.window_from(Instant::now());
            let window = tokio::spawn(measure_window(procs.pids(), from, until, false));
            let report = drive(connected, &spec, from, until).await?;
            let window = window.await?;
            eprintln!("{mode:?} command {command}: {:.0} rt/s, {} errors", report.rate(), report.errors);
            self.tally(mode, command).add(&report, &window);
        }
        if idle && opts.idle > 0 {
            let spec = IdleSpec {
                url,
                tls: tls.cloned(),
                connections: opts.idle,
                heartbeat_command: HEARTBEAT,
                heartbeat_every: Duration::from_secs(5),
                hold: Duration::from_secs(12),
                sources: loopback_sources(8),
            };
            let report = run_idle(&spec, || procs.sample()).await?;
            eprintln!("{mode:?} idle: {} held, {} B each", report.held, report.per_connection());
            self.idle.push((mode, report));
        }
        procs.stop(Duration::from_secs(5));
        Ok(())
    }

    fn tally(&mut self, mode: Mode, command: i32) -> &mut Tally {
        let i = match self.loops.iter().position(|(m, c, _)| *m == mode && *c == command) {
            Some(i) => i,
            None => {
                self.loops.push((mode, command, Tally::default()));
                self.loops.len() - 1
            }
        };
        &mut self.loops[i].2
    }

    fn get(&self, mode: Mode, command: i32) -> Option<&Tally> {
        self.loops.iter().find(|(m, c, _)| *m == mode && *c == command).map(|(_, _, t)| t)
    }

    /// The results as markdown: ws and wss side by side, with ratios.
    pub fn markdown(&self, command: &str, machine: &str, clients: usize) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "Command: `{command}`  \nMachine: {machine}\n");
        out.push_str("| load (C clients, closed loop) | measure | ws | wss | wss / ws |\n");
        out.push_str("|---|---|---:|---:|---:|\n");
        for (command, label) in [
            (HEARTBEAT, format!("heartbeat answered by the proxy, C={clients}")),
            (ENTER, format!("request to the service (proxy→service), C={clients}")),
        ] {
            let Some((ws, wss)) = self.get(Mode::Ws, command).zip(self.get(Mode::Wss, command)) else {
                continue;
            };
            let rows: [(&str, f64, f64, String, String); 5] = [
                (
                    "round trips/s",
                    ws.rate(),
                    wss.rate(),
                    format!("{:.0}", ws.rate()),
                    format!("{:.0}", wss.rate()),
                ),
                (
                    "server CPU per round trip",
                    ws.cpu_us(),
                    wss.cpu_us(),
                    format!("{:.1} µs", ws.cpu_us()),
                    format!("{:.1} µs", wss.cpu_us()),
                ),
                (
                    "client CPU per round trip (load generator)",
                    ws.client_cpu_us(),
                    wss.client_cpu_us(),
                    format!("{:.1} µs", ws.client_cpu_us()),
                    format!("{:.1} µs", wss.client_cpu_us()),
                ),
                (
                    "p50 (median of rounds)",
                    median(&ws.p50).as_secs_f64(),
                    median(&wss.p50).as_secs_f64(),
                    crate::report::ms(median(&ws.p50)),
                    crate::report::ms(median(&wss.p50)),
                ),
                (
                    "p99 (median of rounds)",
                    median(&ws.p99).as_secs_f64(),
                    median(&wss.p99).as_secs_f64(),
                    crate::report::ms(median(&ws.p99)),
                    crate::report::ms(median(&wss.p99)),
                ),
            ];
            for (measure, a, b, ta, tb) in rows {
                let _ = writeln!(out, "| {label} | {measure} | {ta} | {tb} | {:.2}× |", b / a.max(1e-12));
            }
            let _ = writeln!(out, "| {label} | errors | {} | {} | |", ws.errors, wss.errors);
        }
        let idle = |mode| self.idle.iter().find(|(m, _)| *m == mode).map(|(_, r)| r);
        if let Some((ws, wss)) = idle(Mode::Ws).zip(idle(Mode::Wss)) {
            let kib = |r: &IdleReport| r.per_connection() as f64 / 1024.0;
            let _ = writeln!(
                out,
                "| idle connections that heartbeat every 5 s | server RSS per connection | {:.1} KiB | {:.1} KiB | {:.2}× |",
                kib(ws),
                kib(wss),
                kib(wss) / kib(ws).max(1e-9)
            );
            let _ = writeln!(
                out,
                "| idle connections | held / failed, heartbeats answered/sent | {}/{}, {}/{} | {}/{}, {}/{} | |",
                ws.held,
                ws.failed,
                ws.heartbeats_answered,
                ws.heartbeats_sent,
                wss.held,
                wss.failed,
                wss.heartbeats_answered,
                wss.heartbeats_sent
            );
        }
        if !self.notes.is_empty() {
            out.push('\n');
            for note in &self.notes {
                let _ = writeln!(out, "* {note}");
            }
        }
        out
    }
}

fn url(mode: Mode, port_base: u16) -> String {
    let scheme = match mode {
        Mode::Ws => "ws",
        Mode::Wss => "wss",
    };
    format!("{scheme}://127.0.0.1:{port_base}")
}

/// configs/bench's `file` with its ports moved to `port_base`.
fn moved(opts: &TlsCostOptions, file: &str) -> std::io::Result<String> {
    let mut text = std::fs::read_to_string(opts.configs.join("bench").join(file))?;
    for port in BENCH_PORTS {
        let to = u32::from(opts.port_base) + u32::from(port - BENCH_PORTS[0]);
        let to = u16::try_from(to).map_err(|_| std::io::Error::other("--port-base too high"))?;
        text = text.replace(&port.to_string(), &to.to_string());
    }
    Ok(text)
}

/// Writes configs/bench twice under `workdir`, ports moved: as it is
/// (`bench-ws`) and with a `tls` section on the proxy (`bench-wss`), with
/// a certificate for 127.0.0.1 from a new CA. Returns both folders and a
/// client config trusting the CA.
fn prepare(opts: &TlsCostOptions) -> std::io::Result<(PathBuf, PathBuf, Arc<rustls::ClientConfig>)> {
    let (plain, tls) = (opts.workdir.join("bench-ws"), opts.workdir.join("bench-wss"));
    for dir in [&plain, &tls] {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("service.json5"), moved(opts, "service.json5")?)?;
    }
    let proxy = moved(opts, "proxy.json5")?;
    std::fs::write(plain.join("proxy.json5"), &proxy)?;
    if !proxy.contains("\"websocket\": {") {
        return Err(std::io::Error::other("configs/bench/proxy.json5 has no websocket section"));
    }
    let ca = TestCa::new("espoir-load tls CA");
    let (cert, key) = ca.issue(&["127.0.0.1", "localhost"]).write_to(&tls, "proxy");
    std::fs::write(tls.join("ca.pem"), ca.cert_pem())?;
    let section = format!(
        "\"tls\": {{ \"cert\": {cert:?}, \"key\": {key:?}, \"http\": false }},\n    \"websocket\": {{"
    );
    std::fs::write(tls.join("proxy.json5"), proxy.replacen("\"websocket\": {", &section, 1))?;
    Ok((plain, tls, ca.client_config()))
}

/// Writes `section` into the markdown file at `path`, between this
/// report's markers.
pub fn write_tls_section(path: &Path, section: &str) -> std::io::Result<()> {
    crate::report::write_between(path, BEGIN, END, section)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_copies_of_configs_bench_load_with_their_ports_moved() {
        let work = tempfile::tempdir().unwrap();
        let opts = TlsCostOptions {
            espoir: PathBuf::from("espoir"),
            configs: Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs"),
            workdir: work.path().to_owned(),
            clients: 1,
            duration: Duration::from_secs(1),
            warmup: Duration::ZERO,
            rounds: 1,
            idle: 0,
            port_base: 26400,
        };
        let (plain, tls, _client) = prepare(&opts).unwrap();
        for (dir, with_tls) in [(plain, false), (tls, true)] {
            let configs = espoir::NodeConfig::load_dir(&dir).unwrap();
            let proxy = configs.iter().map(|(_, c)| c).find(|c| c.websocket.is_some()).expect("a proxy");
            assert_eq!(proxy.websocket.as_ref().unwrap().port, 26400);
            assert_eq!(proxy.rpc.port, 26402);
            assert_eq!(proxy.tls.is_some(), with_tls, "{}", dir.display());
            if let Some(tls) = &proxy.tls {
                assert!(tls.cert.is_file() && tls.key.is_file());
                assert!(!tls.http, "the HTTP port stays in clear");
            }
        }
        assert_eq!(url(Mode::Wss, 26400), "wss://127.0.0.1:26400");
    }
}
