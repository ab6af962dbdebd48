//! RPC links over real loopback sockets: authentication, calls, deadlines,
//! reconnection, dead-peer detection and limits.

mod transport_support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use espoir::{
    NodeType,
    wire::{CallError, Envelope, Kind, PeerState, TransportStats},
};
use espoir_testkit::{TOKEN, wait_until};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use transport_support::*;

/// A bound on waits for something that should happen: only a broken build
/// waits this long, so it is generous for a CPU-starved machine.
const UP: Duration = Duration::from_secs(30);

#[tokio::test]
async fn handshake_with_the_right_token_carries_calls_both_ways() {
    let mut server = node(NodeType::Route, TOKEN, false).await;
    let mut client = node(NodeType::Proxy, TOKEN, false).await;
    echo(&mut server);
    let server_seen = echo(&mut client);

    let peer = client.endpoint.connect(spec(server.addr, TOKEN, false));
    let link = peer.wait_up(UP).await.expect("link up");
    assert_eq!(link.peer_id(), server.endpoint.node_id());
    assert_eq!(link.peer_type(), NodeType::Route);
    assert!(!link.encrypted());

    let reply = client.endpoint.call(&link, request(b"ping"), UP).await.unwrap();
    assert_eq!(reply.kind(), Kind::Response);
    assert_eq!(reply.payload, Bytes::from_static(b"ping"));
    assert_eq!(reply.source, server.endpoint.node_id().as_str());

    // The listener side can send on the same (inbound) link too.
    let back = server.endpoint.link(client.endpoint.node_id()).expect("inbound link registered");
    let reply = server.endpoint.call(&back, request(b"pong"), UP).await.unwrap();
    assert_eq!(reply.payload, Bytes::from_static(b"pong"));
    wait_until("server_seen.lock().unwrap().len() == 1", || async { server_seen.lock().unwrap().len() == 1 })
        .await;
}

