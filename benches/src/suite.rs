//! Every scenario side by side in one run: the bare echo server, obespoir's
//! demo cluster and espoir's clusters, under the same load generator, on
//! the same cores, one after the other. Prints a table with ratios and
//! writes it into `docs/benchmarks.md` between markers.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;

use crate::closed_loop::{LoadReport, LoadSpec, run_closed_loop};
use crate::idle::{IdleReport, IdleSpec, loopback_sources, run_idle};
use crate::obespoir::Obespoir;
use crate::procs::{ProcSample, ServerProcs, wait_serving};

const BEGIN: &str = "<!-- load-suite:begin -->";
const END: &str = "<!-- load-suite:end -->";
const ECHO_PORT: u16 = 23900;
const HELLO_URL: &str = "ws://127.0.0.1:20000";
const BENCH_URL: &str = "ws://127.0.0.1:24000";
const SEALED_URL: &str = "ws://127.0.0.1:25000";
const ENTER_RANK: i32 = 20000;
const HEARTBEAT: i32 = 10000;

/// How to run the suite.
#[derive(Debug, Clone)]
pub struct SuiteOptions {
    /// The `espoir` binary (release build).
    pub espoir: PathBuf,
    /// This harness's own binary, re-run as the echo server.
    pub harness: PathBuf,
    /// The repository's `configs/` folder.
    pub configs: PathBuf,
    /// Python of a venv with obEspoir 0.2.4; obespoir is skipped without.
    pub obespoir_python: Option<PathBuf>,
    /// Scratch folder for logs and obespoir's working copy.
    pub workdir: PathBuf,
    /// Measured time per closed-loop scenario.
    pub duration: Duration,
    /// Unmeasured warm-up per scenario.
    pub warmup: Duration,
    /// Connections for the idle scenario.
    pub idle_connections: usize,
    /// Client counts for the scaling scenario.
    pub scaling: Vec<usize>,
}

/// One measured row.
#[derive(Debug, Clone)]
struct Row {
    key: &'static str,
    label: String,
    report: LoadReport,
    server: ProcSample,
    cpu_cores: f64,
}

