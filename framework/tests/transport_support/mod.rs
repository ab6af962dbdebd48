//! Helpers shared by the transport tests (`transport_*.rs`): raw RPC
//! endpoints without a node around them, and a relay that can corrupt or
//! black-hole their traffic. Waits and the token come from `espoir_testkit`.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use espoir::{
    NodeId, NodeType, Shutdown, Token,
    wire::{EndpointConfig, Envelope, Incoming, Kind, LinkSettings, PeerSpec, RpcEndpoint},
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// Fast timers so failure paths finish in well under a second.
pub fn quick_settings() -> LinkSettings {
    LinkSettings {
        heartbeat_interval: Duration::from_millis(50),
        dead_after: Duration::from_millis(400),
        handshake_timeout: Duration::from_millis(500),
        ..LinkSettings::default()
    }
}

/// An RPC endpoint listening on 127.0.0.1, with its inbound envelopes
/// until a test takes them.
pub struct TestEndpoint {
    pub endpoint: RpcEndpoint,
    pub addr: SocketAddr,
    pub shutdown: Shutdown,
    pub inbound: Option<mpsc::Receiver<Incoming>>,
}

/// A node listening on `listener` with the given token.
pub fn node_on(listener: TcpListener, node_type: NodeType, token: &str, encrypt: bool) -> TestEndpoint {
    let addr = listener.local_addr().unwrap();
    let mut cfg = EndpointConfig::new(NodeId::of("127.0.0.1", addr.port()), node_type, Token::from(token));
    cfg.encrypt = encrypt;
    cfg.link = quick_settings();
    // One link per peer, so that these tests see exactly the links they
    // make; lanes have their own tests (transport_lanes.rs).
    cfg.lanes = 1;
    let shutdown = Shutdown::new();
    let (endpoint, rx) = RpcEndpoint::new(cfg, &shutdown);
    endpoint.serve(listener);
    TestEndpoint { endpoint, addr, shutdown, inbound: Some(rx) }
}

pub async fn node(node_type: NodeType, token: &str, encrypt: bool) -> TestEndpoint {
    node_on(TcpListener::bind("127.0.0.1:0").await.unwrap(), node_type, token, encrypt)
}

/// A node that dials `lanes` links to each peer.
pub async fn node_with_lanes(node_type: NodeType, lanes: u16) -> TestEndpoint {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut cfg = EndpointConfig::new(
        NodeId::of("127.0.0.1", addr.port()),
        node_type,
        Token::from(espoir_testkit::TOKEN),
    );
    cfg.link = quick_settings();
    cfg.lanes = lanes;
    let shutdown = Shutdown::new();
    let (endpoint, rx) = RpcEndpoint::new(cfg, &shutdown);
    endpoint.serve(listener);
    TestEndpoint { endpoint, addr, shutdown, inbound: Some(rx) }
}

pub fn spec(addr: SocketAddr, token: &str, encrypt: bool) -> PeerSpec {
    PeerSpec {
        host: "127.0.0.1".into(),
        port: addr.port(),
        token: Token::from(token),
        encrypt,
        reconnect: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
    }
}

/// Answers every request with its payload; records everything else.
pub fn echo(node: &mut TestEndpoint) -> Arc<Mutex<Vec<Envelope>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut rx = node.inbound.take().unwrap();
    let endpoint = node.endpoint.clone();
    let record = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Some(Incoming { link, envelope }) = rx.recv().await {
            if envelope.kind() == Kind::Request {
                let reply = endpoint.response_to(&envelope, envelope.payload.clone());
                let _ = link.send(reply);
            }
            record.lock().unwrap().push(envelope);
        }
    });
    seen
}

pub fn request(payload: &'static [u8]) -> Envelope {
    Envelope { command: 20000, payload: Bytes::from_static(payload), ..Envelope::default() }
}

/// A TCP relay between a dialer and a listener that records what the
/// dialer sent and can corrupt or black-hole traffic on demand.
pub struct Relay {
    pub addr: SocketAddr,
    pub client_bytes: Arc<Mutex<Vec<u8>>>,
    /// Flip one bit in the next chunk going dialer → listener.
    pub corrupt_next: Arc<AtomicBool>,
    /// Stop forwarding in both directions, keeping the sockets open.
    pub black_hole: Arc<AtomicBool>,
}

impl Relay {
    pub async fn start(target: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let relay = Relay {
            addr: listener.local_addr().unwrap(),
            client_bytes: Arc::default(),
            corrupt_next: Arc::default(),
            black_hole: Arc::default(),
        };
        let (bytes, corrupt, hole) =
            (Arc::clone(&relay.client_bytes), Arc::clone(&relay.corrupt_next), Arc::clone(&relay.black_hole));
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(target).await else { continue };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(pump(cr, sw, Some(Arc::clone(&bytes)), Arc::clone(&corrupt), Arc::clone(&hole)));
                tokio::spawn(pump(sr, cw, None, Arc::new(AtomicBool::new(false)), Arc::clone(&hole)));
            }
        });
        relay
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    record: Option<Arc<Mutex<Vec<u8>>>>,
    corrupt: Arc<AtomicBool>,
    hole: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if hole.load(Ordering::SeqCst) {
            continue;
        }
        if let Some(r) = &record {
            r.lock().unwrap().extend_from_slice(&buf[..n]);
        }
        if corrupt.swap(false, Ordering::SeqCst) {
            buf[n - 1] ^= 0x01;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
