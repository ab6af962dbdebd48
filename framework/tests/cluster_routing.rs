//! In-process clusters on 127.0.0.1:0 with real websocket clients: routing,
//! affinity, failover, pushes, offline notices, ordering, handler failures.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use espoir::{Code, Context, EventTable, Status, events, register_event};
use espoir_testkit::handlers::{login, push_me, whoami, whoami_stateless};
use espoir_testkit::*;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Default)]
struct Counters {
    offline: AtomicUsize,
    /// The session of each offline notice, in arrival order.
    offline_sessions: Mutex<Vec<String>>,
    order: Mutex<Vec<(String, u64)>>,
}

/// Sessions whose first `ordered` handler must run at the same time as
/// every other's, across both services, before any of them may finish.
const PARALLEL_SESSIONS: usize = 8;

/// Shared by every service of a cluster (state is per node; this Arc is
/// the same on all of them).
struct Rendezvous(tokio::sync::Barrier);

/// How long a first handler waits for the others. Generous, so a starved
/// machine still meets it; a serial implementation never does and fails
/// after it instead of hanging.
const RENDEZVOUS_WAIT: Duration = espoir_testkit::WAIT;

fn counters(ctx: &Context) -> Result<Arc<Counters>, Status> {
    ctx.state::<Arc<Counters>>().map(|c| Arc::clone(&*c))
}

#[register_event(20001)]
async fn refuse(_ctx: Context, _req: Value) -> Result<Value, Status> {
    Err(Status::new(Code(4321), "nope"))
}

#[register_event(20002)]
async fn boom(_ctx: Context, _req: Value) -> Result<Value, Status> {
    panic!("boom")
}

#[derive(Deserialize)]
struct Seq {
    seq: u64,
}

#[register_event(20004)]
async fn ordered(ctx: Context, req: Seq) -> Result<Value, Status> {
    if req.seq == 0 {
        // Each session's first handler waits until every session's first
        // handler is running: passes only if sessions run in parallel.
        let rendezvous = ctx.state::<Arc<Rendezvous>>()?;
        tokio::time::timeout(RENDEZVOUS_WAIT, rendezvous.0.wait()).await.map_err(|_| {
            Status::internal(format!("the {PARALLEL_SESSIONS} sessions' handlers never ran at the same time"))
        })?;
    }
    // Uneven handler times: without per-session ordering, replies would
    // overtake. Pacing only; order holds whatever the times.
    tokio::time::sleep(Duration::from_millis((req.seq * 7919) % 5)).await;
    let session = ctx.require_session()?.to_string();
    counters(&ctx)?.order.lock().unwrap().push((session, req.seq));
    Ok(json!({ "seq": req.seq }))
}

