//! Server processes under test: started as children, sampled from `/proc`
//! for CPU time and resident memory, stopped with SIGTERM.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use espoir::{ClientFrame, DEFAULT_MAX_CLIENT_FRAME, NodeConfig};
use tokio::time::{Instant, sleep, timeout};

use crate::client::{Client, ClientError, is_error_reply};

/// Linux reports CPU time in USER_HZ ticks, fixed at 100 by the kernel ABI.
const TICKS_PER_SECOND: u64 = 100;

/// CPU time and memory of a set of processes, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcSample {
    /// User plus system CPU time.
    pub cpu: Duration,
    /// Resident memory now, bytes.
    pub rss: u64,
    /// Peak resident memory, bytes.
    pub peak_rss: u64,
}

/// Reads one process's sample; `None` if it has gone.
pub(crate) fn sample_pid(pid: u32) -> Option<ProcSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_sample(&stat, &status)
}

fn parse_sample(stat: &str, status: &str) -> Option<ProcSample> {
    // The command name (field 2) may hold spaces and parentheses; the
    // fields after its closing parenthesis start at field 3 (state).
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let kib = |key: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(key))?;
        line[key.len()..].trim().trim_end_matches("kB").trim().parse().ok()
    };
    Some(ProcSample {
        cpu: Duration::from_millis((utime + stime) * 1000 / TICKS_PER_SECOND),
        rss: kib("VmRSS:")? * 1024,
        peak_rss: kib("VmHWM:")? * 1024,
    })
}

/// The nice value of process `pid` (its main thread), from `/proc`.
pub(crate) fn nice_of(pid: u32) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    nice_field(&stat)
}

fn nice_field(stat: &str) -> Option<i64> {
    // Field 19; the fields after the command name's `)` start at field 3.
    stat[stat.rfind(')')? + 1..].split_whitespace().nth(16)?.parse().ok()
}

/// How many threads of process `pid` have a name starting with `prefix`
/// (Linux keeps the first 15 bytes of a thread's name).
pub fn threads_named(pid: u32, prefix: &str) -> usize {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return 0 };
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
        .filter(|name| name.starts_with(prefix))
        .count()
}

/// The ports a node listens on, each with what it is for.
pub(crate) fn config_ports(c: &NodeConfig) -> Vec<(u16, String)> {
    let mut out = vec![(c.rpc.port, format!("{} rpc", c.name))];
    if let Some(ws) = c.websocket.as_ref().filter(|w| w.port != 0) {
        out.push((ws.port, format!("{} websocket", c.name)));
    }
    if let Some(http) = &c.http {
        out.push((http.port, format!("{} http", c.name)));
    }
    out
}

/// Fails when any of `ports` is already listened on: a server left over
/// from another run would be measured in place of ours.
pub(crate) fn check_free(ports: &[(u16, String)]) -> Result<(), String> {
    for (port, what) in ports {
        if let Err(err) = TcpListener::bind(("127.0.0.1", *port)) {
            return Err(format!("port {port} ({what}) is taken ({err}): stop whatever listens there first"));
        }
    }
    Ok(())
}

/// Child processes serving one scenario.
#[derive(Debug)]
pub struct ServerProcs {
    children: Vec<Child>,
}

impl ServerProcs {
    /// Starts `command` with its output appended to `log`.
    pub fn spawn(mut command: Command, log: &Path) -> std::io::Result<ServerProcs> {
        let mut procs = ServerProcs { children: Vec::new() };
        procs.add(&mut command, log)?;
        Ok(procs)
    }

    /// No process yet; [`ServerProcs::add_with`] starts them.
    pub fn empty() -> ServerProcs {
        ServerProcs { children: Vec::new() }
    }

    /// Starts one more process of the same scenario.
    pub fn add(&mut self, command: &mut Command, log: &Path) -> std::io::Result<()> {
        self.add_with(command, log, Command::spawn).map(|_pid| ())
    }

    /// Starts one more process through `spawn` (which may, say, pin it to
    /// cores), with its output appended to `log`; returns its id.
    pub fn add_with(
        &mut self,
        command: &mut Command,
        log: &Path,
        spawn: impl FnOnce(&mut Command) -> std::io::Result<Child>,
    ) -> std::io::Result<u32> {
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let out = std::fs::OpenOptions::new().create(true).append(true).open(log)?;
        let child = spawn(command.stdin(Stdio::null()).stdout(out.try_clone()?).stderr(out))?;
        let pid = child.id();
        self.children.push(child);
        Ok(pid)
    }

