//! An in-process cluster on 127.0.0.1:0 and a websocket test client.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use espoir::{ClientDecoder, ClientFrame, EventTable, Node, NodeConfig, RunningNode, Shutdown};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub mod raw;

pub const TOKEN: &str = "helloworldiloveyou~1234567890123";
/// How long a test waits for something that should happen. Only a broken
/// build ever waits this long, so it is generous: a CPU-starved CI machine
/// must not turn a slow success into a failure.
pub const WAIT: Duration = Duration::from_secs(30);

/// `websocket.limits` keys for the proxies of tests that drive ordinary
/// traffic (the shared configs here, in `ops_support` and in
/// `session_support`). The defaults (`message_rate` 50/s, `message_burst`
/// 100, `bytes_rate` 256 KiB/s, `max_connections_per_ip` 256) protect a
/// production proxy; a test client sending in a tight loop outruns them on
/// a fast machine and gets 429s, so a test's outcome would depend on the
/// machine's speed. Tests of the limits themselves build their proxy with
/// [`raw::local_proxy_config`] and set exactly the limits they test.
pub const TRAFFIC_LIMITS: &str = r#""max_connections_per_ip": 100000, "message_rate": 1000000, "message_burst": 1000000, "bytes_rate": 1073741824, "bytes_burst": 1073741824"#;

/// Listeners bound before the config is written, so it can name real ports.
pub struct Ports {
    pub rpc: TcpListener,
    pub ws: TcpListener,
    pub http: TcpListener,
}

impl Ports {
    pub async fn bind() -> Ports {
        Ports {
            rpc: TcpListener::bind("127.0.0.1:0").await.unwrap(),
            ws: TcpListener::bind("127.0.0.1:0").await.unwrap(),
            http: TcpListener::bind("127.0.0.1:0").await.unwrap(),
        }
    }

    pub fn rpc_port(&self) -> u16 {
        self.rpc.local_addr().unwrap().port()
    }

    pub fn ws_port(&self) -> u16 {
        self.ws.local_addr().unwrap().port()
    }

    pub fn http_port(&self) -> u16 {
        self.http.local_addr().unwrap().port()
    }
}

/// A `remote_ports` entry.
pub fn remote(port: u16, node_type: &str) -> String {
    format!(
        r#"{{"host": "127.0.0.1", "port": {port}, "token": "{TOKEN}", "encode": 0, "type": "{node_type}"}}"#
    )
}

/// Config text for a node; `extra` is spliced into the top-level object.
pub fn config(
    name: &str,
    node_type: &str,
    ports: &Ports,
    remotes: &[String],
    rpc_extra: &str,
    extra: &str,
) -> NodeConfig {
    config_idle(name, node_type, ports, remotes, rpc_extra, extra, 30.0)
}

/// As [`config`], with the proxy's websocket idle timeout in seconds.
pub fn config_idle(
    name: &str,
    node_type: &str,
    ports: &Ports,
    remotes: &[String],
    rpc_extra: &str,
    extra: &str,
    idle: f64,
) -> NodeConfig {
    let ws = if node_type == "proxy" {
        format!(
            r#""websocket": {{"port": {}, "token": "{TOKEN}", "encode": 0, "timeout": {idle}, "offline_command": 999, "limits": {{ {TRAFFIC_LIMITS} }}, "no_state": {{"range": [[30000, 39999]], "special": []}}}},"#,
            ports.ws_port()
        )
    } else {
        String::new()
    };
    let text = format!(
        r#"{{
            "name": "{name}", "type": "{node_type}", "host": "127.0.0.1",
            {ws}
            "http": {{"port": {http}, "token": "{TOKEN}", "encode": 0}},
            "rpc": {{"port": {rpc}, "token": "{TOKEN}", "encode": 0, "reconnect_time": 0.05, "heartbeat_interval": 0.1, "dead_after": 1 {rpc_extra}}},
            "remote_ports": [{remotes}],
            "handler_timeout": 2,
            {extra}
        }}"#,
        http = ports.http_port(),
        rpc = ports.rpc_port(),
        remotes = remotes.join(","),
    );
    NodeConfig::from_json5_str(&text, Path::new(&format!("{name}.json5")))
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
}

pub struct TestNode {
    pub node: RunningNode,
    pub shutdown: Shutdown,
}

impl TestNode {
    pub async fn start(config: NodeConfig, ports: Ports, events: EventTable) -> TestNode {
        TestNode::start_with(config, ports, |b| b.events(events)).await
    }

    pub async fn start_with(
        config: NodeConfig,
        ports: Ports,
        wire: impl FnOnce(espoir::NodeBuilder) -> espoir::NodeBuilder,
    ) -> TestNode {
        let shutdown = Shutdown::new();
        let builder = wire(Node::builder(config))
            .rpc_listener(ports.rpc)
            .websocket_listener(ports.ws)
            .http_listener(ports.http);
        let node = builder.start(&shutdown).await.expect("node starts");
        TestNode { node, shutdown }
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.node.addresses().websocket.expect("a proxy"))
    }

    /// Stops the node as a crash would look to its peers: links close.
    pub async fn stop(&self) {
        self.shutdown.finish(Duration::from_secs(2)).await;
    }

    /// Waits until this node has a live link to `other`.
    pub async fn wait_linked(&self, other: &TestNode) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while self.node.endpoint().link(other.node.id()).is_none() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no link from {} to {}",
                self.node.id(),
                other.node.id()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A websocket client speaking obespoir's framing.
pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    decoder: ClientDecoder,
    pending: std::collections::VecDeque<ClientFrame>,
}

impl Client {
    pub async fn connect(url: &str) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("websocket connects");
        Client { ws, decoder: ClientDecoder::new(1 << 20), pending: Default::default() }
    }

    pub async fn send(&mut self, command: i32, body: &Value) {
        let frame = ClientFrame::new(command, serde_json::to_vec(body).unwrap()).encode(1 << 20).unwrap();
        self.ws.send(Message::Binary(frame)).await.unwrap();
    }

    pub async fn send_raw(&mut self, bytes: Vec<u8>) {
        self.ws.send(Message::Binary(Bytes::from(bytes))).await.unwrap();
    }

    /// The next frame, or None if the connection closed.
    pub async fn recv(&mut self) -> Option<ClientFrame> {
        loop {
            if let Some(frame) = self.pending.pop_front() {
                return Some(frame);
            }
            let msg = tokio::time::timeout(WAIT, self.ws.next()).await.expect("a frame within the wait")?;
            match msg {
                Ok(Message::Binary(data)) => {
                    let mut out = Vec::new();
                    self.decoder.feed(data, &mut out).expect("server frames are valid");
                    assert_eq!(out.len(), 1, "one frame per message from the server");
                    self.pending.extend(out);
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    /// The close code the server sent, waiting for it.
    pub async fn close_code(&mut self) -> Option<u16> {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next()).await.expect("closed within the wait") {
                Some(Ok(Message::Close(Some(frame)))) => return Some(frame.code.into()),
                Some(Ok(Message::Close(None))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => {}
            }
        }
    }

    pub async fn request(&mut self, command: i32, body: &Value) -> (i32, Value) {
        self.send(command, body).await;
        let frame = self.recv().await.expect("a reply");
        (frame.command, serde_json::from_slice(&frame.body).unwrap_or(Value::Null))
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}
