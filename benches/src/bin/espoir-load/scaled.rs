//! `espoir-load scale` and `espoir-load bets`: the servers as separate
//! processes, optionally pinned, with the load generator pinned apart.
//! Both pin this process before its runtime starts, so every generator
//! thread inherits the mask.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use espoir_benches::report::{cpu_model, load_average, ms, thousands, today, write_between};
use espoir_benches::scale::cores::{
    allowed_cores, format_core_list, parse_core_list, pin_current_thread, renice_current_thread,
};
use espoir_benches::scale::{self, Binaries, Layout, ScaleOptions};
use espoir_benches::{BetsOptions, bets};

use crate::{block_on, fail, repo_root, sibling_espoir};

/// What `scale` and `bets` both do to the processes they measure.
#[derive(clap::Args, Debug)]
pub(crate) struct ServerFlags {
    /// Do not count system calls with `perf stat`.
    #[arg(long)]
    no_perf: bool,
    /// Run the servers and the generator at this nice value (say -5):
    /// on a machine shared with other work, a negative value keeps that
    /// work from taking their cores. Needs root or CAP_SYS_NICE.
    #[arg(long, allow_hyphen_values = true)]
    nice: Option<i32>,
}

impl ServerFlags {
    /// Renices this (the generator's) thread, before its runtime starts,
    /// when `--nice` asks.
    fn renice_generator(&self) -> Result<(), String> {
        match self.nice {
            Some(nice) => renice_current_thread(nice).map_err(|err| format!("cannot set nice {nice}: {err}")),
            None => Ok(()),
        }
    }
}

/// `espoir-load scale`.
#[derive(clap::Args, Debug)]
pub(crate) struct ScaleArgs {
    /// The `espoir` binary (default: next to this one).
    #[arg(long)]
    espoir: Option<PathBuf>,
    /// The configs folder holding `bench/` and `hello/` (default: the
    /// repository's).
    #[arg(long)]
    configs: Option<PathBuf>,
    /// Server core counts N (default: the powers of two that fit beside
    /// the generator's cores).
    #[arg(long, value_delimiter = ',')]
    cores: Option<Vec<usize>>,
    /// The generator's cores, as `taskset -c` writes them (default: the
    /// upper half of this process's cores, at least one).
    #[arg(long)]
    generator_cores: Option<String>,
    /// The generator's runtime threads (default: one per generator core).
    #[arg(long)]
    generator_threads: Option<usize>,
    /// Closed-loop client counts C, each measured at every N.
    #[arg(short = 'c', long, value_delimiter = ',', default_value = "256")]
    clients: Vec<usize>,
    /// Measured seconds per scenario.
    #[arg(long, default_value_t = 8.0)]
    duration: f64,
    /// Warm-up seconds per scenario.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Rounds of echo, direct, hello at each (N, C).
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    #[command(flatten)]
    servers: ServerFlags,
    /// Markdown file to write the tables into (between scale markers).
    #[arg(long)]
    write: Option<PathBuf>,
}

/// `espoir-load bets`.
#[derive(clap::Args, Debug)]
pub(crate) struct BetsArgs {
    /// The betting cluster's config folder (default: the repository's
    /// `configs/local`).
    #[arg(long)]
    cluster: Option<PathBuf>,
    /// The `espoir` binary (default: next to this one).
    #[arg(long)]
    espoir: Option<PathBuf>,
    /// Clients, each logged in as its own user.
    #[arg(short = 'c', long, default_value_t = 256)]
    clients: usize,
    /// Bets each client keeps in flight (1: a closed loop).
    #[arg(long, default_value_t = 1)]
    window: usize,
    /// Measured seconds.
    #[arg(long, default_value_t = 8.0)]
    duration: f64,
    /// Warm-up seconds.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Pin `espoir up` to these cores (default: not pinned).
    #[arg(long)]
    server_cores: Option<String>,
    /// Pin the generator to these cores (default: not pinned).
    #[arg(long)]
    generator_cores: Option<String>,
    #[command(flatten)]
    servers: ServerFlags,
    /// Markdown file to write the result into (between bets markers).
    #[arg(long)]
    write: Option<PathBuf>,
}

const BETS_BEGIN: &str = "<!-- bets:begin -->";
const BETS_END: &str = "<!-- bets:end -->";

/// The command line as typed, for the report.
fn typed_command() -> String {
    let args: Vec<String> = std::env::args().collect();
    format!("cargo build --release -p espoir-nodes -p espoir-benches && {}", args.join(" "))
}

