//! Handler bounds and deadlines (`handlers.max_inflight`,
//! `handlers.per_command`, `handler_timeout`): a node runs at most so many
//! handlers at once and refuses the excess at once with 429 ("busy")
//! instead of queueing it; a handler past its deadline answers 408; a
//! heartbeat is answered while the session's request waits on its handler.
//!
//! Handlers block on a gate the test opens, so "the bound holds" is a
//! count, never a timing.

use std::sync::Arc;
use std::time::Duration;

use espoir::{Context, EventTable, Status, events, register_event};
use espoir_testkit::*;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

/// Held shut until the test adds permits.
struct Gate(Arc<Semaphore>);

async fn wait_at_gate(ctx: &Context) -> Result<(), Status> {
    let gate = ctx.state::<Gate>()?;
    gate.0.acquire().await.map_err(|_| Status::internal("gate closed"))?.forget();
    Ok(())
}

/// Bounded on its own by `handlers.per_command`.
#[register_event(20001)]
async fn narrow(ctx: Context, _req: Value) -> Result<Value, Status> {
    wait_at_gate(&ctx).await?;
    Ok(json!({ "done": "narrow" }))
}

/// Bounded only by `handlers.max_inflight`.
#[register_event(20002)]
async fn wide(ctx: Context, _req: Value) -> Result<Value, Status> {
    wait_at_gate(&ctx).await?;
    Ok(json!({ "done": "wide" }))
}

/// Never finishes by itself.
#[register_event(20003)]
async fn sleepy(_ctx: Context, _req: Value) -> Result<Value, Status> {
    tokio::time::sleep(Duration::from_secs(3600)).await;
    Ok(json!({}))
}

/// Declares its own bound.
#[register_event(20004, concurrency = 1)]
async fn declared(ctx: Context, _req: Value) -> Result<Value, Status> {
    wait_at_gate(&ctx).await?;
    Ok(json!({ "done": "declared" }))
}

/// Declares a bound the config overrides.
#[register_event(20005, concurrency = 1)]
async fn overridden(ctx: Context, _req: Value) -> Result<Value, Status> {
    wait_at_gate(&ctx).await?;
    Ok(json!({ "done": "overridden" }))
}

/// Stateless (the test proxies' `no_state` range is 30000–39999).
#[register_event(30001)]
async fn stateless(ctx: Context, _req: Value) -> Result<Value, Status> {
    wait_at_gate(&ctx).await?;
    Ok(json!({ "done": "stateless" }))
}

fn handlers() -> EventTable {
    events![narrow, wide, sleepy, declared, overridden, stateless]
}

const HANDLER_LIMITS: &str = r#""handlers": {"max_inflight": 3, "per_command": {"20001": 1}},"#;

/// Sends `command` on a fresh client and leaves it waiting for the answer.
async fn start_call(url: &str, command: i32) -> Client {
    let mut client = Client::connect(url).await;
    client.send(command, &json!({})).await;
    client
}

async fn expect_busy(url: &str, command: i32) {
    let mut client = Client::connect(url).await;
    let (cmd, body) = client.request(command, &json!({})).await;
    assert_eq!(cmd, command);
    assert_eq!(body["code"], 429, "refused as busy: {body}");
    assert!(body["msg"].as_str().unwrap_or_default().starts_with("busy"), "{body}");
}

async fn expect_done(client: &mut Client, what: &str) {
    let frame = client.recv().await.expect("the blocked call is answered");
    let body: Value = serde_json::from_slice(&frame.body).unwrap();
    assert_eq!(body, json!({ "done": what }));
}

/// Fills the bounds of `node` through `url`, checks the excess is
/// refused, then opens the gate and checks everything admitted completes.
async fn bounds_hold(node: &TestNode, url: &str, gate: &Semaphore) {
    let inflight = || node.metric("espoir_handlers_inflight");
    let mut a = start_call(url, 20001).await;
    wait_until("the narrow call runs", async || inflight() == 1.0).await;
    expect_busy(url, 20001).await;
    assert_eq!(node.limit_hits("handlers_per_command"), 1.0);

    let mut c = start_call(url, 20002).await;
    let mut d = start_call(url, 20002).await;
    wait_until("three calls run", async || inflight() == 3.0).await;
    expect_busy(url, 20002).await;
    assert_eq!(node.limit_hits("handlers_max_inflight"), 1.0);
    assert_eq!(inflight(), 3.0, "refused calls never ran");

    gate.add_permits(3);
    expect_done(&mut a, "narrow").await;
    expect_done(&mut c, "wide").await;
    expect_done(&mut d, "wide").await;
    wait_until("the slots are free", async || inflight() == 0.0).await;
    gate.add_permits(1);
    let (_, body) = Client::connect(url).await.request(20001, &json!({})).await;
    assert_eq!(body, json!({ "done": "narrow" }), "a freed slot is reusable");
}