#[register_event(999, need_return = false)]
async fn offline(ctx: Context) -> Result<(), Status> {
    let counters = counters(&ctx)?;
    let session = ctx.session_id().map(ToString::to_string).unwrap_or_default();
    counters.offline_sessions.lock().unwrap().push(session);
    counters.offline.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

fn service_events() -> EventTable {
    events![whoami, whoami_stateless, refuse, boom, push_me, ordered, offline]
}

fn route_events() -> EventTable {
    events![login, offline]
}

struct Cluster {
    proxies: Vec<TestNode>,
    route: TestNode,
    services: Vec<TestNode>,
    route_counters: Arc<Counters>,
    service_counters: Vec<Arc<Counters>>,
}

/// `proxies` proxies and `services` services around one route.
async fn cluster(proxies: usize, services: usize) -> Cluster {
    let proxy_ports: Vec<Ports> = futures_util::future::join_all((0..proxies).map(|_| Ports::bind())).await;
    let route_ports = Ports::bind().await;
    let service_ports: Vec<Ports> =
        futures_util::future::join_all((0..services).map(|_| Ports::bind())).await;

    let mut route_remotes: Vec<String> = proxy_ports.iter().map(|p| remote(p.rpc_port(), "proxy")).collect();
    route_remotes.extend(service_ports.iter().map(|p| remote(p.rpc_port(), "service")));
    let route_counters = Arc::new(Counters::default());
    let route_cfg = config("route", "route", &route_ports, &route_remotes, ROUTE_RULES, "");
    let rc = Arc::clone(&route_counters);
    let route = TestNode::start_with(route_cfg, route_ports, |b| b.events(route_events()).state(rc)).await;

    let mut service_nodes = Vec::new();
    let mut service_counters = Vec::new();
    let rendezvous = Arc::new(Rendezvous(tokio::sync::Barrier::new(PARALLEL_SESSIONS)));
    for (i, ports) in service_ports.into_iter().enumerate() {
        let rules = r#", "route": {"range": {"service": [[5001, 100000]]}}"#;
        let cfg = config(
            &format!("service{i}"),
            "service",
            &ports,
            &[remote(route.node.addresses().rpc.unwrap().port(), "route")],
            rules,
            "",
        );
        let mut cfg = cfg;
        // Past the rendezvous wait (the test configs say 2 s), so a missed
        // rendezvous answers with its own message, not a handler timeout.
        cfg.handler_timeout = RENDEZVOUS_WAIT * 2;
        let c = Arc::new(Counters::default());
        service_counters.push(Arc::clone(&c));
        let r = Arc::clone(&rendezvous);
        service_nodes
            .push(TestNode::start_with(cfg, ports, |b| b.events(service_events()).state(c).state(r)).await);
    }
    let mut proxy_nodes = Vec::new();
    for (i, ports) in proxy_ports.into_iter().enumerate() {
        let cfg = config(
            &format!("proxy{i}"),
            "proxy",
            &ports,
            &[remote(route.node.addresses().rpc.unwrap().port(), "route")],
            "",
            "",
        );
        proxy_nodes.push(TestNode::start(cfg, ports, EventTable::new()).await);
    }
    for p in &proxy_nodes {
        p.wait_linked(&route).await;
        route.wait_linked(p).await;
    }
    for s in &service_nodes {
        route.wait_linked(s).await;
    }
    Cluster { proxies: proxy_nodes, route, services: service_nodes, route_counters, service_counters }
}

#[tokio::test]
async fn a_request_goes_proxy_route_service_and_back_and_route_handles_its_own() {
    let c = cluster(1, 1).await;
    let mut client = Client::connect(&c.proxies[0].ws_url()).await;
    let (cmd, body) = client.request(20000, &json!({})).await;
    assert_eq!(cmd, 20000);
    assert_eq!(body["node"], c.services[0].node.id().to_string());
    let (cmd, body) = client.request(1000, &json!({"name": "jamon", "passwd": "test"})).await;
    assert_eq!(cmd, 1000);
    assert_eq!(body["node"], c.route.node.id().to_string());
}

#[tokio::test]
async fn stateful_messages_stick_and_stateless_ones_spread() {
    let c = cluster(1, 2).await;
    let mut client = Client::connect(&c.proxies[0].ws_url()).await;
    let mut stateful = std::collections::HashSet::new();
    let mut stateless = std::collections::HashSet::new();
    for _ in 0..20 {
        stateful.insert(client.request(20000, &json!({})).await.1["node"].to_string());
        stateless.insert(client.request(30000, &json!({})).await.1["node"].to_string());
    }
    assert_eq!(stateful.len(), 1, "a session's stateful messages stick to one service");
    assert_eq!(stateless.len(), 2, "stateless messages are balanced over both services");
}

#[tokio::test]
async fn killing_the_pinned_service_repins_without_losing_the_next_request() {
    let c = cluster(1, 2).await;
    let mut client = Client::connect(&c.proxies[0].ws_url()).await;
    let first = client.request(20000, &json!({})).await.1["node"].as_str().unwrap().to_owned();
    let (dead, alive) = if c.services[0].node.id().as_str() == first { (0, 1) } else { (1, 0) };
    c.services[dead].stop().await;
    let route = &c.route;
    let dead_id = c.services[dead].node.id().clone();
    let deadline = tokio::time::Instant::now() + WAIT;
    while route.node.endpoint().link(&dead_id).is_some() {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (cmd, body) = client.request(20000, &json!({})).await;
    assert_eq!(cmd, 20000);
    assert_eq!(body["node"], c.services[alive].node.id().to_string(), "re-pinned to the live service");
    // And it sticks there.
    assert_eq!(client.request(20000, &json!({})).await.1["node"], c.services[alive].node.id().to_string());
}

#[tokio::test]
async fn a_push_reaches_only_its_client_with_two_proxies() {
    let c = cluster(2, 1).await;
    let mut alice = Client::connect(&c.proxies[0].ws_url()).await;
    let mut bob = Client::connect(&c.proxies[1].ws_url()).await;
    // Both are session 1 of their proxy: only the proxy part tells them apart.
    bob.request(20000, &json!({})).await;
    alice.send(20003, &json!({ "n": 3 })).await;
    let mut pushes = Vec::new();
    let reply = loop {
        let frame = alice.recv().await.unwrap();
        if frame.command == 50000 {
            pushes.push(serde_json::from_slice::<Value>(&frame.body).unwrap()["i"].as_u64().unwrap());
        } else {
            break frame;
        }
    };
    assert_eq!(reply.command, 20003);
    assert_eq!(pushes, vec![0, 1, 2], "pushes arrive in order, before the reply");
    // Bob's next frame is the reply to his own request, not a stray push.
    let (cmd, _) = bob.request(20000, &json!({})).await;
    assert_eq!(cmd, 20000);
}

/// A session served by the service and the route, then closed; its id.
async fn served_and_closed(c: &Cluster) -> String {
    let mut client = Client::connect(&c.proxies[0].ws_url()).await;
    let (_, body) = client.request(20000, &json!({})).await;
    client.request(20000, &json!({})).await;
    client.request(1000, &json!({})).await;
    client.close().await;
    body["session"].as_str().expect("the service sees the session").to_owned()
}

/// Waits until both the service and the route heard `session` go offline.
/// Links keep order, so every notice the proxy sent before that one (a
/// duplicate included) has been handled by then: evidence, not a pause.
async fn offline_heard(c: &Cluster, session: &str) {
    let heard = |counters: &Counters| counters.offline_sessions.lock().unwrap().iter().any(|s| s == session);
    let deadline = tokio::time::Instant::now() + WAIT;
    while !heard(&c.service_counters[0]) || !heard(&c.route_counters) {
        assert!(tokio::time::Instant::now() < deadline, "offline handlers did not run for {session}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn offline_sessions(counters: &Counters) -> Vec<String> {
    counters.offline_sessions.lock().unwrap().clone()
}

#[tokio::test]
async fn disconnect_runs_the_offline_handler_once_on_each_node_that_served() {
    let c = cluster(1, 1).await;
    let first = served_and_closed(&c).await;
    offline_heard(&c, &first).await;
    assert_eq!(c.proxies[0].node.sessions(), 0, "the session is gone from the proxy");
    // A second session's notices come after any late duplicate of the first's.
    let marker = served_and_closed(&c).await;
    offline_heard(&c, &marker).await;
    assert_eq!(offline_sessions(&c.service_counters[0]), [first.clone(), marker.clone()]);
    assert_eq!(offline_sessions(&c.route_counters), [first, marker]);
}

#[tokio::test]
async fn a_failed_websocket_handshake_creates_no_session_and_no_offline_notice() {
    let c = cluster(1, 1).await;
    let addr = c.proxies[0].node.addresses().websocket.unwrap();
    let mut raw = tokio::net::TcpStream::connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    raw.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(WAIT, raw.read_to_end(&mut buf)).await.expect("the proxy closes the socket");
    assert_eq!(c.proxies[0].node.sessions(), 0);
    // A real session afterwards: once its notices arrive, any notice the
    // failed handshake caused (sent earlier, on the same links) has too.
    let marker = served_and_closed(&c).await;
    offline_heard(&c, &marker).await;
    let only_marker = vec![marker];
    assert_eq!(offline_sessions(&c.service_counters[0]), only_marker, "no notice for the failed handshake");
    assert_eq!(offline_sessions(&c.route_counters), only_marker);
    assert_eq!(c.service_counters[0].offline.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn each_session_is_handled_in_order_while_sessions_run_in_parallel() {
    let c = cluster(1, 2).await;
    let url = c.proxies[0].ws_url();
    // Connected first, so the sessions' first requests arrive together.
    let clients = futures_util::future::join_all((0..PARALLEL_SESSIONS).map(|_| Client::connect(&url))).await;
    let tasks = clients.into_iter().map(|mut client| {
        tokio::spawn(async move {
            // Pipelined: all 40 requests go out before any reply is read
            // (40 frames at once: the test proxy's message limits are lifted).
            for seq in 0..40u64 {
                client.send(20004, &json!({ "seq": seq })).await;
            }
            let mut seen = Vec::new();
            for _ in 0..40 {
                let frame = client.recv().await.unwrap();
                let body = serde_json::from_slice::<Value>(&frame.body).unwrap();
                seen.push(body["seq"].as_u64().unwrap_or_else(|| panic!("{body}")));
            }
            seen
        })
    });
    // Each session's first handler waited for all the others' (the
    // rendezvous): a reply to seq 0 means the sessions ran in parallel.
    for result in futures_util::future::join_all(tasks).await {
        assert_eq!(result.unwrap(), (0..40).collect::<Vec<_>>());
    }
    // On the services, each session's handlers ran in order too.
    let mut by_session: std::collections::HashMap<String, Vec<u64>> = Default::default();
    for counters in &c.service_counters {
        for (session, seq) in counters.order.lock().unwrap().iter() {
            by_session.entry(session.clone()).or_default().push(*seq);
        }
    }
    assert_eq!(by_session.len(), PARALLEL_SESSIONS);
    for seqs in by_session.values() {
        assert_eq!(seqs, &(0..40).collect::<Vec<_>>());
    }
}

// Two workers: printing the panic's backtrace (RUST_BACKTRACE=1) can block
// a worker for longer than the test links' 1 s dead-peer timeout on a busy
// machine; on one thread that would also stall every heartbeat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_errors_and_panics_become_error_frames_and_the_node_keeps_serving() {
    let c = cluster(1, 1).await;
    let mut client = Client::connect(&c.proxies[0].ws_url()).await;
    let (cmd, body) = client.request(20001, &json!({})).await;
    assert_eq!((cmd, body), (20001, json!({ "code": 4321, "msg": "nope" })));
    let (cmd, body) = client.request(20002, &json!({})).await;
    assert_eq!(cmd, 20002);
    assert_eq!(body["code"], 500);
    let (cmd, body) = client.request(25000, &json!({})).await;
    assert_eq!((cmd, body["code"].as_u64()), (25000, Some(404)));
    let (cmd, body) = client.request(20003, &json!({ "n": "not a number" })).await;
    assert_eq!((cmd, body["code"].as_u64()), (20003, Some(400)));
    // Still serving, on the same connection.
    let (cmd, body) = client.request(20000, &json!({})).await;
    assert_eq!(cmd, 20000);
    assert_eq!(body["node"], c.services[0].node.id().to_string());
}

#[tokio::test]
async fn a_bad_frame_header_closes_the_client_with_a_protocol_error() {
    let c = cluster(1, 1).await;
    let mut client = Client::connect(&c.proxies[0].ws_url()).await;
    let mut bad = 5i32.to_le_bytes().to_vec();
    bad.extend_from_slice(&[0; 8]);
    client.send_raw(bad).await;
    assert_eq!(client.close_code().await, Some(1002));
    let mut client = Client::connect(&c.proxies[0].ws_url()).await;
    let mut huge = (64i32 << 20).to_le_bytes().to_vec();
    huge.extend_from_slice(&[0; 8]);
    client.send_raw(huge).await;
    assert_eq!(client.close_code().await, Some(1009));
}

#[tokio::test]
async fn a_lone_proxy_answers_heartbeats_itself_and_fails_the_rest_fast() {
    let ports = Ports::bind().await;
    let cfg = config_idle("lonely", "proxy", &ports, &[], "", "", 30.0);
    let proxy = TestNode::start(cfg, ports, EventTable::new()).await;
    let mut client = Client::connect(&proxy.ws_url()).await;
    assert_eq!(client.request(10000, &json!({})).await, (10000, json!({ "code": 200 })));
    // No route, no service: an immediate 503, not a hang.
    let (cmd, body) = client.request(20000, &json!({})).await;
    assert_eq!((cmd, body["code"].as_u64()), (20000, Some(503)));
}

#[tokio::test]
async fn a_silent_client_is_dropped_after_the_idle_timeout() {
    let ports = Ports::bind().await;
    let cfg = config_idle("idle", "proxy", &ports, &[], "", "", 0.3);
    let proxy = TestNode::start(cfg, ports, EventTable::new()).await;
    // Taken before connecting: the proxy's idle clock cannot start earlier,
    // and timers never fire early, so this bound holds on any machine.
    let started = tokio::time::Instant::now();
    let mut client = Client::connect(&proxy.ws_url()).await;
    assert_eq!(client.close_code().await, Some(1000));
    assert!(started.elapsed() >= Duration::from_millis(300), "not before the idle timeout");
    assert_eq!(proxy.limit_hits("idle_timeout"), 1.0, "closed by the idle timeout");
    let deadline = tokio::time::Instant::now() + WAIT;
    while proxy.node.sessions() != 0 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

mod other {
    use espoir::{Context, EventTable, Status, events, register_event};
    use serde_json::Value;

    /// Claims 20000, like `whoami` in the parent module.
    #[register_event(20000)]
    pub(super) async fn imposter(_ctx: Context, _req: Value) -> Result<Value, Status> {
        Ok(Value::Null)
    }

    pub(super) fn table() -> EventTable {
        events![imposter]
    }
}

#[tokio::test]
async fn a_node_whose_tables_share_an_id_refuses_to_start_naming_both_handlers() {
    let ports = Ports::bind().await;
    let cfg = config("dup", "service", &ports, &[], "", "");
    let err = espoir::Node::builder(cfg)
        .events(service_events())
        .events(other::table())
        .rpc_listener(ports.rpc)
        .start(&espoir::Shutdown::new())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("20000") && text.contains("whoami") && text.contains("other::imposter"), "{text}");
}
