//! The scaling mode (`espoir-load scale`): the servers as they are
//! deployed (one process per node), pinned to N cores with N tokio workers
//! each, the load generator pinned to other cores, and the bare echo
//! measured side by side in the same run, for each N.
//!
//! # Layout
//!
//! * `cores`: core lists, the split between servers and generator, pinning.
//! * `deploy`: the scenarios, and starting one as pinned processes.
//! * `table`: the markdown tables.
//!
//! The generator pins itself (`espoir-load` calls [`cores::pin_current_thread`]
//! before it starts its runtime, so every thread it makes inherits the
//! mask); [`run`] pins the servers.

pub mod cores;
mod deploy;
mod table;

use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

pub use cores::Layout;
pub use deploy::{Binaries, Scenario};
pub use table::Measured;

use crate::closed_loop::{LoadReport, LoadSpec, connect_all, drive};
use crate::procs::wait_serving;
use crate::report::{cpu_model, today};
use crate::window::{Syscalls, WindowStats, measure_window};
use deploy::Deployment;

/// Begin marker of the scale section in `docs/benchmarks.md`.
pub const BEGIN: &str = "<!-- scale:begin -->";
/// End marker.
pub const END: &str = "<!-- scale:end -->";

/// The request every scenario answers: obespoir's demo "enter rank" (the
/// echo returns it as it is).
const COMMAND: i32 = 20000;
const BODY: &[u8] = br#"{"user_id":10}"#;

/// How to run the scale mode.
#[derive(Debug, Clone)]
pub struct ScaleOptions {
    /// Binaries, configs and the log folder.
    pub bins: Binaries,
    /// Who gets which cores, and the N to measure.
    pub layout: Layout,
    /// Threads of the load generator's runtime (for the report).
    pub generator_threads: usize,
    /// Closed-loop client counts (C), each measured at every N.
    pub clients: Vec<usize>,
    /// Unmeasured seconds before each measurement.
    pub warmup: Duration,
    /// Measured seconds.
    pub duration: Duration,
    /// Times each (N, C) measures all three scenarios in turn.
    pub rounds: usize,
    /// Count system calls with `perf stat`.
    pub perf: bool,
    /// Nice value of the servers and the generator (`None`: unchanged).
    pub nice: Option<i32>,
}

/// What a scale run measured, and what it could not.
#[derive(Debug, Default)]
pub struct ScaleReport {
    /// Every measurement.
    pub runs: Vec<Measured>,
    /// Processes, their cores and threads; scenarios that did not run.
    pub notes: Vec<String>,
}

