//! Node-to-node security on a real proxy and service: a peer without the
//! RPC token (or with a wrong one) gets a TCP connection and nothing else;
//! a peer with the token cannot speak in another node's name, so it can
//! neither push as someone else nor answer a call a client is waiting on
//! (obespoir's session impersonation).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use espoir::{
    Context, NodeConfig, NodeId, NodeType, Shutdown, Status, Token, events, register_event,
    wire::{
        CallError, EndpointConfig, Envelope, Incoming, Kind, Link, PROTOCOL_VERSION, PeerSpec, RpcEndpoint,
        SendError,
    },
};
use espoir_testkit::*;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc};

const WHOAMI: i32 = 20100;
const SLOW: i32 = 20101;
const PUSHED: i32 = 50100;

/// How many times the service ran a handler: a refused peer must never
/// make it move. And the gate `slow` waits at, opened by the test.
#[derive(Clone)]
struct Ran(Arc<AtomicU64>, Arc<Semaphore>);

impl Default for Ran {
    fn default() -> Self {
        Ran(Arc::default(), Arc::new(Semaphore::new(0)))
    }
}

#[register_event(20100)]
async fn whoami(ctx: Context, _req: Value) -> Result<Value, Status> {
    ctx.state::<Ran>()?.0.fetch_add(1, Ordering::SeqCst);
    Ok(json!({ "session": ctx.require_session()?.to_string(), "node": ctx.node_id().to_string() }))
}

#[register_event(20101)]
async fn slow(ctx: Context, _req: Value) -> Result<Value, Status> {
    let ran = ctx.state::<Ran>()?;
    ran.0.fetch_add(1, Ordering::SeqCst);
    // Answers only once the test has seen every forgery handled.
    ran.1.acquire().await.map_err(|_| Status::internal("gate closed"))?.forget();
    Ok(json!({ "real": true }))
}

struct Cluster {
    proxy: TestNode,
    service: TestNode,
    ran: Ran,
}

/// A proxy linked directly to one service (no route: every hop is a
/// direct link, so the source rule is the only thing between an intruder
/// and the proxy).
async fn cluster() -> Cluster {
    let (proxy_ports, service_ports) = (Ports::bind().await, Ports::bind().await);
    let rules = r#", "route": {"range": {"service": [[5001, 100000]]}}"#;
    let service_text = config_text("service", "service", &service_ports, &[], rules);
    let proxy_text =
        config_text("proxy", "proxy", &proxy_ports, &[remote(service_ports.rpc_port(), "service")], rules);
    let cfg = |t: &str| NodeConfig::from_json5_str(t, Path::new("x.json5")).unwrap();
    let ran = Ran::default();
    let state = ran.clone();
    let service = TestNode::start_with(cfg(&service_text), service_ports, |b| {
        b.events(events![whoami, slow]).state(state)
    })
    .await;
    let proxy = TestNode::start(cfg(&proxy_text), proxy_ports, espoir::EventTable::new()).await;
    proxy.wait_linked(&service).await;
    Cluster { proxy, service, ran }
}

/// An outsider's RPC endpoint, claiming to be a service on a port of its own.
/// Keep the receiver: dropping it closes the endpoint's links.
async fn intruder(token: &str, shutdown: &Shutdown) -> (RpcEndpoint, mpsc::Receiver<Incoming>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let id = NodeId::of("127.0.0.1", listener.local_addr().unwrap().port());
    let (endpoint, inbound) =
        RpcEndpoint::new(EndpointConfig::new(id, NodeType::Service, Token::from(token)), shutdown);
    endpoint.serve(listener);
    (endpoint, inbound)
}

/// A client of the cluster (the victim, with its session id) and a peer
/// that holds the token, linked to the proxy.
struct Insider {
    victim: Client,
    session: String,
    insider: RpcEndpoint,
    link: Link,
    _inbound: mpsc::Receiver<Incoming>,
}

async fn insider(c: &Cluster, shutdown: &Shutdown) -> Insider {
    let mut victim = Client::connect(&c.proxy.ws_url()).await;
    let (_, me) = victim.request(WHOAMI, &json!({})).await;
    let session = me["session"].as_str().unwrap().to_owned();
    let (insider, _inbound) = intruder(TOKEN, shutdown).await;
    let link = insider.connect(spec(&c.proxy, TOKEN)).wait_up(WAIT).await.expect("token holders link");
    Insider { victim, session, insider, link, _inbound }
}

fn spec(node: &TestNode, token: &str) -> PeerSpec {
    let addr = node.node.addresses().rpc.expect("an rpc port");
    PeerSpec {
        host: "127.0.0.1".into(),
        port: addr.port(),
        token: Token::from(token),
        encrypt: false,
        reconnect: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
    }
}

