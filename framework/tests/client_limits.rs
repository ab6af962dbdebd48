//! `websocket.max_connections`: a proxy serves at most that many clients at
//! once. One more is refused as docs/config.md says (its TCP connection is
//! closed before the websocket upgrade) and counted in
//! `espoir_client_connections_refused_total`; a client that leaves frees
//! its place.

use std::time::Duration;

use espoir::{ClientDecoder, ClientFrame, EventTable};
use espoir_testkit::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const MAX: usize = 3;

/// `espoir_client_connections_refused_total`, read from the proxy's metrics.
fn refused(proxy: &TestNode) -> u64 {
    let text = proxy.node.metrics_text();
    text.lines()
        .find_map(|l| l.strip_prefix("espoir_client_connections_refused_total "))
        .unwrap_or_else(|| panic!("no refusal counter in\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

/// A lone proxy (it answers heartbeats itself) taking `MAX` clients.
async fn capped_proxy() -> TestNode {
    let ports = Ports::bind().await;
    let mut cfg = config("capped", "proxy", &ports, &[], "", "");
    cfg.websocket.as_mut().unwrap().max_connections = MAX;
    TestNode::start(cfg, ports, EventTable::new()).await
}

/// A client that completed the upgrade and is served: it gets its heartbeat
/// answered.
async fn served(url: &str) -> Client {
    let mut client = Client::connect(url).await;
    assert_eq!(client.request(10000, &json!({})).await, (10000, json!({ "code": 200 })));
    client
}

#[tokio::test]
async fn a_proxy_refuses_clients_beyond_max_connections_counts_them_and_takes_one_when_a_place_frees() {
    let proxy = capped_proxy().await;
    let url = proxy.ws_url();
    let mut clients = Vec::new();
    for _ in 0..MAX {
        clients.push(served(&url).await);
    }
    assert_eq!(refused(&proxy), 0, "the first {MAX} clients fit");

    // The accept loop takes the connection and closes it at once: the
    // upgrade fails instead of hanging, and the refusal is counted before
    // the close the client sees.
    for n in 1..=2 {
        let outcome = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url.as_str()))
            .await
            .expect("a refused client is told at once, not left waiting");
        assert!(outcome.is_err(), "client {} of {MAX} allowed was upgraded", MAX + n);
        assert_eq!(refused(&proxy), n as u64);
    }
    assert_eq!(proxy.node.sessions(), MAX, "refused clients have no session");
    // The clients already in are still served.
    for client in &mut clients {
        assert_eq!(client.request(10000, &json!({})).await.0, 10000);
    }

    // One leaves: its place frees once the proxy has finished with it (an
    // event, not a time), so a newcomer retries until it gets in.
    clients.pop().unwrap().close().await;
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut newcomer = loop {
        if let Ok((ws, _)) = tokio_tungstenite::connect_async(url.as_str()).await {
            break ws;
        }
        assert!(tokio::time::Instant::now() < deadline, "no place freed after a client left");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    heartbeat(&mut newcomer).await;
    // It took the one free place: the proxy is full again.
    let before = refused(&proxy);
    assert!(
        tokio_tungstenite::connect_async(url.as_str()).await.is_err(),
        "the cap holds after a client left"
    );
    assert_eq!(refused(&proxy), before + 1);
}

/// Sends a heartbeat on a raw websocket and waits for its answer.
async fn heartbeat(ws: &mut WebSocketStream<MaybeTlsStream<TcpStream>>) {
    let frame = ClientFrame::new(10000, json!({}).to_string()).encode(1 << 20).unwrap();
    ws.send(Message::Binary(frame)).await.unwrap();
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next()).await.expect("an answer within the wait");
        if let Some(Ok(Message::Binary(data))) = msg {
            let mut out = Vec::new();
            ClientDecoder::new(1 << 20).feed(data, &mut out).unwrap();
            assert_eq!(out[0].command, 10000);
            return;
        }
        assert!(matches!(msg, Some(Ok(_))), "the connection ended: {msg:?}");
    }
}