/// Measures every N of the layout: starts the three scenarios pinned to N
/// cores, measures echo, direct and hello in turn for each C (and round),
/// and stops them. A scenario that cannot start or run is noted.
pub async fn run(opts: &ScaleOptions) -> ScaleReport {
    let mut out = ScaleReport::default();
    for &n in &opts.layout.counts {
        let serving = start_serving(opts, n, &mut out.notes).await;
        for round in 1..=opts.rounds {
            for &clients in &opts.clients {
                for (scenario, d) in &serving {
                    let what = format!("N = {n} C = {clients} round {round} {}", scenario.key());
                    match measure(opts, *scenario, d, clients).await {
                        Ok((report, window)) => {
                            let m = measured(n, round, *scenario, &report, &window);
                            eprintln!("{what}: {}", m.summary());
                            if let Syscalls::Unavailable(why) = &window.syscalls {
                                let note = format!("syscalls per round trip n/a: {why}");
                                if !out.notes.contains(&note) {
                                    out.notes.push(note);
                                }
                            }
                            out.runs.push(m);
                        }
                        Err(err) => out.notes.push(format!("{what}: not measured: {err}")),
                    }
                    // Let the last connections close before the next scenario.
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
        for (_, d) in serving {
            d.stop();
        }
    }
    out
}

/// Starts every scenario on the first `n` server cores and waits until
/// each serves; notes each process (pid, cores, threads) and each failure.
async fn start_serving(
    opts: &ScaleOptions,
    n: usize,
    notes: &mut Vec<String>,
) -> Vec<(Scenario, Deployment)> {
    let mut running = Vec::new();
    for scenario in Scenario::ALL {
        match Deployment::start(&opts.bins, scenario, opts.layout.servers(n), opts.nice) {
            Ok(d) => running.push((scenario, d)),
            Err(err) => notes.push(format!("N = {n}, {}: not started: {err}", scenario.key())),
        }
    }
    let body = Bytes::from_static(BODY);
    let mut serving = Vec::new();
    for (scenario, mut d) in running {
        let what = format!("N = {n}, {}", scenario.key());
        match wait_serving(&url(scenario), None, COMMAND, &body, Duration::from_secs(30)).await {
            Ok(()) if !d.procs.any_exited() => {
                for line in d.describe() {
                    eprintln!("{what}: {line}");
                    notes.push(format!("{what}: {line}"));
                }
                serving.push((scenario, d));
            }
            Ok(()) => notes.push(format!("{what}: a process exited")),
            Err(err) => notes.push(format!("{what}: never served: {err}")),
        }
    }
    serving
}

fn url(scenario: Scenario) -> String {
    format!("ws://127.0.0.1:{}", scenario.port())
}

/// One closed loop against `scenario`, with the servers' CPU time and
/// system calls taken over exactly the measured window.
async fn measure(
    opts: &ScaleOptions,
    scenario: Scenario,
    deployment: &Deployment,
    clients: usize,
) -> Result<(LoadReport, WindowStats), String> {
    let spec = LoadSpec {
        url: url(scenario),
        tls: None,
        command: COMMAND,
        body: Bytes::from_static(BODY),
        clients,
        warmup: opts.warmup,
        duration: opts.duration,
        timeout: Duration::from_secs(10),
    };
    let connected = connect_all(&spec.url, clients, None).await.map_err(|e| e.to_string())?;
    let (from, until) = spec.window_from(Instant::now());
    let window = tokio::spawn(measure_window(deployment.pids(), from, until, opts.perf));
    let report = drive(connected, &spec, from, until).await.map_err(|e| e.to_string())?;
    let window = window.await.map_err(|e| format!("the measuring task failed: {e}"))?;
    Ok((report, window))
}

fn measured(cores: usize, round: usize, scenario: Scenario, r: &LoadReport, w: &WindowStats) -> Measured {
    let rate = r.rate();
    Measured {
        cores,
        clients: r.clients,
        round,
        scenario,
        rate,
        p50: r.latency.p50,
        p99: r.latency.p99,
        errors: r.errors,
        cpu_per_rt: w.cpu_per_op(rate),
        syscalls_per_rt: w.syscalls_per_op(rate),
        server_cores: w.server_cores(),
        generator_cores: w.generator_cores(),
    }
}

impl ScaleReport {
    /// The section for `docs/benchmarks.md`: how it was run, on what, and
    /// the tables.
    pub fn markdown(&self, opts: &ScaleOptions, command: &str, load_at_start: &str) -> String {
        let l = &opts.layout;
        // The generator is pinned by now: count the cores it was split from.
        let cores = l.pool.len() + l.generator.len();
        let header = format!(
            "Command: `{command}`  \n\
             Machine: {cores} cores ({cpu}); servers on cores {pool} (the first N of them), load generator \
             pinned to cores {gen} with {threads} thread(s); load average {load_at_start} at the start.  \n\
             Date: {date}. Each node runs as its own `espoir node FILE` process, as deployed, pinned with \
             `sched_setaffinity` to the N server cores and running N tokio workers (`TOKIO_WORKER_THREADS=N`); \
             the bare echo (`espoir-load echo`) is one process under the same pinning. {warm:.0} s warm-up, \
             {dur:.0} s measured, message 20000; each round measures echo, direct and hello in turn \
             ({rounds} round(s); the median is shown). Server CPU is user + system time of all the \
             scenario's processes from `/proc/PID/stat`; system calls are `perf stat -e \
             raw_syscalls:sys_enter` on those processes over the same window.\n",
            cpu = cpu_model(),
            pool = cores::format_core_list(&l.pool),
            gen = cores::format_core_list(&l.generator),
            threads = opts.generator_threads,
            date = today(),
            warm = opts.warmup.as_secs_f64(),
            dur = opts.duration.as_secs_f64(),
            rounds = opts.rounds,
        );
        let header = match opts.nice {
            Some(nice) => format!(
                "{header}Servers and generator ran at nice {nice}, so that other work on the machine \
                 took less of their cores.\n"
            ),
            None => header,
        };
        table::render(&self.runs, &header, &self.notes)
    }
}