pub(crate) fn scale(args: ScaleArgs) -> ExitCode {
    let allowed = match allowed_cores() {
        Ok(c) => c,
        Err(err) => return fail(&format!("cannot read this process's cores: {err}")),
    };
    let generator = match args.generator_cores.as_deref().map(parse_core_list).transpose() {
        Ok(g) => g,
        Err(err) => return fail(&format!("--generator-cores: {err}")),
    };
    let layout = match Layout::plan(&allowed, generator.as_deref(), args.cores.as_deref()) {
        Ok(l) => l,
        Err(err) => return fail(&err),
    };
    if let Err(err) = pin_current_thread(&layout.generator) {
        return fail(&format!("cannot pin the generator to {}: {err}", format_core_list(&layout.generator)));
    }
    if let Err(err) = args.servers.renice_generator() {
        return fail(&err);
    }
    let threads = args.generator_threads.unwrap_or(layout.generator.len()).max(1);
    eprintln!(
        "scale: servers on {} (N = {:?}), generator on {} with {threads} thread(s)",
        format_core_list(&layout.pool),
        layout.counts,
        format_core_list(&layout.generator)
    );
    let load = load_average();
    block_on(threads, async move {
        let root = repo_root();
        let opts = ScaleOptions {
            bins: Binaries {
                espoir: args.espoir.unwrap_or_else(sibling_espoir),
                harness: std::env::current_exe().map_err(|e| e.to_string())?,
                configs: args.configs.unwrap_or_else(|| root.join("configs")),
                logs: root.join("target/load-scale"),
            },
            layout,
            generator_threads: threads,
            clients: args.clients,
            warmup: Duration::from_secs_f64(args.warmup),
            duration: Duration::from_secs_f64(args.duration),
            rounds: args.rounds.max(1),
            perf: !args.servers.no_perf,
            nice: args.servers.nice,
        };
        let report = scale::run(&opts).await;
        let section = report.markdown(&opts, &typed_command(), &load);
        println!("{section}");
        if let Some(path) = args.write {
            write_between(&path, scale::BEGIN, scale::END, &section)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        if report.runs.is_empty() { Err("nothing was measured".into()) } else { Ok(()) }
    })
}

pub(crate) fn bets(args: BetsArgs, threads: usize) -> ExitCode {
    let cores = |text: &Option<String>, what: &str| {
        text.as_deref().map(parse_core_list).transpose().map_err(|e| format!("--{what}: {e}"))
    };
    let (server_cores, generator_cores) =
        match (cores(&args.server_cores, "server-cores"), cores(&args.generator_cores, "generator-cores")) {
            (Ok(s), Ok(g)) => (s, g),
            (Err(e), _) | (_, Err(e)) => return fail(&e),
        };
    // Counted before pinning narrows what this process may use.
    let all = allowed_cores().map_or(0, |c| c.len());
    if let Some(g) = &generator_cores
        && let Err(err) = pin_current_thread(g)
    {
        return fail(&format!("cannot pin the generator to {}: {err}", format_core_list(g)));
    }
    if let Err(err) = args.servers.renice_generator() {
        return fail(&err);
    }
    let load = load_average();
    block_on(threads, async move {
        let root = repo_root();
        let cluster = args.cluster.unwrap_or_else(|| root.join("configs/local"));
        let opts = BetsOptions {
            espoir: args.espoir.unwrap_or_else(sibling_espoir),
            cluster: cluster.clone(),
            workdir: root.join("target/load-bets"),
            clients: args.clients,
            window: args.window.max(1),
            warmup: Duration::from_secs_f64(args.warmup),
            duration: Duration::from_secs_f64(args.duration),
            server_cores: server_cores.clone(),
            perf: !args.servers.no_perf,
            nice: args.servers.nice,
        };
        let r = bets::run(&opts).await?;
        let syscalls = r.server.syscalls_per_op(r.rate()).map_or_else(|| "n/a".into(), |s| format!("{s:.1}"));
        let niced =
            args.servers.nice.map_or_else(String::new, |n| format!("; server and generator at nice {n}"));
        let pinning = match (&server_cores, &generator_cores) {
            (None, None) => "nothing pinned: clients and servers share every core".to_owned(),
            (s, g) => format!(
                "server on cores {}, generator on cores {}",
                s.as_deref().map_or("(any)".into(), format_core_list),
                g.as_deref().map_or("(any)".into(), format_core_list)
            ),
        };
        let section = format!(
            "Command: `{command}`  \n\
             Machine: {all} cores ({cpu}); {pinning}{niced}; {threads} generator thread(s); load average {load} \
             at the start.  \nDate: {date}. `espoir up {dir}` as its own process (an adapted copy: per-client \
             limits lifted, store emptied), {clients} clients logged in ({logins:.1} s), each keeping {window} \
             bet(s) in flight; {warm:.0} s warm-up, {dur:.0} s measured.\n\n\
             | bets/s acknowledged | p50 | p99 | refused | errors | server CPU per bet | syscalls per bet | server cores busy | generator cores busy |\n\
             |---:|---:|---:|---:|---:|---:|---:|---:|---:|\n\
             | {rate} | {p50} | {p99} | {refused} | {errors} | {cpu_us:.1} µs | {syscalls} | {busy:.2} | {gen:.2} |\n",
            command = typed_command(),
            cpu = cpu_model(),
            date = today(),
            dir = cluster.strip_prefix(&root).unwrap_or(&cluster).display(),
            clients = r.clients,
            logins = r.logins.as_secs_f64(),
            window = r.window,
            warm = opts.warmup.as_secs_f64(),
            dur = opts.duration.as_secs_f64(),
            rate = thousands(r.rate()),
            p50 = ms(r.latency.p50),
            p99 = ms(r.latency.p99),
            refused = r.refused,
            errors = r.errors,
            cpu_us = r.server.cpu_per_op(r.rate()).as_secs_f64() * 1e6,
            busy = r.server.server_cores(),
            gen = r.server.generator_cores(),
        );
        println!("{section}");
        if let espoir_benches::Syscalls::Unavailable(why) = &r.server.syscalls {
            println!("syscalls n/a: {why}");
        }
        if let Some(path) = args.write {
            write_between(&path, BETS_BEGIN, BETS_END, &section)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        Ok(())
    })
}