fn metric(node: &TestNode, name: &str) -> u64 {
    let text = node.node.metrics_text();
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

#[tokio::test]
async fn a_peer_without_the_token_gets_a_connection_and_nothing_else() {
    let c = cluster().await;
    let rpc = c.proxy.node.addresses().rpc.unwrap();

    // Not a handshake at all: a client frame and an envelope in the clear.
    let mut raw = TcpStream::connect(rpc).await.unwrap();
    let forged = Envelope {
        version: PROTOCOL_VERSION,
        kind: Kind::Request as i32,
        command: WHOAMI,
        ..Envelope::default()
    };
    let body = prost::Message::encode_to_vec(&forged);
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&body);
    raw.write_all(&frame).await.unwrap();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(WAIT, raw.read_to_end(&mut rest)).await.expect("closed by the proxy");
    assert!(read.is_err() || rest.is_empty() || rest.len() < 200, "nothing meaningful is said");
    wait_until("a handshake failure is counted", || async {
        metric(&c.proxy, "espoir_rpc_handshake_failures_total") >= 1
    })
    .await;

    // A well-formed dialer with the wrong token.
    let shutdown = Shutdown::new();
    let (outsider, _inbound) = intruder("not-the-cluster-token-0123456789", &shutdown).await;
    let peer = outsider.connect(spec(&c.proxy, "not-the-cluster-token-0123456789"));
    // The dialer checks the proxy's proof first and hangs up, so the proxy
    // sees an unfinished handshake; a dialer that sends a wrong proof is
    // counted as an auth failure (transport_link.rs covers both). Once the
    // attempt is counted it is over: then neither end has a link.
    wait_until("the wrong token is counted", || async {
        metric(&c.proxy, "espoir_rpc_handshake_failures_total")
            + metric(&c.proxy, "espoir_rpc_auth_failures_total")
            >= 2
    })
    .await;
    assert!(peer.link().is_none(), "no link without the token");
    assert!(c.proxy.node.endpoint().link(outsider.node_id()).is_none());
    assert_eq!(c.ran.0.load(Ordering::SeqCst), 0, "no frame of theirs was dispatched");
    shutdown.finish(Duration::from_secs(1)).await;

    // The cluster still serves its clients.
    let mut client = Client::connect(&c.proxy.ws_url()).await;
    assert_eq!(client.request(WHOAMI, &json!({})).await.0, WHOAMI);
}

#[tokio::test]
async fn a_peer_with_the_token_cannot_push_in_another_nodes_name() {
    let c = cluster().await;
    let shutdown = Shutdown::new();
    let Insider { mut victim, session, insider, link, _inbound } = insider(&c, &shutdown).await;
    let push = |source: &str, body: &'static [u8]| Envelope {
        version: PROTOCOL_VERSION,
        kind: Kind::Push as i32,
        command: PUSHED,
        session_id: session.clone().into(),
        source: source.to_owned().into(),
        to: c.proxy.node.id().to_wire(),
        payload: Bytes::from_static(body),
        ..Envelope::default()
    };
    // In the real service's name, and in nobody's: both refused.
    link.send(push(c.service.node.id().as_str(), b"{\"forged\":1}")).unwrap();
    link.send(push("", b"{\"forged\":2}")).unwrap();
    // Under its own name it is an ordinary cluster member pushing
    // (`ctx.push`), and that one push arrives: the first frame the victim
    // sees, so neither forgery got through before it.
    link.send(push(insider.node_id().as_str(), b"{\"own\":true}")).unwrap();
    let frame = victim.recv().await.expect("the honest push");
    assert_eq!((frame.command, &frame.body[..]), (PUSHED, &b"{\"own\":true}"[..]));
    assert_eq!(metric(&c.proxy, "espoir_rpc_forged_sources_total"), 2);
    shutdown.finish(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_peer_with_the_token_cannot_answer_a_call_a_client_waits_on() {
    let c = cluster().await;
    let shutdown = Shutdown::new();
    let Insider { mut victim, session, insider, link, _inbound } = insider(&c, &shutdown).await;
    victim.send(SLOW, &json!({})).await;
    wait_until("the slow call is running", || async { c.ran.0.load(Ordering::SeqCst) == 2 }).await;
    // Spray answers over the low request ids a counter would have used, in
    // the insider's own name and in the service's.
    let mut sent = 0u64;
    for request_id in 1..=2000u64 {
        for source in [insider.node_id().as_str(), c.service.node.id().as_str()] {
            let answer = Envelope {
                version: PROTOCOL_VERSION,
                kind: Kind::Response as i32,
                command: SLOW,
                request_id,
                session_id: session.clone().into(),
                source: source.to_owned().into(),
                to: c.proxy.node.id().to_wire(),
                payload: Bytes::from_static(b"{\"forged\":true}"),
                ..Envelope::default()
            };
            // A full queue only means fewer attempts; keep spraying.
            sent += u64::from(link.send(answer).is_ok());
        }
        if request_id % 200 == 0 {
            tokio::task::yield_now().await;
        }
    }
    // The link keeps order: once a marker sent after the spray is back, the
    // proxy has handled every forgery, all while the real call waited.
    // (Command 1 is routed nowhere: the proxy answers it itself.)
    let marker = Envelope {
        version: PROTOCOL_VERSION,
        kind: Kind::Request as i32,
        command: 1,
        source: insider.node_id().to_wire(),
        to: c.proxy.node.id().to_wire(),
        ..Envelope::default()
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match insider.call(&link, marker.clone(), WAIT).await {
            Ok(_) => break,
            // The spray may still fill the queue: wait for room.
            Err(CallError::Send(SendError::QueueFull)) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(err) => panic!("the proxy answers the marker: {err}"),
        }
    }
    assert!(sent > 0, "some forgeries went out");
    assert_eq!(c.ran.0.load(Ordering::SeqCst), 2, "no forgery ran a handler");
    c.ran.1.add_permits(1);
    let frame = victim.recv().await.expect("the real answer");
    let body: Value = serde_json::from_slice(&frame.body).unwrap();
    assert_eq!((frame.command, body), (SLOW, json!({ "real": true })));
    assert!(
        metric(&c.proxy, "espoir_rpc_forged_sources_total") >= 1,
        "answers in the service's name were refused"
    );
    shutdown.finish(Duration::from_secs(1)).await;
}
