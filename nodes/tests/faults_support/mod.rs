//! The multi-host bed of the fault suite: each node on its own host (a
//! network namespace with its own address), MongoDB on another, the test's
//! clients on a seventh; the test process reaches them through relays.
//!
//! Layout, as configs/local-mongo: two proxies, a route and two betting
//! services on one MongoDB. `betting_1` runs behind its link: its process
//! sits on an island that holds every address it talks to, where relays
//! carry each connection to the real hosts and back, so the link's
//! [`Faults`] (delay, jitter, stalls, cuts) act on all its traffic while
//! its address and node id stay the ones everyone knows.
#![allow(dead_code, unreachable_pub)]

pub mod checker;
pub mod load;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use espoir_testkit::net::{Bed, Faults, Host, HostProcess, Relay, accepts, netns_available};
use espoir_testkit::{Mongo, Placement, WAIT};
use serde_json::{Value, json};
use tokio::time::{Instant, sleep};

use crate::crash_support::{ADMIN_TOKEN, BONUS, CALL_TIMEOUT_SECS, MESSAGE_RATE, TOKEN};

/// Ports, the same on every host (each has its own namespace).
pub const RPC: u16 = 7000;
pub const WS: u16 = 7001;
pub const HTTP: u16 = 7002;
pub const MONGO: u16 = 27017;

pub const PROXIES: [&str; 2] = ["proxy_a", "proxy_b"];
pub const SERVICES: [&str; 2] = ["betting_1", "betting_2"];
/// The service whose link has the relays.
pub const RELAYED: &str = "betting_1";

/// A running bed; every process and namespace goes with it.
pub struct FaultCluster {
    // Fields drop in order: processes and relays before the namespaces.
    procs: HashMap<String, HostProcess>,
    relays: Vec<Relay>,
    mongo: Mongo,
    hosts: HashMap<String, Host>,
    /// Where `betting_1`'s process runs.
    island: Host,
    /// Local (127.0.0.1) ports relayed to each proxy's websocket.
    ws: HashMap<String, u16>,
    /// Local ports relayed to each node's HTTP (admin) port.
    http: HashMap<String, u16>,
    /// The faults of `betting_1`'s link to the cluster (its RPC and HTTP
    /// traffic, both ways).
    pub service_link: Arc<Faults>,
    /// The faults of `betting_1`'s link to MongoDB, apart from its cluster
    /// link: a slower store link used to lose every write conflict on a hot
    /// match (docs/benchmarks.md, "recovery times from the fault suite").
    pub store_link: Arc<Faults>,
    dir: tempfile::TempDir,
    bed: Bed,
}

fn addr(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::from((ip, port))
}

impl FaultCluster {
    /// Builds the bed and starts MongoDB and every node; `None` when this
    /// process cannot make namespaces or has no mongod (and CI is not set).
    pub async fn start() -> Option<FaultCluster> {
        if !netns_available() {
            return None;
        }
        let mut bed = Bed::new().expect("a test bed");
        let mut hosts = HashMap::new();
        for name in ["mongo", "route", "proxy_a", "proxy_b", "betting_1", "betting_2", "clients"] {
            hosts.insert(name.to_owned(), bed.add_host(name).expect("a host"));
        }
        let ips: HashMap<String, Ipv4Addr> = hosts.iter().map(|(n, h)| (n.clone(), h.ip())).collect();
        let ip = |name: &str| ips[name];
        let peers =
            [("route", RPC), ("proxy_a", RPC), ("proxy_b", RPC), ("betting_2", RPC), ("mongo", MONGO)];
        let mut inside: Vec<Ipv4Addr> = peers.iter().map(|(p, _)| ip(p)).collect();
        inside.push(ip(RELAYED));
        let island = bed.add_island("betting_1-inside", &inside).expect("an island");

        let service_link = Faults::new();
        let store_link = Faults::new();
        let (front, clients) = (&hosts[RELAYED], &hosts["clients"]);
        let mut relays = Vec::new();
        for port in [RPC, HTTP] {
            let at = addr(front.ip(), port);
            relays.push(
                Relay::start(Some(&front.ns), at, Some(&island.ns), at, service_link.clone()).expect("relay"),
            );
        }
        for (peer, port) in peers {
            let at = addr(ip(peer), port);
            let faults = if peer == "mongo" { &store_link } else { &service_link };
            relays.push(
                Relay::start(Some(&island.ns), at, Some(&front.ns), at, faults.clone()).expect("relay"),
            );
        }
        let local = |relays: &mut Vec<Relay>, to: SocketAddr| {
            let relay =
                Relay::start(None, "127.0.0.1:0".parse().unwrap(), Some(&clients.ns), to, Faults::new())
                    .expect("a local relay");
            let port = relay.addr().port();
            relays.push(relay);
            port
        };
        let mongo_port = local(&mut relays, addr(ip("mongo"), MONGO));
        let placement = Placement {
            prefix: vec!["ip".into(), "netns".into(), "exec".into(), hosts["mongo"].ns.clone()],
            bind: ip("mongo").to_string(),
            port: Some(MONGO),
            reach: Some(format!("127.0.0.1:{mongo_port}")),
        };
        let mongo = Mongo::start_at(placement).await?;
        let mut ws = HashMap::new();
        let mut http = HashMap::new();
        for name in PROXIES {
            ws.insert(name.to_owned(), local(&mut relays, addr(ip(name), WS)));
        }
        for name in ["route", "proxy_a", "proxy_b", "betting_1", "betting_2"] {
            http.insert(name.to_owned(), local(&mut relays, addr(ip(name), HTTP)));
        }

        let dir = tempfile::tempdir().expect("temp dir");
        let mut cluster = FaultCluster {
            procs: HashMap::new(),
            relays,
            mongo,
            hosts,
            island: island.clone(),
            ws,
            http,
            service_link,
            store_link,
            dir,
            bed,
        };
        let uri = cluster.mongo.member_uri();
        let remote = |kind: &str, name: &str| json!({ "host": ip(name).to_string(), "port": RPC, "token": TOKEN, "type": kind });
        let services = || vec![remote("service", "betting_1"), remote("service", "betting_2")];
        let mut configs = Vec::new();
        for name in PROXIES {
            let mut remotes = services();
            remotes.push(remote("route", "route"));
            configs.push((name, proxy(name, ip(name), remotes)));
        }
        let mut remotes = services();
        remotes.extend(PROXIES.map(|p| remote("proxy", p)));
        configs.push(("route", node(ip("route"), "route", "route", remotes)));
        for (worker, name) in SERVICES.iter().enumerate() {
            let mut config = node(ip(name), name, "service", vec![remote("route", "route")]);
            config["api_path"] = json!(["betting.service"]);
            config["app"] = json!({ "betting": {
                "store": "mongo", "mongo_uri": uri, "database": "betting",
                "worker_id": worker + 1, "signup_bonus": BONUS, "payout_batch": 100,
            }});
            configs.push((name, config));
        }
        for (name, config) in configs {
            let file = cluster.dir.path().join(format!("{name}.json5"));
            std::fs::write(&file, serde_json::to_string_pretty(&config).expect("json")).expect("config");
            let log = cluster.dir.path().join(format!("{name}.log"));
            let runs_in = if name == RELAYED { &island } else { &cluster.hosts[name] };
            let args = [std::ffi::OsString::from("node"), file.into_os_string()];
            let proc = HostProcess::spawn(
                name,
                runs_in,
                env!("CARGO_BIN_EXE_espoir"),
                args,
                cluster.dir.path(),
                &log,
            );
            cluster.procs.insert(name.to_owned(), proc);
        }
        for name in ["route", "proxy_a", "proxy_b", "betting_1", "betting_2"] {
            cluster.wait_up(name).await;
        }
        Some(cluster)
    }

