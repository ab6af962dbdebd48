//! Tools for hostile-client and limits tests: a proxy that runs handlers
//! itself (no service needed), raw websocket and TCP attackers, and
//! metrics read back from the node.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use espoir::{ClientDecoder, ClientFrame, NodeConfig};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{Ports, TOKEN, TestNode, WAIT};

/// A proxy that handles command ids 1..=9999 itself (no links). `ws_extra` goes into
/// the `websocket` object (e.g. `"limits": {...},`), `extra` at the top.
pub fn local_proxy_config(ports: &Ports, ws_extra: &str, extra: &str) -> NodeConfig {
    local_proxy_config_ids(ports, ws_extra, extra, [1, 9999])
}

/// As [`local_proxy_config`], handling the command ids `lo..=hi` itself.
pub fn local_proxy_config_ids(ports: &Ports, ws_extra: &str, extra: &str, [lo, hi]: [i32; 2]) -> NodeConfig {
    let text = format!(
        r#"{{
            "name": "hostile_proxy", "type": "proxy", "host": "127.0.0.1",
            "websocket": {{"port": {ws}, {ws_extra}
                "no_state": {{"range": [[{lo}, {hi}]], "special": []}}}},
            "http": {{"port": {http}, "token": "{TOKEN}"}},
            "rpc": {{"port": {rpc}, "token": "{TOKEN}", "route": {{"range": {{"proxy": [[{lo}, {hi}]]}}}}}},
            {extra}
        }}"#,
        ws = ports.ws_port(),
        http = ports.http_port(),
        rpc = ports.rpc_port(),
    );
    NodeConfig::from_json5_str(&text, Path::new("hostile_proxy.json5"))
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// One series' value in the node's metrics (`name` includes labels, as
/// written in the exposition: `espoir_limits_hit_total{limit="x"}`); 0
/// when the series does not exist yet.
pub fn metric(node: &TestNode, name: &str) -> f64 {
    node.node
        .metrics_text()
        .lines()
        .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0.0, |v| v.trim().parse().unwrap_or(0.0))
}

/// The number of times `limit` acted on the node.
pub fn limit_hits(node: &TestNode, limit: &str) -> f64 {
    metric(node, &format!(r#"espoir_limits_hit_total{{limit="{limit}"}}"#))
}

/// Polls `cond` until it holds, failing after [`WAIT`].
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How a raw connection ended, from the client's side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// A close frame with this code.
    Closed(u16),
    /// A close frame without a code, or the socket simply ended.
    Dropped,
}

/// A websocket client that sends whatever it is told, byte for byte.
pub struct RawWs {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    decoder: ClientDecoder,
}

impl RawWs {
    pub async fn connect(url: &str) -> RawWs {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("websocket connects");
        RawWs { ws, decoder: ClientDecoder::new(1 << 24) }
    }

    /// Sends one binary message; false once the server has gone.
    pub async fn send_bytes(&mut self, bytes: impl Into<Bytes>) -> bool {
        self.ws.send(Message::Binary(bytes.into())).await.is_ok()
    }

    /// Sends one well-formed frame.
    pub async fn send_frame(&mut self, command: i32, body: &Value) -> bool {
        let frame = ClientFrame::new(command, serde_json::to_vec(body).unwrap()).encode(1 << 24).unwrap();
        self.send_bytes(frame).await
    }

    /// Queues one well-formed frame without sending it (see [`RawWs::flush`]).
    pub async fn feed_frame(&mut self, command: i32, body: &Value) {
        let frame = ClientFrame::new(command, serde_json::to_vec(body).unwrap()).encode(1 << 24).unwrap();
        self.ws.feed(Message::Binary(frame)).await.expect("queued");
    }

    /// Sends everything queued; false once the server has gone.
    pub async fn flush(&mut self) -> bool {
        self.ws.flush().await.is_ok()
    }

    /// Reads frames until the connection ends; returns them and how it
    /// ended.
    pub async fn drain(&mut self) -> (Vec<ClientFrame>, Ending) {
        let mut frames = Vec::new();
        loop {
            let msg =
                tokio::time::timeout(WAIT, self.ws.next()).await.expect("the server ends the connection");
            match msg {
                Some(Ok(Message::Binary(data))) => {
                    self.decoder.feed(data, &mut frames).expect("server frames are valid");
                }
                Some(Ok(Message::Close(Some(frame)))) => return (frames, Ending::Closed(frame.code.into())),
                Some(Ok(Message::Close(None))) | None | Some(Err(_)) => return (frames, Ending::Dropped),
                Some(Ok(_)) => {}
            }
        }
    }

    /// The next frame, failing if the connection ends first.
    pub async fn recv(&mut self) -> ClientFrame {
        let mut frames = Vec::new();
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next()).await.expect("a frame within the wait");
            match msg {
                Some(Ok(Message::Binary(data))) => {
                    self.decoder.feed(data, &mut frames).expect("server frames are valid");
                    if let Some(frame) = frames.pop() {
                        assert!(frames.is_empty(), "one frame per server message");
                        return frame;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                    panic!("connection ended; a frame was due")
                }
                Some(Ok(_)) => {}
            }
        }
    }
}

/// A header announcing `length` (which counts the header itself).
pub fn header(length: i32, command: i32) -> Vec<u8> {
    let mut out = Vec::with_capacity(12);
    out.extend_from_slice(&length.to_le_bytes());
    out.extend_from_slice(&command.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out
}

/// The `code` field of an error body.
pub fn code_of(frame: &ClientFrame) -> Option<u64> {
    serde_json::from_slice::<Value>(&frame.body).ok()?.get("code")?.as_u64()
}

/// A small deterministic generator (xorshift64*): reproducible "random"
/// input without a dependency.
pub struct Rng(u64);

impl Rng {
    pub fn seeded(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}
