//! Real clusters for crash tests: config files generated in a temp folder
//! on free 127.0.0.1 ports, one `espoir node FILE` process per node, and
//! SIGKILL for any of them. Every process is killed when the [`Cluster`]
//! drops, even when the test panics; a failing test prints each node's log.
#![allow(dead_code, unreachable_pub)]

pub mod bettors;
pub mod load;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use espoir_testkit::WAIT;
use espoir_testkit::process::{free_ports, log_tail};
use serde_json::{Value, json};
use tokio::time::{Instant, sleep};

/// The cluster's RPC token.
pub const TOKEN: &str = "espoir-crash-test-cluster-token-01";
/// The betting admin token.
pub const ADMIN_TOKEN: &str = "espoir-crash-test-admin-token-0001";
/// Coins every new user starts with.
pub const BONUS: u64 = 1000;
/// Frames per second (and burst) each client may send to a test proxy:
/// 20 times what the fastest loop here sends (see [`proxy`]).
pub const MESSAGE_RATE: u32 = 1000;

/// One node: its config, its log, its process while it runs.
#[derive(Debug)]
pub struct Proc {
    pub name: String,
    config: PathBuf,
    log: PathBuf,
    /// Ports it listens on: up once every one accepts.
    ports: Vec<u16>,
    child: Option<Child>,
}

impl Proc {
    fn spawn(&mut self) {
        let out = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_espoir"))
            .arg("node")
            .arg(&self.config)
            .current_dir(self.config.parent().expect("config folder"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .spawn()
            .expect("spawn espoir");
        self.child = Some(child);
    }

    /// Waits until every port accepts; `Err` with the log's tail if the
    /// process exited first (a port taken by someone else, say).
    async fn wait_up(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + WAIT;
        loop {
            let child = self.child.as_mut().expect("started");
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("{} exited ({status}):\n{}", self.name, self.log_tail()));
            }
            if self.ports.iter().all(|p| TcpStream::connect(("127.0.0.1", *p)).is_ok()) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("{} did not open its ports:\n{}", self.name, self.log_tail()));
            }
            sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL (what `Child::kill` sends on Unix), and reap it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The first port it listens on (a proxy's websocket, a service's HTTP).
    pub fn first_port(&self) -> u16 {
        self.ports[0]
    }

    /// Its `i`-th port, in the order its [`NodeFile`] lists them.
    pub fn port(&self, i: usize) -> u16 {
        self.ports[i]
    }

    pub fn log_tail(&self) -> String {
        log_tail(&self.log, 40)
    }
}

/// The nodes of one test; every process dies with it.
#[derive(Debug)]
pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub procs: Vec<Proc>,
}

/// A node to write: file name stem, config, ports to wait for.
pub struct NodeFile {
    pub name: String,
    pub config: Value,
    pub ports: Vec<u16>,
}

impl Cluster {
    /// Picks `ports` free ports, writes `layout(ports)` and starts every
    /// node; picks again if another process took a port meanwhile.
    pub async fn start(ports: usize, layout: impl Fn(&[u16], &Path) -> Vec<NodeFile>) -> Cluster {
        let mut last = String::new();
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("temp dir");
            let picked = free_ports(ports);
            let mut cluster = Cluster { procs: Vec::new(), dir };
            for node in layout(&picked, cluster.dir.path()) {
                let config = cluster.dir.path().join(format!("{}.json5", node.name));
                std::fs::write(&config, serde_json::to_string_pretty(&node.config).expect("json"))
                    .expect("write config");
                let log = cluster.dir.path().join(format!("{}.log", node.name));
                cluster.procs.push(Proc { name: node.name, config, log, ports: node.ports, child: None });
            }
            cluster.procs.iter_mut().for_each(Proc::spawn);
            let mut failed = None;
            for proc in &mut cluster.procs {
                if let Err(e) = proc.wait_up().await {
                    failed = Some(e);
                    break;
                }
            }
            match failed {
                None => return cluster,
                // Dropping the cluster kills what started; try other ports.
                Some(e) => last = e,
            }
        }
        panic!("the cluster does not start:\n{last}");
    }

    pub fn proc(&mut self, name: &str) -> &mut Proc {
        self.procs.iter_mut().find(|p| p.name == name).unwrap_or_else(|| panic!("no node {name}"))
    }

    /// SIGKILLs node `name`.
    pub fn kill(&mut self, name: &str) {
        self.proc(name).kill();
    }

    /// Starts node `name` again from its file, on its ports (a SIGKILLed
    /// process's listeners are free at once; retried if the OS lags).
    pub async fn restart(&mut self, name: &str) {
        let proc = self.proc(name);
        let mut last = String::new();
        for _ in 0..10 {
            proc.spawn();
            match proc.wait_up().await {
                Ok(()) => return,
                Err(e) => {
                    proc.kill();
                    last = e;
                    sleep(Duration::from_millis(200)).await;
                }
            }
        }
        panic!("{name} does not restart:\n{last}");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for proc in &mut self.procs {
            proc.kill();
        }
        if std::thread::panicking() {
            for proc in &self.procs {
                eprintln!("----- {} log (last lines) -----\n{}", proc.name, proc.log_tail());
            }
        }
    }
}

/// How long a proxy waits for a service's answer (`rpc.call_timeout`).
/// A SIGKILLed node's sockets close at once, so its calls fail fast (503)
/// and no call in these tests should ever wait this out: the tests count
/// timeouts as evidence that a failover took the slow path. Generous, so a
/// slow call on a CPU-starved machine is not mistaken for one.
pub const CALL_TIMEOUT_SECS: u64 = 30;