#[tokio::test]
async fn a_service_runs_at_most_its_bounds_and_refuses_the_rest_with_429() {
    let (proxy_ports, service_ports) = (Ports::bind().await, Ports::bind().await);
    let rules = r#", "route": {"range": {"service": [[20000, 29999]]}}"#;
    let service_cfg = config("service", "service", &service_ports, &[], rules, HANDLER_LIMITS);
    let gate = Arc::new(Semaphore::new(0));
    let g = Gate(Arc::clone(&gate));
    let service = TestNode::start_with(service_cfg, service_ports, |b| b.events(handlers()).state(g)).await;
    let remotes = [remote(service.node.addresses().rpc.unwrap().port(), "service")];
    let proxy_cfg = config("proxy", "proxy", &proxy_ports, &remotes, rules, "");
    let proxy = TestNode::start(proxy_cfg, proxy_ports, EventTable::default()).await;
    proxy.wait_linked(&service).await;

    bounds_hold(&service, &proxy.ws_url(), &gate).await;
}

#[tokio::test]
async fn a_proxy_running_handlers_itself_applies_the_same_bounds() {
    let ports = Ports::bind().await;
    let ws = r#""limits": {"max_connections_per_ip": 100},"#;
    let cfg = local_proxy_config_ids(&ports, ws, HANDLER_LIMITS, [20000, 29999]);
    let gate = Arc::new(Semaphore::new(0));
    let g = Gate(Arc::clone(&gate));
    let proxy = TestNode::start_with(cfg, ports, |b| b.events(handlers()).state(g)).await;
    bounds_hold(&proxy, &proxy.ws_url(), &gate).await;
}