#[tokio::test]
async fn wrong_token_is_refused_and_nothing_is_dispatched() {
    let mut server = node(NodeType::Service, TOKEN, false).await;
    let seen = echo(&mut server);
    let client = node(NodeType::Proxy, "a-different-token-of-32-bytes!!!", false).await;
    let peer = client.endpoint.connect(spec(server.addr, "a-different-token-of-32-bytes!!!", false));

    // Evidence that an attempt ran to its end, instead of a pause: the
    // dialer counted the server's proof as wrong.
    wait_until("TransportStats::get(&client.endpoint.stats().auth_failures) >= 1", || async {
        TransportStats::get(&client.endpoint.stats().auth_failures) >= 1
    })
    .await;
    assert!(peer.link().is_none());
    assert!(matches!(peer.state(), PeerState::Down { .. } | PeerState::Connecting));
    assert!(client.endpoint.links().is_empty() && server.endpoint.links().is_empty());
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_dialer_that_skips_the_server_check_still_cannot_get_in() {
    // A raw client that never verifies anything: sends garbage as its proof.
    let mut server = node(NodeType::Service, TOKEN, false).await;
    let seen = echo(&mut server);
    let mut raw = TcpStream::connect(server.addr).await.unwrap();
    // Frames that are not a handshake at all.
    raw.write_all(b"\x00\x00\x00\x05hello").await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(UP, raw.read_to_end(&mut buf)).await.expect("server closes");
    wait_until("TransportStats::get(&server.endpoint.stats().handshake_failures) == 1", || async {
        TransportStats::get(&server.endpoint.stats().handshake_failures) == 1
    })
    .await;
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_handshake_timeout() {
    let server = node(NodeType::Route, TOKEN, false).await;
    // Taken before connecting, so the server's clock (500 ms, `quick_settings`)
    // starts later and this lower bound holds on any machine.
    let started = tokio::time::Instant::now();
    let mut raw = TcpStream::connect(server.addr).await.unwrap();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(UP, raw.read(&mut buf)).await.expect("closed by server").unwrap_or(0);
    assert_eq!(n, 0, "nothing is said to a silent peer");
    assert!(started.elapsed() >= Duration::from_millis(400), "not before the handshake timeout");
    wait_until("TransportStats::get(&server.endpoint.stats().handshake_failures) == 1", || async {
        TransportStats::get(&server.endpoint.stats().handshake_failures) == 1
    })
    .await;
}

#[tokio::test]
async fn a_replayed_handshake_is_refused() {
    let mut server = node(NodeType::Service, TOKEN, false).await;
    let seen = echo(&mut server);
    let relay = Relay::start(server.addr).await;
    let client = node(NodeType::Proxy, TOKEN, false).await;
    let peer = client.endpoint.connect(spec(relay.addr, TOKEN, false));
    let link = peer.wait_up(UP).await.unwrap();
    client.endpoint.call(&link, request(b"genuine"), UP).await.unwrap();
    peer.close();

    // Everything the genuine dialer sent: hello, proof, then a request.
    let recorded = relay.client_bytes.lock().unwrap().clone();
    let mut raw = TcpStream::connect(server.addr).await.unwrap();
    raw.write_all(&recorded).await.unwrap();
    let mut reply = Vec::new();
    let _ = tokio::time::timeout(UP, raw.read_to_end(&mut reply)).await.expect("server closes");
    wait_until("TransportStats::get(&server.endpoint.stats().auth_failures) == 1", || async {
        TransportStats::get(&server.endpoint.stats().auth_failures) == 1
    })
    .await;
    let n = seen.lock().unwrap().iter().filter(|e| e.payload == Bytes::from_static(b"genuine")).count();
    assert_eq!(n, 1, "the replayed request was not dispatched");
}

#[tokio::test]
async fn encrypted_links_carry_calls_and_a_tampered_frame_closes_the_link() {
    let mut server = node(NodeType::Service, TOKEN, true).await;
    echo(&mut server);
    let relay = Relay::start(server.addr).await;
    let client = node(NodeType::Proxy, TOKEN, false).await;
    // The client did not ask for encryption; the listener requires it.
    let peer = client.endpoint.connect(spec(relay.addr, TOKEN, false));
    let link = peer.wait_up(UP).await.unwrap();
    assert!(link.encrypted());
    let reply = client.endpoint.call(&link, request(b"sealed"), UP).await.unwrap();
    assert_eq!(reply.payload, Bytes::from_static(b"sealed"));
    assert!(!relay.client_bytes.lock().unwrap().windows(6).any(|w| w == b"sealed"), "payload never in clear");

    relay.corrupt_next.store(true, Ordering::SeqCst);
    let _ = link.send(Envelope { kind: Kind::Notify as i32, command: 1, ..Envelope::default() });
    wait_until("link.is_closed()", || async { link.is_closed() }).await;
    wait_until("TransportStats::get(&server.endpoint.stats().protocol_errors) == 1", || async {
        TransportStats::get(&server.endpoint.stats().protocol_errors) == 1
    })
    .await;
    // And the peer link dials again by itself.
    wait_until("peer.link().is_some()", || async { peer.link().is_some() }).await;
}

#[tokio::test]
async fn a_request_past_its_deadline_times_out_and_the_late_answer_is_dropped() {
    let mut server = node(NodeType::Service, TOKEN, false).await;
    let client = node(NodeType::Proxy, TOKEN, false).await;
    let mut rx = server.inbound.take().unwrap();
    let endpoint = server.endpoint.clone();
    // The server answers only once the caller has given up: late for sure,
    // however slow the machine.
    let gave_up = std::sync::Arc::new(tokio::sync::Notify::new());
    let answer_now = std::sync::Arc::clone(&gave_up);
    tokio::spawn(async move {
        while let Some(inc) = rx.recv().await {
            answer_now.notified().await;
            let _ = inc.link.send(endpoint.response_to(&inc.envelope, Bytes::new()));
        }
    });
    let link = client.endpoint.connect(spec(server.addr, TOKEN, false)).wait_up(UP).await.unwrap();
    let err = client.endpoint.call(&link, request(b"slow"), Duration::from_millis(50)).await.unwrap_err();
    assert_eq!(err, CallError::Timeout(Duration::from_millis(50)));
    assert_eq!(client.endpoint.pending_calls(), 0);
    gave_up.notify_one();
    wait_until("TransportStats::get(&client.endpoint.stats().late_responses) == 1", || async {
        TransportStats::get(&client.endpoint.stats().late_responses) == 1
    })
    .await;
    assert_eq!(TransportStats::get(&client.endpoint.stats().call_timeouts), 1);
}

#[tokio::test]
async fn a_link_survives_its_peer_restarting() {
    let mut server = node(NodeType::Route, TOKEN, false).await;
    echo(&mut server);
    let addr = server.addr;
    let client = node(NodeType::Proxy, TOKEN, false).await;
    let peer = client.endpoint.connect(spec(addr, TOKEN, false));
    let link = peer.wait_up(UP).await.unwrap();
    client.endpoint.call(&link, request(b"before"), UP).await.unwrap();

    assert!(server.shutdown.finish(UP).await, "server stops cleanly");
    wait_until("link.is_closed()", || async { link.is_closed() }).await;

    let mut restarted = node_on(TcpListener::bind(addr).await.unwrap(), NodeType::Route, TOKEN, false);
    echo(&mut restarted);
    let link = peer.wait_up(UP).await.expect("reconnected");
    let reply = client.endpoint.call(&link, request(b"after"), UP).await.unwrap();
    assert_eq!(reply.payload, Bytes::from_static(b"after"));
    assert!(TransportStats::get(&client.endpoint.stats().reconnects) >= 1);
}

#[tokio::test]
async fn a_black_holed_peer_is_detected_by_heartbeat_and_redialed() {
    let mut server = node(NodeType::Route, TOKEN, false).await;
    echo(&mut server);
    let relay = Relay::start(server.addr).await;
    let client = node(NodeType::Proxy, TOKEN, false).await;
    let peer = client.endpoint.connect(spec(relay.addr, TOKEN, false));
    let link = peer.wait_up(UP).await.unwrap();

    // No FIN, no RST: the relay just stops forwarding.
    relay.black_hole.store(true, Ordering::SeqCst);
    wait_until("dead peer detected without a close", || async { link.is_closed() }).await;
    // Both ends sit behind the hole; whichever notices the silence first
    // closes, and the relay then passes that close on to the other.
    let silent = || {
        TransportStats::get(&client.endpoint.stats().heartbeat_timeouts)
            + TransportStats::get(&server.endpoint.stats().heartbeat_timeouts)
    };
    wait_until("silent() >= 1", || async { silent() >= 1 }).await;

    relay.black_hole.store(false, Ordering::SeqCst);
    let link = peer.wait_up(UP).await.expect("redialed once the path heals");
    client.endpoint.call(&link, request(b"healed"), UP).await.unwrap();
}

#[tokio::test]
async fn connections_over_the_cap_are_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut cfg = espoir::wire::EndpointConfig::new(
        espoir::NodeId::of("127.0.0.1", addr.port()),
        NodeType::Route,
        TOKEN.into(),
    );
    cfg.listener.max_connections = 1;
    let shutdown = espoir::Shutdown::new();
    let (endpoint, _rx) = espoir::wire::RpcEndpoint::new(cfg, &shutdown);
    endpoint.serve(listener);

    let _first = TcpStream::connect(addr).await.unwrap();
    let mut second = TcpStream::connect(addr).await.unwrap();
    let mut buf = [0u8; 1];
    let n = tokio::time::timeout(UP, second.read(&mut buf)).await.expect("closed at once").unwrap_or(0);
    assert_eq!(n, 0);
    assert_eq!(TransportStats::get(&endpoint.stats().connections_refused), 1);
}

#[tokio::test]
async fn queued_frames_are_coalesced_into_fewer_writes() {
    let mut server = node(NodeType::Service, TOKEN, false).await;
    let seen = echo(&mut server);
    let client = node(NodeType::Proxy, TOKEN, false).await;
    let link = client.endpoint.connect(spec(server.addr, TOKEN, false)).wait_up(UP).await.unwrap();
    let before_frames = TransportStats::get(&client.endpoint.stats().frames_written);
    let before_writes = TransportStats::get(&client.endpoint.stats().writes);
    for i in 0..2000 {
        let env = Envelope {
            kind: Kind::Notify as i32,
            command: i,
            source: client.endpoint.node_id().to_wire(),
            ..Envelope::default()
        };
        link.send(env).unwrap();
    }
    wait_until("seen.lock().unwrap().len() == 2000", || async { seen.lock().unwrap().len() == 2000 }).await;
    let commands: Vec<i32> = seen.lock().unwrap().iter().map(|e| e.command).collect();
    assert_eq!(commands, (0..2000).collect::<Vec<_>>(), "order is kept on a link");
    let frames = TransportStats::get(&client.endpoint.stats().frames_written) - before_frames;
    let writes = TransportStats::get(&client.endpoint.stats().writes) - before_writes;
    assert!(frames >= 2000);
    assert!(writes * 4 < frames, "{frames} frames took {writes} writes");
}

#[tokio::test]
async fn a_full_send_queue_fails_fast_and_is_counted() {
    // A server whose node never takes what it receives: its reader stops,
    // TCP pushes back, and the client's queue must not grow.
    let server_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server_addr = server_listener.local_addr().unwrap();
    let mut server_cfg = espoir::wire::EndpointConfig::new(
        espoir::NodeId::of("127.0.0.1", server_addr.port()),
        NodeType::Service,
        TOKEN.into(),
    );
    server_cfg.inbound_queue = 1;
    let server_shutdown = espoir::Shutdown::new();
    let (server, _server_rx) = espoir::wire::RpcEndpoint::new(server_cfg, &server_shutdown);
    server.serve(server_listener);
    let client_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = client_listener.local_addr().unwrap().port();
    let mut cfg = espoir::wire::EndpointConfig::new(
        espoir::NodeId::of("127.0.0.1", port),
        NodeType::Proxy,
        TOKEN.into(),
    );
    cfg.link = quick_settings();
    cfg.link.send_queue = 8;
    cfg.link.dead_after = Duration::from_secs(30);
    let shutdown = espoir::Shutdown::new();
    let (endpoint, _rx) = espoir::wire::RpcEndpoint::new(cfg, &shutdown);
    let link = endpoint.connect(spec(server_addr, TOKEN, false)).wait_up(UP).await.unwrap();
    // Big frames fill the socket buffers, then the queue.
    let big = Bytes::from(vec![7u8; 512 * 1024]);
    let mut full = false;
    for _ in 0..400 {
        let env = Envelope {
            kind: Kind::Notify as i32,
            payload: big.clone(),
            source: endpoint.node_id().to_wire(),
            ..Envelope::default()
        };
        if link.send(env) == Err(espoir::wire::SendError::QueueFull) {
            full = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(full, "queue never filled");
    assert!(TransportStats::get(&endpoint.stats().queue_drops) >= 1);
}