    /// Process ids.
    pub fn pids(&self) -> Vec<u32> {
        self.children.iter().map(Child::id).collect()
    }

    /// Summed sample of every process still running.
    pub fn sample(&self) -> ProcSample {
        ServerProcs::sample_pids(&self.pids())
    }

    /// Summed sample of any processes, by id (gone ones count nothing).
    pub fn sample_pids(pids: &[u32]) -> ProcSample {
        pids.iter().filter_map(|&pid| sample_pid(pid)).fold(ProcSample::default(), |a, s| ProcSample {
            cpu: a.cpu + s.cpu,
            rss: a.rss + s.rss,
            peak_rss: a.peak_rss + s.peak_rss,
        })
    }

    /// Whether any process has exited already (a failed start).
    pub fn any_exited(&mut self) -> bool {
        self.children.iter_mut().any(|c| matches!(c.try_wait(), Ok(Some(_))))
    }

    /// SIGKILL every process at once, as a crash would (no drain, no
    /// goodbye to peers), and reap them.
    pub fn kill(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.children.clear();
    }

    /// SIGTERM, then SIGKILL for whatever is left after `grace`.
    pub fn stop(mut self, grace: Duration) {
        self.stop_all(grace);
    }

    fn stop_all(&mut self, grace: Duration) {
        for child in &self.children {
            // std only sends SIGKILL; `kill` sends the polite signal.
            let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
        }
        let deadline = std::time::Instant::now() + grace;
        for child in &mut self.children {
            while matches!(child.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        self.children.clear();
    }
}

impl Drop for ServerProcs {
    fn drop(&mut self) {
        // A harness that fails half-way must not leave servers on the ports.
        self.stop_all(Duration::from_secs(2));
    }
}

/// Polls until one request on `url` gets a successful reply, or `within`
/// passes; returns the last error then.
pub async fn wait_serving(
    url: &str,
    tls: Option<&std::sync::Arc<rustls::ClientConfig>>,
    command: i32,
    body: &Bytes,
    within: Duration,
) -> Result<(), ClientError> {
    let frame = ClientFrame::new(command, body.clone()).encode(DEFAULT_MAX_CLIENT_FRAME)?;
    let deadline = Instant::now() + within;
    loop {
        let attempt = async {
            let mut client = Client::connect(url, None, tls).await?;
            let reply = client.request(frame.clone(), command).await?;
            client.close().await;
            Ok::<bool, ClientError>(!is_error_reply(&reply.body))
        };
        let last = match timeout(Duration::from_secs(2), attempt).await {
            Ok(Ok(true)) => return Ok(()),
            Ok(Ok(false)) => ClientError::Closed,
            Ok(Err(err)) => err,
            Err(_) => ClientError::Closed,
        };
        if Instant::now() >= deadline {
            return Err(last);
        }
        sleep(Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_are_parsed() {
        let stat = "1234 (my (odd) name) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 4 0 100";
        let status = "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n";
        let s = parse_sample(stat, status).unwrap();
        assert_eq!(s.cpu, Duration::from_secs(3));
        assert_eq!(s.rss, 1024 * 1024);
        assert_eq!(s.peak_rss, 2048 * 1024);
        assert_eq!(parse_sample("garbage", status), None);
    }

    #[test]
    fn the_nice_value_is_read() {
        let stat = "1234 (my (odd) name) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 -5 4 0 100";
        assert_eq!(nice_field(stat), Some(-5));
        assert_eq!(nice_field("garbage"), None);
        assert!(nice_of(std::process::id()).is_some());
    }

    #[test]
    fn a_taken_port_is_reported() {
        let held = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = held.local_addr().unwrap().port();
        let err = check_free(&[(port, "x websocket".into())]).unwrap_err();
        assert!(err.contains(&format!("port {port} (x websocket) is taken")), "{err}");
        drop(held);
        assert!(check_free(&[(port, "x".into())]).is_ok());
    }

    #[test]
    fn the_repository_configs_list_their_ports() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/bench");
        let configs = NodeConfig::load_dir(dir).unwrap();
        let all: Vec<u16> = configs.iter().flat_map(|(_, c)| config_ports(c)).map(|(p, _)| p).collect();
        assert!(all.contains(&24000), "{all:?}");
    }

    #[test]
    fn this_process_can_be_sampled() {
        let s = sample_pid(std::process::id()).unwrap();
        assert!(s.rss > 0 && s.peak_rss >= s.rss);
    }
}