    /// SIGKILLs node `name` and starts it again on the same host.
    pub async fn restart(&mut self, name: &str) {
        let proc = self.proc(name);
        proc.kill();
        proc.start();
        self.wait_up(name).await;
    }

    /// Waits until `name` accepts on each of its ports (asked from inside
    /// its own namespace, past any relay).
    async fn wait_up(&mut self, name: &str) {
        let runs_in = if name == RELAYED { self.island.clone() } else { self.hosts[name].clone() };
        let ports: &[u16] = if name.starts_with("proxy") { &[RPC, WS, HTTP] } else { &[RPC, HTTP] };
        let runs_in = &runs_in;
        let ip = self.hosts[name].ip();
        let deadline = Instant::now() + WAIT;
        loop {
            if let Err(e) = self.procs.get_mut(name).expect("a node").check_alive() {
                panic!("{e}");
            }
            let mut up = true;
            for port in ports {
                up &= accepts(runs_in, addr(ip, *port)).await;
            }
            if up {
                return;
            }
            assert!(Instant::now() < deadline, "{name} did not open its ports");
            sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// The host named `name`.
    pub fn host(&self, name: &str) -> &Host {
        &self.hosts[name]
    }

    /// The bed (to set links down).
    pub fn bed(&self) -> &Bed {
        &self.bed
    }

    /// The process of node `name`.
    pub fn proc(&mut self, name: &str) -> &mut HostProcess {
        self.procs.get_mut(name).unwrap_or_else(|| panic!("no node {name}"))
    }

    /// The websocket URL (through a local relay) of proxy `name`.
    pub fn ws_url(&self, name: &str) -> String {
        format!("ws://127.0.0.1:{}", self.ws[name])
    }

    /// The local port relayed to node `name`'s HTTP (admin) port.
    pub fn http_port(&self, name: &str) -> u16 {
        self.http[name]
    }
}

impl Drop for FaultCluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for proc in self.procs.values() {
                eprintln!("----- {} log (last lines) -----\n{}", proc.name(), proc.log_tail());
            }
        }
    }
}

/// A node's config: its host is its host's address; fast liveness, as in
/// the crash tests, so a silent peer is declared dead within about a second.
fn node(ip: Ipv4Addr, name: &str, kind: &str, remotes: Vec<Value>) -> Value {
    json!({
        "name": name, "type": kind, "host": ip.to_string(), "log_level": "info",
        "http": { "port": HTTP, "token": ADMIN_TOKEN },
        "remote_ports": remotes,
        "rpc": {
            "port": RPC, "token": TOKEN,
            "reconnect_time": 0.2, "max_backoff": 1, "heartbeat_interval": 0.2, "dead_after": 1,
            "call_timeout": CALL_TIMEOUT_SECS,
            "route": { "range": { "service": [[100000, 100199]] }, "special": { "service": [999] } },
        },
    })
}

/// A proxy (crash_support::proxy's websocket settings).
fn proxy(name: &str, ip: Ipv4Addr, remotes: Vec<Value>) -> Value {
    let mut config = node(ip, name, "proxy", remotes);
    config["websocket"] = json!({
        "port": WS, "timeout": 300, "offline_command": 999, "heartbeat_command": 10000,
        "no_state": { "range": [], "special": [] },
        "limits": { "message_rate": MESSAGE_RATE, "message_burst": MESSAGE_RATE },
    });
    config
}