/// Results of the whole suite.
#[derive(Debug, Default)]
pub struct Suite {
    rows: Vec<Row>,
    idle: Vec<(&'static str, IdleReport)>,
    notes: Vec<String>,
}

type Failure = Box<dyn std::error::Error>;

impl Suite {
    /// Runs every scenario; a scenario that cannot run is noted, not fatal.
    pub async fn run(opts: &SuiteOptions) -> Suite {
        let mut suite = Suite::default();
        let enter = Bytes::from_static(br#"{"user_id":10}"#);
        let beat = Bytes::from_static(b"{}");

        // The physical limit of one hop: bare echo, default settings.
        let echo_cmd = {
            let mut c = Command::new(&opts.harness);
            c.args(["echo", "--port", &ECHO_PORT.to_string()]);
            c
        };
        let echo_url = format!("ws://127.0.0.1:{ECHO_PORT}");
        let echo = suite
            .scenario(
                opts,
                "echo",
                echo_cmd,
                &echo_url,
                ENTER_RANK,
                &enter,
                &[32],
                "bare tokio-tungstenite echo, 1 hop",
            )
            .await;
        if let Some(procs) = echo {
            suite.idle_run(opts, "echo", &procs, &echo_url, ENTER_RANK).await;
            procs.stop(Duration::from_secs(3));
        }

        // obespoir's demo: proxy → route → service, message 20000.
        match &opts.obespoir_python {
            Some(python) => {
                let work = opts.workdir.join("obespoir");
                match Obespoir::start(python, &work) {
                    Ok(mut cluster) => {
                        suite
                            .measure(
                                opts,
                                "obespoir",
                                cluster.procs(),
                                HELLO_URL,
                                ENTER_RANK,
                                &enter,
                                32,
                                "obespoir 0.2.4 demo, proxy→route→service",
                            )
                            .await;
                        cluster.stop();
                    }
                    Err(err) => suite.notes.push(format!("obespoir did not start: {err}")),
                }
            }
            None => suite.notes.push("obespoir not measured: no python with obEspoir 0.2.4 given".into()),
        }

        // (a) the same topology on espoir.
        let hello = suite
            .espoir_scenario(
                opts,
                "hello",
                "hello",
                HELLO_URL,
                ENTER_RANK,
                &enter,
                &[32],
                "(a) espoir configs/hello, proxy→route→service",
            )
            .await;
        drop(hello);

        // (b) direct proxy→service, (f) scaling, (c) proxy-local, (e) idle.
        let bench = suite
            .espoir_scenario(
                opts,
                "direct",
                "bench",
                BENCH_URL,
                ENTER_RANK,
                &enter,
                &opts.scaling,
                "(b, f) espoir configs/bench, proxy→service",
            )
            .await;
        if let Some(mut procs) = bench {
            suite
                .measure(
                    opts,
                    "local",
                    &mut procs,
                    BENCH_URL,
                    HEARTBEAT,
                    &beat,
                    32,
                    "(c) espoir proxy-local heartbeat",
                )
                .await;
            suite.idle_run(opts, "espoir", &procs, BENCH_URL, HEARTBEAT).await;
            procs.stop(Duration::from_secs(5));
        }

        // (d) the direct topology with AES-256-GCM links.
        let sealed = suite
            .espoir_scenario(
                opts,
                "sealed",
                "bench-sealed",
                SEALED_URL,
                ENTER_RANK,
                &enter,
                &[32],
                "(d) espoir configs/bench-sealed, encrypted link",
            )
            .await;
        drop(sealed);
        suite
    }

    #[allow(clippy::too_many_arguments)]
    async fn espoir_scenario(
        &mut self,
        opts: &SuiteOptions,
        key: &'static str,
        folder: &str,
        url: &str,
        command: i32,
        body: &Bytes,
        clients: &[usize],
        label: &str,
    ) -> Option<ServerProcs> {
        let mut cmd = Command::new(&opts.espoir);
        cmd.arg("up").arg(opts.configs.join(folder));
        self.scenario(opts, key, cmd, url, command, body, clients, label).await
    }

    /// Starts a server, waits until it serves, measures each client count.
    #[allow(clippy::too_many_arguments)]
    async fn scenario(
        &mut self,
        opts: &SuiteOptions,
        key: &'static str,
        cmd: Command,
        url: &str,
        command: i32,
        body: &Bytes,
        clients: &[usize],
        label: &str,
    ) -> Option<ServerProcs> {
        let log = opts.workdir.join(format!("logs/{key}.log"));
        let mut procs = match ServerProcs::spawn(cmd, &log) {
            Ok(p) => p,
            Err(err) => {
                self.notes.push(format!("{label}: cannot start: {err}"));
                return None;
            }
        };
        for &c in clients {
            self.measure(opts, key, &mut procs, url, command, body, c, label).await;
        }
        Some(procs)
    }

    #[allow(clippy::too_many_arguments)]
    async fn measure(
        &mut self,
        opts: &SuiteOptions,
        key: &'static str,
        procs: &mut ServerProcs,
        url: &str,
        command: i32,
        body: &Bytes,
        clients: usize,
        label: &str,
    ) {
        match self.try_measure(opts, procs, url, command, body, clients).await {
            Ok((report, server, cpu_cores)) => {
                eprintln!(
                    "{label} C={clients}: {:.0} rt/s p50 {:?} p99 {:?} errors {}",
                    report.rate(),
                    report.latency.p50,
                    report.latency.p99,
                    report.errors
                );
                self.rows.push(Row { key, label: label.to_owned(), report, server, cpu_cores });
            }
            Err(err) => self.notes.push(format!("{label} C={clients}: not measured: {err}")),
        }
    }

    async fn try_measure(
        &mut self,
        opts: &SuiteOptions,
        procs: &mut ServerProcs,
        url: &str,
        command: i32,
        body: &Bytes,
        clients: usize,
    ) -> Result<(LoadReport, ProcSample, f64), Failure> {
        wait_serving(url, None, command, body, Duration::from_secs(30)).await?;
        if procs.any_exited() {
            return Err("a server process exited".into());
        }
        let spec = LoadSpec {
            url: url.to_owned(),
            tls: None,
            command,
            body: body.clone(),
            clients,
            warmup: opts.warmup,
            duration: opts.duration,
            timeout: Duration::from_secs(10),
        };
        let before = procs.sample();
        let started = std::time::Instant::now();
        let report = run_closed_loop(&spec).await?;
        let wall = started.elapsed();
        let after = procs.sample();
        let cores = (after.cpu.saturating_sub(before.cpu)).as_secs_f64() / wall.as_secs_f64();
        Ok((report, after, cores))
    }

    async fn idle_run(
        &mut self,
        opts: &SuiteOptions,
        key: &'static str,
        procs: &ServerProcs,
        url: &str,
        command: i32,
    ) {
        if opts.idle_connections == 0 {
            return;
        }
        let spec = IdleSpec {
            url: url.to_owned(),
            tls: None,
            connections: opts.idle_connections,
            heartbeat_command: command,
            heartbeat_every: Duration::from_secs(5),
            hold: Duration::from_secs(12),
            sources: loopback_sources(8),
        };
        match run_idle(&spec, || procs.sample()).await {
            Ok(report) => {
                eprintln!("idle {key}: {} held, {} B each", report.held, report.per_connection());
                self.idle.push((key, report));
            }
            Err(err) => self.notes.push(format!("idle {key}: not measured: {err}")),
        }
    }

    fn row(&self, key: &str, clients: usize) -> Option<&Row> {
        self.rows.iter().find(|r| r.key == key && r.report.clients == clients)
    }

    /// The results as markdown: the table, the ratios against the targets,
    /// and anything that could not run.
    pub fn markdown(&self, command: &str, machine: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "Command: `{command}`  \nMachine: {machine}\n");
        out.push_str("| scenario | C | round trips/s | p50 | p99 | max | errors | server CPU (cores) | server peak RSS |\n");
        out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for r in &self.rows {
            let l = r.report.latency;
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} | {} | {} | {} | {} | {:.2} | {:.1} MiB |",
                r.label,
                r.report.clients,
                r.report.rate(),
                ms(l.p50),
                ms(l.p99),
                ms(l.max),
                r.report.errors,
                r.cpu_cores,
                r.server.peak_rss as f64 / (1024.0 * 1024.0)
            );
        }
        if !self.idle.is_empty() {
            out.push_str("\n| idle connections | held | failed | heartbeats answered/sent | server RSS per connection |\n");
            out.push_str("|---|---:|---:|---:|---:|\n");
            for (key, r) in &self.idle {
                let _ = writeln!(
                    out,
                    "| {key} | {} | {} | {}/{} | {:.1} KiB |",
                    r.held,
                    r.failed,
                    r.heartbeats_answered,
                    r.heartbeats_sent,
                    r.per_connection() as f64 / 1024.0
                );
            }
        }
        out.push_str("\n| target | measured | met |\n|---|---|---|\n");
        for line in self.targets() {
            out.push_str(&line);
        }
        if !self.notes.is_empty() {
            out.push('\n');
            for note in &self.notes {
                let _ = writeln!(out, "* {note}");
            }
        }
        out
    }

    fn targets(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let mut target = |what: &str, measured: Option<(String, bool)>| {
            let (text, met) = measured.unwrap_or_else(|| ("not measured".into(), false));
            lines.push(format!("| {what} | {text} | {} |\n", if met { "yes" } else { "**no**" }));
        };
        let (hello, obespoir) = (self.row("hello", 32), self.row("obespoir", 32));
        target(
            "(a) ≥ 10× obespoir's round trips/s at C=32",
            hello.zip(obespoir).map(|(h, o)| ratio(h.report.rate(), o.report.rate(), 10.0, true)),
        );
        target(
            "(a) p99 ≤ 1/5 of obespoir's at C=32",
            hello.zip(obespoir).map(|(h, o)| {
                let r = secs(h.report.latency.p99) / secs(o.report.latency.p99).max(1e-9);
                (format!("{r:.3}× obespoir's p99"), r <= 0.2)
            }),
        );
        let (direct, echo) = (self.row("direct", 32), self.row("echo", 32));
        target(
            "(b) ≥ 0.55× bare echo's round trips/s at C=32",
            direct.zip(echo).map(|(d, e)| ratio(d.report.rate(), e.report.rate(), 0.55, true)),
        );
        target(
            "(b) p99 ≤ 2 ms at C=32",
            direct.map(|d| (ms(d.report.latency.p99), d.report.latency.p99 <= Duration::from_millis(2))),
        );
        target(
            "(f) C=1024 ≥ 85% of C=32, no errors",
            self.row("direct", 1024).zip(direct).map(|(big, d)| {
                let (text, met) = ratio(big.report.rate(), d.report.rate(), 0.85, true);
                (format!("{text}, {} errors", big.report.errors), met && big.report.errors == 0)
            }),
        );
        target(
            "(d) encryption costs ≤ 20% of (b)'s throughput",
            self.row("sealed", 32)
                .zip(direct)
                .map(|(s, d)| ratio(s.report.rate(), d.report.rate(), 0.8, true)),
        );
        let idle = self.idle.iter().find(|(k, _)| *k == "espoir").map(|(_, r)| r);
        target(
            "(e) 19,000 idle connections at ≤ 8 KiB each, heartbeats kept",
            idle.map(|r| {
                let each = r.per_connection() as f64 / 1024.0;
                let kept = r.heartbeats_answered == r.heartbeats_sent && r.failed == 0;
                (
                    format!(
                        "{} held at {each:.1} KiB each, {}/{} heartbeats",
                        r.held, r.heartbeats_answered, r.heartbeats_sent
                    ),
                    r.held >= 19_000 && each <= 8.0 && kept,
                )
            }),
        );
        lines
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn ratio(ours: f64, theirs: f64, want: f64, at_least: bool) -> (String, bool) {
    let r = ours / theirs.max(1e-9);
    (format!("{r:.2}×"), if at_least { r >= want } else { r <= want })
}

/// Replaces the suite's section of `doc` (between the markers), or appends
/// one; the rest of the file is kept as it is.
pub fn splice_section(doc: &str, section: &str) -> String {
    crate::report::splice_between(doc, BEGIN, END, section)
}

/// Writes `section` into the markdown file at `path`.
pub fn write_section(path: &Path, section: &str) -> std::io::Result<()> {
    crate::report::write_between(path, BEGIN, END, section)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_is_replaced_in_place() {
        let doc = format!("# B\n\nintro\n{BEGIN}\nold\n{END}\n\n## after\n");
        let out = splice_section(&doc, "new\n");
        assert_eq!(out, format!("# B\n\nintro\n{BEGIN}\nnew\n{END}\n\n## after\n"));
        let appended = splice_section("# B\n", "x\n");
        assert_eq!(appended, format!("# B\n{BEGIN}\nx\n{END}\n"));
    }

    #[test]
    fn ratios_say_whether_the_target_is_met() {
        assert_eq!(ratio(11.0, 1.0, 10.0, true), ("11.00×".into(), true));
        assert_eq!(ratio(5.0, 1.0, 10.0, true), ("5.00×".into(), false));
    }
}
