//! The servers of one scenario, started as they are deployed: each node of
//! a config folder as its own `espoir node FILE` process, every process
//! pinned to the run's server cores with one tokio worker per core.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use espoir::NodeConfig;

use super::cores::{cores_of, spawn_placed};
use crate::procs::{ServerProcs, check_free, config_ports, nice_of, threads_named};

/// tokio names its worker (and blocking) threads `tokio-rt-worker`
/// (`tokio-runtime-worker` before 1.50); both start so.
const TOKIO_THREAD: &str = "tokio-r";

/// What a scale run measures, side by side at every core count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// The bare tokio-tungstenite echo server: one websocket hop, no work.
    Echo,
    /// `configs/bench`: proxy → service.
    Direct,
    /// `configs/hello`: proxy → route → service.
    Hello,
}

impl Scenario {
    /// Every scenario, in the order each round measures them.
    pub const ALL: [Scenario; 3] = [Scenario::Echo, Scenario::Direct, Scenario::Hello];

    /// Row label.
    pub fn label(self) -> &'static str {
        match self {
            Scenario::Echo => "bare echo",
            Scenario::Direct => "Espoir direct (proxy → service, `configs/bench`)",
            Scenario::Hello => "Espoir hello (proxy → route → service, `configs/hello`)",
        }
    }

    /// Short name for logs.
    pub fn key(self) -> &'static str {
        match self {
            Scenario::Echo => "echo",
            Scenario::Direct => "direct",
            Scenario::Hello => "hello",
        }
    }

    /// The websocket port the clients connect to (fixed by the configs).
    pub fn port(self) -> u16 {
        match self {
            Scenario::Echo => 23900,
            Scenario::Direct => 24000,
            Scenario::Hello => 20000,
        }
    }

    fn folder(self) -> Option<&'static str> {
        match self {
            Scenario::Echo => None,
            Scenario::Direct => Some("bench"),
            Scenario::Hello => Some("hello"),
        }
    }
}

/// Where the binaries and configs are.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// The `espoir` binary (release build).
    pub espoir: PathBuf,
    /// This harness, re-run as `espoir-load echo`.
    pub harness: PathBuf,
    /// The repository's `configs/`.
    pub configs: PathBuf,
    /// Where the servers' output goes.
    pub logs: PathBuf,
}

/// One scenario's running processes.
#[derive(Debug)]
pub(crate) struct Deployment {
    /// The processes (stopped with SIGTERM when dropped).
    pub(crate) procs: ServerProcs,
    /// Name, pid and log file of each process.
    members: Vec<(String, u32, PathBuf)>,
}

impl Deployment {
    /// Starts `scenario`'s servers pinned to `cores` (at nice value `nice`
    /// when given), after checking that
    /// nothing else listens on their ports.
    ///
    /// # Errors
    /// A port already taken, a config that does not load, a failed spawn.
    pub(crate) fn start(
        bins: &Binaries,
        scenario: Scenario,
        cores: &[usize],
        nice: Option<i32>,
    ) -> Result<Deployment, String> {
        let n = cores.len();
        let mut commands: Vec<(String, Command)> = Vec::new();
        match scenario.folder() {
            None => {
                check_free(&[(scenario.port(), "echo".into())])?;
                let mut cmd = Command::new(&bins.harness);
                cmd.args(["echo", "--port", &scenario.port().to_string()]);
                commands.push(("espoir-load echo".into(), cmd));
            }
            Some(folder) => {
                let dir = bins.configs.join(folder);
                let configs = NodeConfig::load_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                check_free(&configs.iter().flat_map(|(_, c)| config_ports(c)).collect::<Vec<_>>())?;
                for (file, _) in configs {
                    let mut cmd = Command::new(&bins.espoir);
                    cmd.arg("node").arg(&file);
                    commands.push((file_name(&file), cmd));
                }
            }
        }
        let mut deployment = Deployment { procs: ServerProcs::empty(), members: Vec::new() };
        for (name, cmd) in &mut commands {
            // tokio sizes its pool from the affinity mask already; the
            // variable makes N workers explicit whatever tokio's rule.
            cmd.env("TOKIO_WORKER_THREADS", n.to_string());
            let file = name.replace(' ', "-");
            let log = bins.logs.join(format!("scale-n{n}-{}-{file}.log", scenario.key()));
            // Each run of a scenario starts a fresh log.
            let _ = std::fs::remove_file(&log);
            let pid = deployment
                .procs
                .add_with(cmd, &log, |c| spawn_placed(Some(cores), nice, c))
                .map_err(|e| format!("cannot start {name}: {e}"))?;
            deployment.members.push((name.clone(), pid, log));
        }
        Ok(deployment)
    }

    /// One line per process: what it runs, its pid, the cores the kernel
    /// says it may use, its tokio threads (workers, and blocking threads
    /// if any started) and any lane count its log mentions. Call it once
    /// the servers serve, so their pools have started.
    pub(crate) fn describe(&self) -> Vec<String> {
        self.members
            .iter()
            .map(|(name, pid, log)| {
                let cores = cores_of(*pid).unwrap_or_else(|| "?".into());
                let nice = nice_of(*pid).map_or_else(|| "?".into(), |n| n.to_string());
                let threads = threads_named(*pid, TOKIO_THREAD);
                let mut line =
                    format!("{name}: pid {pid}, cores {cores}, nice {nice}, {threads} tokio threads");
                let text = std::fs::read_to_string(log).unwrap_or_default();
                if let Some(lanes) = lanes_in_log(&text) {
                    line.push_str(&format!(", log: {}", lanes.trim()));
                }
                line
            })
            .collect()
    }

    /// Process ids.
    pub(crate) fn pids(&self) -> Vec<u32> {
        self.procs.pids()
    }

    /// SIGTERM, then SIGKILL after a few seconds.
    pub(crate) fn stop(self) {
        self.procs.stop(Duration::from_secs(5));
    }
}

/// The lane count a node's log reports, if it reports one (the framework
/// is getting several RPC links per node pair; the harness only shows it).
pub(crate) fn lanes_in_log(log: &str) -> Option<&str> {
    log.lines().find(|l| l.contains("lanes"))
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_are_found_when_logged() {
        assert_eq!(lanes_in_log("a\nlink up lanes=4 peer=x\n"), Some("link up lanes=4 peer=x"));
        assert_eq!(lanes_in_log("nothing here"), None);
    }
}