/// The RPC section every node shares: fast liveness, so a dead peer is
/// noticed and redialed within about a second.
fn rpc(port: u16) -> Value {
    json!({
        "port": port,
        "token": TOKEN,
        "reconnect_time": 0.2,
        "max_backoff": 1,
        "heartbeat_interval": 0.2,
        "dead_after": 1,
        "call_timeout": CALL_TIMEOUT_SECS,
        "route": { "range": { "service": [[100000, 100199]] }, "special": { "service": [999] } },
    })
}

/// A link to the node of `kind` whose RPC port is `port`.
pub fn remote(kind: &str, port: u16) -> Value {
    json!({ "host": "127.0.0.1", "port": port, "token": TOKEN, "type": kind })
}

/// A proxy: clients on `ws`, links to `remotes`.
pub fn proxy(name: &str, ws: u16, rpc_port: u16, remotes: Vec<Value>) -> NodeFile {
    let config = json!({
        "name": name, "type": "proxy", "host": "127.0.0.1", "log_level": "info",
        "remote_ports": remotes,
        "websocket": {
            "port": ws, "timeout": 300, "offline_command": 999, "heartbeat_command": 10000,
            // Every betting command is stateful (configs/local).
            "no_state": { "range": [], "special": [] },
            // The limits this traffic needs, set rather than inherited: the
            // defaults (50 frames/s, burst 100) are what a bet loop paced at
            // one bet per 20 ms plus heartbeats runs right at, and a 429
            // would fail the test. These tests measure failover, not the
            // limits (framework/tests cover those), so the rates are far
            // above anything sent here. Relies on the default
            // `max_connections_per_ip` (256): at most ~35 connections are
            // open at once.
            "limits": { "message_rate": MESSAGE_RATE, "message_burst": MESSAGE_RATE },
        },
        "rpc": rpc(rpc_port),
    });
    NodeFile { name: name.to_owned(), config, ports: vec![ws, rpc_port] }
}

/// `node` with its admin API (`/nodes`) on `http`.
pub fn with_admin(mut node: NodeFile, http: u16) -> NodeFile {
    node.config["http"] = json!({ "port": http, "token": ADMIN_TOKEN });
    node.ports.push(http);
    node
}

/// A route: relays and membership; its admin API (`/nodes`) on `http`.
pub fn route(name: &str, http: u16, rpc_port: u16, remotes: Vec<Value>) -> NodeFile {
    let config = json!({
        "name": name, "type": "route", "host": "127.0.0.1", "log_level": "info",
        "http": { "port": http, "token": ADMIN_TOKEN },
        "remote_ports": remotes, "rpc": rpc(rpc_port),
    });
    NodeFile { name: name.to_owned(), config, ports: vec![http, rpc_port] }
}

/// The names of the members a node's `GET /nodes` lists (docs/operations.md),
/// or `None` while it does not answer.
pub fn members(http: u16) -> Option<Vec<String>> {
    names(&nodes(http)?["members"], "name")
}

/// How many distinct peers of `node_type` the node has a link to (two
/// links to one peer, one each way, count once).
pub fn linked_peers(http: u16, node_type: &str) -> Option<usize> {
    let nodes = nodes(http)?;
    let peers: std::collections::HashSet<&str> = nodes["links"]
        .as_array()?
        .iter()
        .filter(|l| l["type"] == node_type)
        .filter_map(|l| l["peer"].as_str())
        .collect();
    Some(peers.len())
}

fn names(list: &Value, key: &str) -> Option<Vec<String>> {
    let mut names: Vec<String> =
        list.as_array()?.iter().filter_map(|m| m[key].as_str().map(str::to_owned)).collect();
    names.sort();
    Some(names)
}

/// A node's `GET /nodes`, or `None` while it does not answer.
fn nodes(http: u16) -> Option<Value> {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect(("127.0.0.1", http)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET /nodes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let (head, body) = out.split_once("\r\n\r\n")?;
    if !head.starts_with("HTTP/1.1 200") {
        return None;
    }
    serde_json::from_str(body).ok()
}

/// A betting service with its admin API on `http`; `store` is the
/// `app.betting` store entry (kind and its settings).
pub fn betting(name: &str, http: u16, rpc_port: u16, remotes: Vec<Value>, app: Value) -> NodeFile {
    let config = json!({
        "name": name, "type": "service", "host": "127.0.0.1", "log_level": "info",
        "api_path": ["betting.service"],
        "http": { "port": http, "token": ADMIN_TOKEN },
        "rpc": rpc(rpc_port),
        "remote_ports": remotes,
        "app": { "betting": app },
    });
    NodeFile { name: name.to_owned(), config, ports: vec![http, rpc_port] }
}

/// `app.betting` for the MongoDB store at `uri` (every node shares it).
pub fn mongo(uri: &str, worker_id: u16, payout_batch: usize) -> Value {
    json!({
        "store": "mongo",
        "mongo_uri": uri,
        "database": "betting",
        "worker_id": worker_id,
        "signup_bonus": BONUS,
        "payout_batch": payout_batch,
    })
}

/// `app.betting` for an embedded store in `dir`.
pub fn embedded(dir: &Path, file: &str, worker_id: u16, payout_batch: usize) -> Value {
    json!({
        "store": "embedded",
        "path": dir.join(file),
        "worker_id": worker_id,
        "signup_bonus": BONUS,
        "payout_batch": payout_batch,
    })
}

pub fn ws_url(port: u16) -> String {
    format!("ws://127.0.0.1:{port}")
}

pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs()
}

/// Each crash test runs a cluster of processes (some also a mongod) on a
/// 2-core machine. Side by side they starve each other's heartbeats and
/// transactions, and would measure the machine rather than the failover:
/// each test holds this for its whole run.
pub async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    SERIAL.lock().await
}
