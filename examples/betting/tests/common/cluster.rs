//! A betting cluster in-process on 127.0.0.1:0 (proxy, route, betting
//! service, laid out as `configs/local`), a websocket client speaking
//! obespoir's framing, and a small HTTP client for the admin API.

use std::path::Path;
use std::time::Duration;

use espoir::{ClientDecoder, ClientFrame, Node, NodeConfig, RunningNode, Shutdown};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const TOKEN: &str = "espoir-test-cluster-token-00001";
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";
/// How long a test waits for anything (generous: CI machines are busy; it
/// only runs out when something is broken).
pub const WAIT: Duration = Duration::from_secs(30);

async fn listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.unwrap()
}

fn port(l: &TcpListener) -> u16 {
    l.local_addr().unwrap().port()
}

fn remote(port: u16, node_type: &str) -> String {
    format!(r#"{{"host": "127.0.0.1", "port": {port}, "token": "{TOKEN}", "type": "{node_type}"}}"#)
}

fn load(text: &str) -> NodeConfig {
    NodeConfig::from_json5_str(text, Path::new("test.json5")).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

const ROUTE_RULES: &str =
    r#""route": {"range": {"service": [[100000, 100199]]}, "special": {"service": [999]}}"#;

pub struct Cluster {
    pub shutdown: Shutdown,
    pub proxy: RunningNode,
    pub route: RunningNode,
    pub service: RunningNode,
}

impl Cluster {
    /// Starts the three nodes; the service keeps its data at `data`.
    pub async fn start(data: &Path) -> Cluster {
        let (p_rpc, p_ws, r_rpc, s_rpc, s_http) =
            (listener().await, listener().await, listener().await, listener().await, listener().await);
        let fast = r#""reconnect_time": 0.05, "heartbeat_interval": 0.2, "dead_after": 3"#;
        // The proxy keeps the default `websocket.limits` (50 frames/s, burst
        // 100 per connection): no client here sends 100 frames in all, so
        // none is refused however fast the machine runs.
        let proxy = load(&format!(
            r#"{{"name": "proxy_t", "type": "proxy", "host": "127.0.0.1",
                "remote_ports": [{}, {}],
                "websocket": {{"port": {}, "offline_command": 999}},
                "rpc": {{"port": {}, "token": "{TOKEN}", {fast}, {ROUTE_RULES}}}}}"#,
            remote(port(&s_rpc), "service"),
            remote(port(&r_rpc), "route"),
            port(&p_ws),
            port(&p_rpc),
        ));
        let route = load(&format!(
            r#"{{"name": "route_t", "type": "route", "host": "127.0.0.1",
                "remote_ports": [{}, {}],
                "rpc": {{"port": {}, "token": "{TOKEN}", {fast}, {ROUTE_RULES}}}}}"#,
            remote(port(&p_rpc), "proxy"),
            remote(port(&s_rpc), "service"),
            port(&r_rpc),
        ));
        let service = load(&format!(
            r#"{{"name": "betting_t", "type": "service", "host": "127.0.0.1", "api_path": ["betting.service"],
                "http": {{"port": {}, "token": "{ADMIN_TOKEN}"}},
                "remote_ports": [{}],
                "rpc": {{"port": {}, "token": "{TOKEN}", {fast}, {ROUTE_RULES}}},
                "app": {{"betting": {{"path": {:?}, "worker_id": 2, "signup_bonus": 1000, "payout_batch": 2}}}}}}"#,
            port(&s_http),
            remote(port(&r_rpc), "route"),
            port(&s_rpc),
            data.display().to_string(),
        ));
        let shutdown = Shutdown::new();
        let service = betting::service(Node::builder(service))
            .rpc_listener(s_rpc)
            .http_listener(s_http)
            .start(&shutdown)
            .await
            .expect("the betting service starts");
        let route = Node::builder(route).rpc_listener(r_rpc).start(&shutdown).await.unwrap();
        let proxy =
            Node::builder(proxy).rpc_listener(p_rpc).websocket_listener(p_ws).start(&shutdown).await.unwrap();
        let cluster = Cluster { shutdown, proxy, route, service };
        let deadline = tokio::time::Instant::now() + WAIT;
        while cluster.proxy.endpoint().link(cluster.service.id()).is_none()
            || cluster.route.endpoint().link(cluster.service.id()).is_none()
        {
            assert!(tokio::time::Instant::now() < deadline, "the cluster never linked up");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        cluster
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.proxy.addresses().websocket.unwrap())
    }

    pub fn admin(&self) -> Admin {
        Admin { addr: self.service.addresses().http.unwrap().to_string() }
    }

    pub async fn stop(self) {
        assert!(self.shutdown.finish(WAIT).await, "the cluster stops within the grace period");
    }
}

/// The admin API over plain HTTP/1.1.
pub struct Admin {
    pub addr: String,
}

impl Admin {
    /// `method path` with a JSON body and the admin token; (status, body).
    pub async fn call(&self, method: &str, path: &str, body: &Value) -> (u16, Value) {
        self.call_with(method, path, body, Some(ADMIN_TOKEN)).await
    }

    pub async fn call_with(
        &self,
        method: &str,
        path: &str,
        body: &Value,
        token: Option<&str>,
    ) -> (u16, Value) {
        let body = serde_json::to_vec(body).unwrap();
        let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: test\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let mut stream = TcpStream::connect(&self.addr).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(&body).await.unwrap();
        let mut raw = Vec::new();
        tokio::time::timeout(WAIT, stream.read_to_end(&mut raw)).await.expect("admin answers").unwrap();
        let text = String::from_utf8_lossy(&raw);
        let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status line");
        let json = text.split_once("\r\n\r\n").map(|(_, b)| serde_json::from_str(b).unwrap_or(Value::Null));
        (status, json.unwrap_or(Value::Null))
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

    /// The next frame (reply or push).
    pub async fn recv(&mut self) -> (i32, Value) {
        loop {
            if let Some(frame) = self.pending.pop_front() {
                return (frame.command, serde_json::from_slice(&frame.body).unwrap_or(Value::Null));
            }
            let msg = tokio::time::timeout(WAIT, self.ws.next()).await.expect("a frame within the wait");
            match msg {
                Some(Ok(Message::Binary(data))) => {
                    let mut out = Vec::new();
                    self.decoder.feed(data, &mut out).expect("server frames are valid");
                    self.pending.extend(out);
                }
                Some(Ok(_)) => {}
                other => panic!("connection ended: {other:?}"),
            }
        }
    }

    /// Sends a request and returns its reply, keeping pushes that arrive
    /// first for [`Client::push`].
    pub async fn request(&mut self, command: i32, body: &Value) -> Value {
        self.send(command, body).await;
        let mut pushes = Vec::new();
        let reply = loop {
            let (cmd, body) = self.recv().await;
            if cmd == command {
                break body;
            }
            pushes.push((cmd, body));
        };
        for (cmd, body) in pushes.into_iter().rev() {
            let frame = ClientFrame::new(cmd, serde_json::to_vec(&body).unwrap());
            self.pending.push_front(frame);
        }
        reply
    }

    /// The next push with `command`, skipping others.
    pub async fn push(&mut self, command: i32) -> Value {
        loop {
            let (cmd, body) = self.recv().await;
            if cmd == command {
                return body;
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}
