//! Defects of obespoir 0.2.4 (see docs/obespoir-bugs.md) that no other
//! test covers, each shown impossible on a real proxy and service.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use espoir::{
    Context, EventTable, NodeConfig, NodeId, NodeType, Shutdown, Status, Token, events, register_event,
    wire::{EndpointConfig, Envelope, Kind, PROTOCOL_VERSION, PeerSpec, RpcEndpoint},
};
use espoir_testkit::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// How often the service's close-notice handler ran.
#[derive(Clone, Default)]
struct Offline(Arc<AtomicU64>);

#[register_event(999, need_return = false)]
async fn offline(ctx: Context, _notice: Value) -> Result<(), Status> {
    ctx.state::<Offline>()?.0.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

#[register_event(20000)]
async fn echo(_ctx: Context, req: Value) -> Result<Value, Status> {
    Ok(req)
}

struct Cluster {
    proxy: TestNode,
    _service: TestNode,
    offline: Offline,
}

async fn cluster() -> Cluster {
    let (proxy_ports, service_ports) = (Ports::bind().await, Ports::bind().await);
    let rules = r#", "route": {"range": {"service": [[999, 999], [5001, 100000]]}}"#;
    let service_text = config_text("service", "service", &service_ports, &[], rules);
    let remote = remote(service_ports.rpc_port(), "service");
    let proxy_text = config_text("proxy", "proxy", &proxy_ports, &[remote], rules);
    let cfg = |t: &str| NodeConfig::from_json5_str(t, Path::new("x.json5")).unwrap();
    let offline = Offline::default();
    let state = offline.clone();
    let service = TestNode::start_with(cfg(&service_text), service_ports, |b| {
        b.events(events![offline, echo]).state(state)
    })
    .await;
    let proxy = TestNode::start(cfg(&proxy_text), proxy_ports, EventTable::new()).await;
    proxy.wait_linked(&service).await;
    Cluster { proxy, _service: service, offline }
}

/// Bug 12: a client could send the offline id (999) and make the backends
/// believe it had gone. Here the id is the proxy's alone.
#[tokio::test]
async fn a_client_cannot_fake_its_close_notice() {
    let c = cluster().await;
    let mut client = Client::connect(&c.proxy.ws_url()).await;
    let (command, body) = client.request(999, &json!({"message_id": 999})).await;
    assert_eq!(command, 999);
    assert_eq!(body["code"], 403, "{body}");
    assert_eq!(c.offline.0.load(Ordering::SeqCst), 0, "no backend heard a fake close notice");
    // The session goes on, and its real end is announced once.
    assert_eq!(client.request(20000, &json!({"a": 1})).await, (20000, json!({"a": 1})));
    client.close().await;
    wait_until("the real close notice", || async { c.offline.0.load(Ordering::SeqCst) == 1 }).await;
}

/// Bug 7: text messages were re-encoded before parsing, corrupting header
/// bytes ≥ 0x80. Here a text message closes the connection with 1003
/// (unsupported data) instead of being misread.
#[tokio::test]
async fn a_text_message_is_refused_with_close_code_1003() {
    let c = cluster().await;
    let (mut ws, _) = tokio_tungstenite::connect_async(c.proxy.ws_url()).await.unwrap();
    ws.send(Message::Text("\u{e8}\u{3}".into())).await.unwrap();
    let code = loop {
        match tokio::time::timeout(WAIT, ws.next()).await.expect("closed within the wait") {
            Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => {}
            None | Some(Err(_)) => break None,
        }
    };
    assert_eq!(code, Some(1003));
}

/// Bug 21: a message addressed to a node nobody can reach could loop
/// between routes for ever. Every forward spends one hop of its budget.
#[tokio::test]
async fn a_message_out_of_hops_is_refused_not_forwarded() {
    let c = cluster().await;
    let shutdown = Shutdown::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let id = NodeId::of("127.0.0.1", listener.local_addr().unwrap().port());
    let (peer, _inbound) =
        RpcEndpoint::new(EndpointConfig::new(id, NodeType::Service, Token::from(TOKEN)), &shutdown);
    peer.serve(listener);
    let rpc = c.proxy.node.addresses().rpc.unwrap();
    let spec = PeerSpec {
        host: "127.0.0.1".into(),
        port: rpc.port(),
        token: Token::from(TOKEN),
        encrypt: false,
        reconnect: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
    };
    let link = peer.connect(spec).wait_up(WAIT).await.expect("linked");
    let elsewhere = NodeId::of("10.9.8.7", 4242).to_string();
    let ask = |ttl: u32| Envelope {
        version: PROTOCOL_VERSION,
        kind: Kind::Request as i32,
        command: 20000,
        to: elsewhere.clone().into(),
        ttl,
        payload: Bytes::from_static(b"{}"),
        ..Envelope::default()
    };
    let spent = peer.call(&link, ask(0), WAIT).await.expect("an answer");
    assert_eq!(spent.status, 503, "{}", spent.message);
    assert!(spent.message.contains("hop limit"), "{}", spent.message);
    let unreachable = peer.call(&link, ask(8), WAIT).await.expect("an answer");
    assert!(unreachable.message.contains("unreachable"), "{}", unreachable.message);
    shutdown.finish(Duration::from_secs(1)).await;
}