#[tokio::test]
async fn a_handler_past_its_deadline_answers_408_and_frees_its_slot() {
    let (proxy_ports, service_ports) = (Ports::bind().await, Ports::bind().await);
    let rules = r#", "route": {"range": {"service": [[20000, 29999]]}}"#;
    // `handler_timeout` is 2 s in these test configs.
    let service_cfg = config("service", "service", &service_ports, &[], rules, HANDLER_LIMITS);
    let gate = Gate(Arc::new(Semaphore::new(0)));
    let service =
        TestNode::start_with(service_cfg, service_ports, |b| b.events(handlers()).state(gate)).await;
    let remotes = [remote(service.node.addresses().rpc.unwrap().port(), "service")];
    let proxy = TestNode::start(
        config("proxy", "proxy", &proxy_ports, &remotes, rules, ""),
        proxy_ports,
        EventTable::default(),
    )
    .await;
    proxy.wait_linked(&service).await;

    let mut client = Client::connect(&proxy.ws_url()).await;
    let (command, body) = client.request(20003, &json!({})).await;
    assert_eq!((command, body["code"].clone()), (20003, json!(408)), "{body}");
    assert_eq!(service.metric("espoir_handlers_inflight"), 0.0, "the timed-out handler left its slot");
    assert_eq!(service.metric(r#"espoir_request_errors_total{kind="timeout"}"#), 1.0);
}

#[tokio::test]
async fn a_handler_declares_its_own_bound_and_the_config_overrides_it() {
    let ports = Ports::bind().await;
    let ws = r#""limits": {"max_connections_per_ip": 100},"#;
    let limits = r#""handlers": {"max_inflight": 10, "per_command": {"20005": 2}},"#;
    let cfg = local_proxy_config_ids(&ports, ws, limits, [20000, 29999]);
    let gate = Arc::new(Semaphore::new(0));
    let g = Gate(Arc::clone(&gate));
    let node = TestNode::start_with(cfg, ports, |b| b.events(handlers()).state(g)).await;
    let url = node.ws_url();
    let inflight = || node.metric("espoir_handlers_inflight");

    // `concurrency = 1`: the second call is refused while the first runs.
    let mut first = start_call(&url, 20004).await;
    wait_until("the declared call runs", async || inflight() == 1.0).await;
    expect_busy(&url, 20004).await;
    assert_eq!(node.limit_hits("handlers_per_command"), 1.0);

    // `per_command` says 2 where the handler says 1: two run.
    let mut a = start_call(&url, 20005).await;
    let mut b = start_call(&url, 20005).await;
    wait_until("both overridden calls run", async || inflight() == 3.0).await;
    expect_busy(&url, 20005).await;
    assert_eq!(node.limit_hits("handlers_per_command"), 2.0);

    gate.add_permits(3);
    expect_done(&mut first, "declared").await;
    expect_done(&mut a, "overridden").await;
    expect_done(&mut b, "overridden").await;
}

/// A proxy linked to two services that bound `command` at 1 ("narrow")
/// and 3 ("wide"), their handlers held at `gate`.
async fn narrow_and_wide(gate: &Arc<Semaphore>, command: i32) -> (TestNode, Vec<TestNode>) {
    let rules = r#", "route": {"range": {"service": [[20000, 39999]]}}"#;
    let mut services = Vec::new();
    for (name, bound) in [("narrow", 1), ("wide", 3)] {
        let ports = Ports::bind().await;
        let limits = format!(r#""handlers": {{"per_command": {{"{command}": {bound}}}}},"#);
        let cfg = config(name, "service", &ports, &[], rules, &limits);
        let g = Gate(Arc::clone(gate));
        services.push(TestNode::start_with(cfg, ports, |b| b.events(handlers()).state(g)).await);
    }
    let remotes: Vec<String> =
        services.iter().map(|s| remote(s.node.addresses().rpc.unwrap().port(), "service")).collect();
    let proxy_ports = Ports::bind().await;
    let proxy = TestNode::start(
        config("proxy", "proxy", &proxy_ports, &remotes, rules, ""),
        proxy_ports,
        EventTable::default(),
    )
    .await;
    for s in &services {
        proxy.wait_linked(s).await;
    }
    (proxy, services)
}

/// A busy service's refusal of a stateless request comes before its
/// handler starts, so the proxy tries another service before telling the
/// client 429.
#[tokio::test]
async fn a_stateless_request_refused_as_busy_is_tried_on_another_service() {
    let gate = Arc::new(Semaphore::new(0));
    let (proxy, services) = narrow_and_wide(&gate, 30001).await;
    let url = proxy.ws_url();
    let (narrow, wide) = (&services[0], &services[1]);
    let inflight = |node: &TestNode| node.metric("espoir_handlers_inflight");

    // Balanced in turn, some of the four land on the narrow service first;
    // all but one are refused there and run on the wide one.
    let mut calls = Vec::new();
    for n in 1..=4 {
        calls.push(start_call(&url, 30001).await);
        wait_until("the call runs somewhere", async || inflight(narrow) + inflight(wide) == f64::from(n))
            .await;
    }
    assert_eq!((inflight(narrow), inflight(wide)), (1.0, 3.0));
    assert!(narrow.limit_hits("handlers_per_command") >= 1.0, "the narrow service did refuse");
    // Both full: the client hears 429.
    expect_busy(&url, 30001).await;

    gate.add_permits(4);
    for call in &mut calls {
        expect_done(call, "stateless").await;
    }
}

/// A stateful request stays with the service balancing chose for its
/// session: refused as busy there, the client hears 429 even though the
/// other service has room.
#[tokio::test]
async fn a_stateful_request_refused_as_busy_is_not_moved() {
    let gate = Arc::new(Semaphore::new(0));
    let (proxy, services) = narrow_and_wide(&gate, 20001).await;
    let url = proxy.ws_url();
    let (narrow, wide) = (&services[0], &services[1]);
    let inflight = |node: &TestNode| node.metric("espoir_handlers_inflight");
    let refused = || narrow.limit_hits("handlers_per_command") + wide.limit_hits("handlers_per_command");

    // Four new sessions, balanced in turn: two reach the narrow service,
    // whose second is refused and stays refused.
    let mut calls = Vec::new();
    for n in 1..=4 {
        calls.push(start_call(&url, 20001).await);
        wait_until("the call runs or is refused", async || {
            inflight(narrow) + inflight(wide) + refused() == f64::from(n)
        })
        .await;
    }
    assert_eq!((inflight(narrow), inflight(wide), refused()), (1.0, 2.0, 1.0));
    gate.add_permits(3);
    let mut answers: Vec<Value> = Vec::new();
    for call in &mut calls {
        let frame = call.recv().await.expect("every call is answered");
        answers.push(serde_json::from_slice(&frame.body).unwrap());
    }
    assert_eq!(answers.iter().filter(|a| a["code"] == 429).count(), 1, "{answers:?}");
    assert_eq!(answers.iter().filter(|a| a["done"] == "narrow").count(), 3, "{answers:?}");
}

/// A heartbeat sent while the session's request waits on a slow handler
/// is answered at once, not after the request: clients that take an
/// unanswered heartbeat for a dead link (the Rust and JS clients do) would
/// otherwise drop a healthy connection whenever a handler runs longer than
/// their heartbeat interval. The request is still answered afterwards.
#[tokio::test]
async fn a_heartbeat_is_answered_while_the_sessions_request_is_in_flight() {
    let gate = Arc::new(Semaphore::new(0));
    let (proxy, services) = narrow_and_wide(&gate, 20002).await;
    let inflight = || services.iter().map(|s| s.metric("espoir_handlers_inflight")).sum::<f64>();
    let mut client = start_call(&proxy.ws_url(), 20002).await;
    wait_until("the call runs", async || inflight() == 1.0).await;

    // `websocket.heartbeat_command` defaults to 10000.
    client.send(10_000, &json!({})).await;
    let frame = client.recv().await.expect("the heartbeat is answered");
    assert_eq!(frame.command, 10_000, "the heartbeat's answer comes first");
    let body: Value = serde_json::from_slice(&frame.body).unwrap();
    assert_eq!(body["code"], 200);
    assert_eq!(inflight(), 1.0, "the request is still in flight");

    gate.add_permits(1);
    expect_done(&mut client, "wide").await;
}
