//! Helpers for the operations tests: config files on disk, an HTTP client
//! for the admin endpoints, handlers that say who served them.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use espoir::{Context, EventTable, Node, NodeBuilder, Status, events, register_event};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::{Ports, TOKEN, TRAFFIC_LIMITS, TestNode, WAIT};

/// Stateful: sticks to one service per session.
#[register_event(20000)]
async fn whoami(ctx: Context, _req: Value) -> Result<Value, Status> {
    Ok(json!({ "node": ctx.node_id().to_string() }))
}

/// Stateless (the proxies' no_state range is 30000..=39999).
#[register_event(30000)]
async fn whoami_stateless(ctx: Context, _req: Value) -> Result<Value, Status> {
    Ok(json!({ "node": ctx.node_id().to_string() }))
}

#[derive(Deserialize)]
struct Sleep {
    ms: u64,
}

/// Stateful and slow: answers after `ms` milliseconds.
#[register_event(20005)]
async fn slow(ctx: Context, req: Sleep) -> Result<Value, Status> {
    tokio::time::sleep(Duration::from_millis(req.ms)).await;
    Ok(json!({ "node": ctx.node_id().to_string(), "slept": req.ms }))
}

/// Handled on routes.
#[register_event(1000)]
async fn login(ctx: Context, _req: Value) -> Result<Value, Status> {
    Ok(json!({ "code": 200, "node": ctx.node_id().to_string() }))
}

pub fn service_events() -> EventTable {
    events![whoami, whoami_stateless, slow]
}

pub fn route_events() -> EventTable {
    events![login]
}

pub const ROUTE_RULES: &str = r#", "route": {"range": {"route": [[0, 5000]], "service": [[5001, 100000]]}, "special": {"route": [1000]}}"#;
pub const SERVICE_RULES: &str = r#", "route": {"range": {"service": [[5001, 100000]]}}"#;

/// A `remote_ports` entry.
pub fn remote(port: u16, node_type: &str) -> String {
    format!(
        r#"{{"host": "127.0.0.1", "port": {port}, "token": "{TOKEN}", "encode": 0, "type": "{node_type}"}}"#
    )
}

/// Config text of a node with fast link timers; a proxy gets
/// [`TRAFFIC_LIMITS`], so tests may send as fast as the machine goes.
pub fn text(name: &str, node_type: &str, ports: &Ports, remotes: &[String], rpc_extra: &str) -> String {
    let ws = if node_type == "proxy" {
        format!(
            r#""websocket": {{"port": {}, "timeout": 60, "limits": {{ {TRAFFIC_LIMITS} }},
                "no_state": {{"range": [[30000, 39999]]}}}},"#,
            ports.ws_port()
        )
    } else {
        String::new()
    };
    format!(
        r#"{{
            "name": "{name}", "type": "{node_type}", "host": "127.0.0.1",
            {ws}
            "http": {{"port": {http}, "token": "{TOKEN}"}},
            "rpc": {{"port": {rpc}, "token": "{TOKEN}", "reconnect_time": 0.05, "max_backoff": 0.2,
                     "heartbeat_interval": 0.1, "dead_after": 1 {rpc_extra}}},
            "remote_ports": [{remotes}],
            "handler_timeout": 5,
        }}"#,
        http = ports.http_port(),
        rpc = ports.rpc_port(),
        remotes = remotes.join(","),
    )
}

/// A fresh directory for config files.
pub fn temp_dir() -> PathBuf {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "espoir-ops-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `text` to `path` the way editors do: a temporary file renamed
/// over the old one, so a reader never sees half a file.
pub fn write(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Starts a node from a config file on disk, with its pre-bound ports.
pub async fn start_file(
    path: &Path,
    ports: Ports,
    wire: impl FnOnce(NodeBuilder) -> NodeBuilder,
) -> TestNode {
    let shutdown = espoir::Shutdown::new();
    let builder = wire(Node::from_file(path).expect("valid config"))
        .rpc_listener(ports.rpc)
        .websocket_listener(ports.ws)
        .http_listener(ports.http);
    let node = builder.start(&shutdown).await.expect("node starts");
    TestNode { node, shutdown }
}

/// Ports with a given RPC port (to restart a node at the same address).
pub async fn ports_at(rpc: u16) -> Ports {
    let deadline = tokio::time::Instant::now() + WAIT;
    let rpc = loop {
        match TcpListener::bind(("127.0.0.1", rpc)).await {
            Ok(l) => break l,
            Err(err) => {
                assert!(tokio::time::Instant::now() < deadline, "cannot rebind port {rpc}: {err}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    Ports {
        rpc,
        ws: TcpListener::bind("127.0.0.1:0").await.unwrap(),
        http: TcpListener::bind("127.0.0.1:0").await.unwrap(),
    }
}

/// One HTTP/1.1 request; the status and body.
pub async fn http(addr: SocketAddr, method: &str, path: &str, auth: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let auth = auth.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut raw)).await.expect("an HTTP answer").unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status line");
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

/// An admin call with the right token; the status and the JSON body.
pub async fn admin(node: &TestNode, method: &str, path: &str) -> (u16, Value) {
    let addr = node.node.addresses().http.expect("an http port");
    let (status, body) = http(addr, method, path, Some(&format!("Bearer {TOKEN}"))).await;
    (status, serde_json::from_str(&body).unwrap_or(Value::String(body)))
}

/// Polls `cond` until true, failing the test with `what` after [`WAIT`].
pub async fn wait_for<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    while !cond().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
