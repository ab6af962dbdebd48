//! `configs/local` in-process on free ports: the same three files (proxy,
//! route, betting service), with ports, the betting store and the page
//! folder rewritten for a test, optionally an encrypted websocket, and
//! optionally TLS on the proxy (`wss://`, the pages over HTTPS).
//! Each node has its own shutdown, so one node (the proxy) can be restarted
//! on the same ports while the others keep running.
//!
//! configs/local's proxy keeps the default `websocket.limits` (50 frames/s,
//! burst 100 per connection); the tests rely on it: no client here sends
//! 100 frames in all (a page or a bettor logs in, bets and reads a few
//! times), so none is refused however fast the machine runs.
#![allow(dead_code, unreachable_pub, missing_docs)]

pub mod pages;

use std::path::{Path, PathBuf};
use std::time::Duration;

use espoir::{Node, NodeBuilder, NodeError, RunningNode, Shutdown};
use espoir_testkit::{Issued, free_port, wait_until};

/// The admin token of configs/local.
pub const ADMIN_TOKEN: &str = "local-admin-token-change-me-0001";
/// The websocket token the tests set when they encrypt.
pub const WS_TOKEN: &str = "espoir-test-websocket-token-0001";

/// The ports configs/local uses, in the order of [`Cluster::port`].
const LOCAL_PORTS: [u16; 7] = [30000, 30001, 30002, 31001, 31002, 32001, 32002];

pub struct RunningFile {
    pub path: PathBuf,
    pub node: RunningNode,
    pub shutdown: Shutdown,
}

pub struct Cluster {
    pub dir: tempfile::TempDir,
    ports: Vec<u16>,
    tls: bool,
    pub proxy: RunningFile,
    pub route: RunningFile,
    pub betting: RunningFile,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("the repository")
}

/// configs/local/<name> with every local port replaced.
fn rewrite(name: &str, ports: &[u16], dir: &Path, encrypt: bool, tls: Option<&Issued>) -> PathBuf {
    let mut text =
        std::fs::read_to_string(repo().join("configs/local").join(name)).expect("configs/local file");
    for (from, to) in LOCAL_PORTS.iter().zip(ports) {
        text = text.replace(&from.to_string(), &to.to_string());
    }
    let store = dir.join("betting.redb");
    text = text.replace(".data/betting-1.redb", store.to_str().expect("utf-8 temp path"));
    let pages = repo().join("examples/web");
    text = text.replace("\"../../examples/web\"", &format!("{:?}", pages.to_str().expect("utf-8 repo path")));
    if encrypt {
        text = text.replace(
            "\"websocket\": {",
            &format!("\"websocket\": {{ \"encode\": 1, \"token\": \"{WS_TOKEN}\","),
        );
    }
    if let (Some(issued), "proxy.json5") = (tls, name) {
        let (cert, key) = issued.write_to(dir, "proxy");
        text = text.replacen(
            "\"websocket\": {",
            &format!("\"tls\": {{ \"cert\": {cert:?}, \"key\": {key:?} }}, \"websocket\": {{"),
            1,
        );
    }
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write config");
    path
}

async fn start(path: &Path, wire: fn(NodeBuilder) -> NodeBuilder) -> Result<RunningFile, NodeError> {
    let shutdown = Shutdown::new();
    let builder = wire(Node::from_file(path).unwrap_or_else(|e| panic!("{e}")));
    let node = builder.start(&shutdown).await?;
    Ok(RunningFile { path: path.to_owned(), node, shutdown })
}

fn plain(b: NodeBuilder) -> NodeBuilder {
    b
}

impl Cluster {
    /// Starts configs/local on fresh ports; `encrypt` turns on
    /// `websocket.encode: 1` with [`WS_TOKEN`].
    pub async fn start(encrypt: bool) -> Cluster {
        Cluster::start_with(encrypt, None).await
    }

    /// [`Cluster::start`], with TLS on the proxy's websocket and HTTP ports
    /// when `tls` gives a certificate (for 127.0.0.1).
    pub async fn start_with(encrypt: bool, tls: Option<&Issued>) -> Cluster {
        // Ports are picked free and released before the nodes bind them, so
        // another process may take one first: then start again elsewhere.
        for attempt in 1.. {
            match Cluster::try_start(encrypt, tls).await {
                Ok(cluster) => {
                    cluster.wait_linked().await;
                    return cluster;
                }
                Err(NodeError::Bind { .. }) if attempt < 5 => {}
                Err(e) => panic!("configs/local does not start: {e}"),
            }
        }
        unreachable!("the loop returns or panics")
    }

    async fn try_start(encrypt: bool, tls: Option<&Issued>) -> Result<Cluster, NodeError> {
        let dir = tempfile::tempdir().expect("temp dir");
        let ports: Vec<u16> = LOCAL_PORTS.iter().map(|_| free_port()).collect();
        let files = ["betting.json5", "route.json5", "proxy.json5"]
            .map(|f| rewrite(f, &ports, dir.path(), encrypt, tls));
        let wires: [fn(NodeBuilder) -> NodeBuilder; 3] = [betting::service, plain, plain];
        let mut started: Vec<RunningFile> = Vec::new();
        for (file, wire) in files.iter().zip(wires) {
            match start(file, wire).await {
                Ok(node) => started.push(node),
                Err(e) => {
                    for node in &started {
                        node.shutdown.finish(Duration::from_secs(5)).await;
                    }
                    return Err(e);
                }
            }
        }
        let proxy = started.pop().expect("three nodes");
        let route = started.pop().expect("three nodes");
        let betting = started.pop().expect("three nodes");
        Ok(Cluster { dir, ports, tls: tls.is_some(), proxy, route, betting })
    }

    /// The port that replaced configs/local's `local`.
    pub fn port(&self, local: u16) -> u16 {
        let i = LOCAL_PORTS.iter().position(|p| *p == local).expect("a configs/local port");
        self.ports[i]
    }

    pub fn ws_url(&self) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://127.0.0.1:{}", self.port(30000))
    }

    pub fn pages_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port(30001))
    }

    pub fn admin_addr(&self) -> String {
        format!("127.0.0.1:{}", self.port(32001))
    }

    /// Waits until the proxy reaches the betting service.
    pub async fn wait_linked(&self) {
        wait_until("the proxy links to the betting service", async || {
            self.proxy.node.endpoint().link(self.betting.node.id()).is_some()
        })
        .await;
    }

    /// Stops the proxy (every client connection is cut) and starts it again
    /// on the same ports, as an operator's restart would.
    pub async fn restart_proxy(&mut self) {
        self.proxy.shutdown.finish(Duration::from_secs(5)).await;
        let path = self.proxy.path.clone();
        // The ports were just released; retry if the OS is slow to let go
        // of them.
        let mut restarted = None;
        wait_until("the proxy restarts on its ports", async || {
            let shutdown = Shutdown::new();
            match Node::from_file(&path).expect("proxy config").start(&shutdown).await {
                Ok(node) => {
                    restarted = Some(RunningFile { path: path.clone(), node, shutdown });
                    true
                }
                Err(e) => {
                    eprintln!("proxy restart: {e}; retrying");
                    false
                }
            }
        })
        .await;
        self.proxy = restarted.expect("restarted above");
        self.wait_linked().await;
    }

    pub async fn stop(self) {
        for node in [&self.proxy, &self.route, &self.betting] {
            node.shutdown.finish(Duration::from_secs(5)).await;
        }
    }
}

pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs()
}
