//! A cluster for the session tests: two proxies, one route, two services
//! with handlers that bind, push to users, set and read session data, kick,
//! join groups and broadcast. Built on `espoir_testkit`.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::sync::{Arc, Mutex};

use espoir::{Context, EventTable, Member, Status, events, register_event};
use serde::Deserialize;
use serde_json::{Value, json};

use espoir_testkit::*;

pub const LOGIN: i32 = 21000;
pub const PUSH_USER: i32 = 21001;
pub const SET_DATA: i32 = 21002;
/// Stateless (in the proxies' no_state range): balanced over services.
pub const READ_DATA: i32 = 31003;
pub const KICK_USER: i32 = 21004;
pub const JOIN: i32 = 21005;
pub const BROADCAST: i32 = 21006;
/// Calls WHO on a service, from a service handler (`ctx.call`).
pub const ASK: i32 = 21007;
/// Says which node serves it and what it sees of the session.
pub const WHO: i32 = 21008;
/// Always fails, naming its session in the error message.
pub const FAIL: i32 = 21009;
/// Answers once the test releases it (`Events::release`).
pub const HANG: i32 = 21010;
/// Broadcasts "before", joins the group, broadcasts "after".
pub const JOIN_BETWEEN: i32 = 21011;
/// Broadcasts to the group's members but the sender.
pub const SAY: i32 = 21012;
pub const USER_PUSHED: i32 = 51000;
pub const BROADCASTED: i32 = 52000;
pub const KICK_FRAME: i32 = 10003;
pub const RESUME: i32 = 10001;

/// What a service saw of session events.
#[derive(Default)]
pub struct Events {
    pub binds: Mutex<Vec<(String, String)>>,
    pub closes: Mutex<Vec<(String, Value)>>,
    /// Lets the [`HANG`] handlers finish.
    pub release: tokio::sync::Notify,
}

fn events_of(ctx: &Context) -> Result<Arc<Events>, Status> {
    ctx.state::<Arc<Events>>().map(|e| Arc::clone(&*e))
}

#[derive(Deserialize)]
struct Login {
    uid: String,
}

#[register_event(21000)]
async fn login(ctx: Context, req: Login) -> Result<Value, Status> {
    ctx.bind(req.uid.clone()).await?;
    Ok(
        json!({ "node": ctx.node_id().to_string(), "session": ctx.require_session()?.to_string(), "uid": ctx.uid() }),
    )
}

#[derive(Deserialize)]
struct PushUser {
    uid: String,
    from: u32,
    n: u32,
}

#[register_event(21001)]
async fn push_user(ctx: Context, req: PushUser) -> Result<Value, Status> {
    for i in req.from..req.from + req.n {
        ctx.push_user(&req.uid, USER_PUSHED, &json!({ "i": i }))?;
    }
    Ok(json!({ "pushed": req.n }))
}

#[derive(Deserialize)]
struct SetData {
    key: String,
    value: Value,
}

#[register_event(21002)]
async fn set_data(ctx: Context, req: SetData) -> Result<Value, Status> {
    ctx.set_session_data(&req.key, &req.value).await?;
    // Visible at once to this handler too.
    let now: Option<Value> = ctx.session_data(&req.key)?;
    Ok(json!({ "node": ctx.node_id().to_string(), "now": now }))
}

#[derive(Deserialize)]
struct ReadData {
    key: String,
}

#[register_event(31003)]
async fn read_data(ctx: Context, req: ReadData) -> Result<Value, Status> {
    let value: Option<Value> = ctx.session_data(&req.key)?;
    Ok(json!({ "node": ctx.node_id().to_string(), "value": value, "uid": ctx.uid() }))
}

#[derive(Deserialize)]
struct KickUser {
    uid: String,
    reason: String,
}

#[register_event(21004)]
async fn kick_user(ctx: Context, req: KickUser) -> Result<Value, Status> {
    ctx.kick_user(&req.uid, &req.reason)?;
    Ok(json!({}))
}

#[derive(Deserialize)]
struct Join {
    group: String,
}

#[register_event(21005)]
async fn join(ctx: Context, req: Join) -> Result<Value, Status> {
    let session = ctx.require_session()?.clone();
    ctx.join_group(&req.group, Member::Session(session)).await?;
    Ok(json!({}))
}

#[derive(Deserialize)]
struct Broadcast {
    group: String,
    value: Value,
}

#[register_event(21006)]
async fn broadcast(ctx: Context, req: Broadcast) -> Result<Value, Status> {
    ctx.broadcast(&req.group, BROADCASTED, &req.value)?;
    Ok(json!({}))
}

#[register_event(21007)]
async fn ask(ctx: Context) -> Result<Value, Status> {
    ctx.call(espoir::NodeType::Service, WHO, &json!({})).await
}

#[register_event(21008)]
async fn who(ctx: Context) -> Result<Value, Status> {
    let k: Option<Value> = ctx.session_data("k")?;
    Ok(
        json!({ "node": ctx.node_id().to_string(), "uid": ctx.uid(), "k": k, "session": ctx.session_id().map(ToString::to_string) }),
    )
}

#[register_event(21011)]
async fn join_between(ctx: Context, req: Join) -> Result<Value, Status> {
    let session = ctx.require_session()?.clone();
    ctx.broadcast(&req.group, BROADCASTED, &json!("before"))?;
    ctx.join_group(&req.group, Member::Session(session)).await?;
    ctx.broadcast(&req.group, BROADCASTED, &json!("after"))?;
    Ok(json!({}))
}

#[register_event(21012)]
async fn say(ctx: Context, req: Broadcast) -> Result<Value, Status> {
    ctx.broadcast_others(&req.group, BROADCASTED, &req.value)?;
    Ok(json!({}))
}

#[register_event(21009)]
async fn fail(ctx: Context) -> Result<Value, Status> {
    Err(Status::bad_request(format!("refused in session {}", ctx.require_session()?)))
}

#[register_event(21010)]
async fn hang(ctx: Context) -> Result<Value, Status> {
    events_of(&ctx)?.release.notified().await;
    Ok(json!({}))
}

#[register_event(998, need_return = false)]
async fn bound(ctx: Context, body: Value) -> Result<(), Status> {
    let uid = body["uid"].as_str().unwrap_or_default().to_owned();
    events_of(&ctx)?.binds.lock().unwrap().push((uid, ctx.node_id().to_string()));
    Ok(())
}

#[register_event(999, need_return = false)]
async fn closed(ctx: Context, mut body: Value) -> Result<(), Status> {
    // Recorded so tests can check the user arrives both ways.
    body["ctx_uid"] = json!(ctx.uid());
    events_of(&ctx)?.closes.lock().unwrap().push((ctx.node_id().to_string(), body));
    Ok(())
}

pub fn service_events() -> EventTable {
    events![
        login,
        push_user,
        set_data,
        read_data,
        kick_user,
        join,
        broadcast,
        join_between,
        say,
        ask,
        who,
        fail,
        hang,
        bound,
        closed
    ]
}

const ROUTE_RULES: &str = r#", "route": {"range": {"route": [[0, 5000]], "service": [[5001, 100000]]}}"#;

pub struct Cluster {
    pub proxies: Vec<TestNode>,
    pub route: TestNode,
    pub services: Vec<TestNode>,
    pub events: Vec<Arc<Events>>,
}

/// `proxies` proxies and `services` services around one route; `sessions`
/// is spliced into each proxy's `websocket.sessions`.
pub async fn cluster(proxies: usize, services: usize, sessions: &str) -> Cluster {
    cluster_with(proxies, services, sessions, false).await
}

/// As [`cluster`]; with `direct`, each proxy also links every service
/// itself (configs/local's shape) instead of reaching them through the route.
pub async fn cluster_with(proxies: usize, services: usize, sessions: &str, direct: bool) -> Cluster {
    cluster_lanes(proxies, services, sessions, direct, 1).await
}

/// As [`cluster_with`], every node dialing `lanes` links to each peer.
pub async fn cluster_lanes(
    proxies: usize,
    services: usize,
    sessions: &str,
    direct: bool,
    lanes: u16,
) -> Cluster {
    let lanes_key = format!(r#", "lanes": {lanes}"#);
    let route_ports = Ports::bind().await;
    let proxy_ports: Vec<Ports> = futures_util::future::join_all((0..proxies).map(|_| Ports::bind())).await;
    let service_ports: Vec<Ports> =
        futures_util::future::join_all((0..services).map(|_| Ports::bind())).await;
    let mut remotes: Vec<String> = proxy_ports.iter().map(|p| remote(p.rpc_port(), "proxy")).collect();
    remotes.extend(service_ports.iter().map(|p| remote(p.rpc_port(), "service")));
    let route_cfg =
        config("route", "route", &route_ports, &remotes, &format!("{ROUTE_RULES}{lanes_key}"), "");
    let route = TestNode::start(route_cfg, route_ports, EventTable::new()).await;
    let route_port = route.node.addresses().rpc.unwrap().port();

    let mut service_nodes = Vec::new();
    let mut events = Vec::new();
    for (i, ports) in service_ports.into_iter().enumerate() {
        let rules = format!(r#", "route": {{"range": {{"service": [[5001, 100000]]}}}}{lanes_key}"#);
        let cfg =
            config(&format!("service{i}"), "service", &ports, &[remote(route_port, "route")], &rules, "");
        let seen = Arc::new(Events::default());
        events.push(Arc::clone(&seen));
        service_nodes
            .push(TestNode::start_with(cfg, ports, |b| b.events(service_events()).state(seen)).await);
    }
    let mut proxy_remotes = vec![remote(route_port, "route")];
    if direct {
        proxy_remotes
            .extend(service_nodes.iter().map(|s| remote(s.node.addresses().rpc.unwrap().port(), "service")));
    }
    let mut proxy_nodes = Vec::new();
    for (i, ports) in proxy_ports.into_iter().enumerate() {
        let mut cfg = proxy_config(&format!("proxy{i}"), &ports, &proxy_remotes, sessions);
        cfg.rpc.lanes = Some(lanes);
        proxy_nodes.push(TestNode::start(cfg, ports, EventTable::new()).await);
    }
    for p in &proxy_nodes {
        p.wait_linked(&route).await;
        route.wait_linked(p).await;
        if direct {
            for s in &service_nodes {
                p.wait_linked(s).await;
            }
        }
    }
    for s in &service_nodes {
        route.wait_linked(s).await;
    }
    Cluster { proxies: proxy_nodes, route, services: service_nodes, events }
}

/// A proxy config with a `websocket.sessions` section and one lane per
/// peer (as the test kit's configs, for the same reason).
pub fn proxy_config(name: &str, ports: &Ports, remotes: &[String], sessions: &str) -> espoir::NodeConfig {
    let text = format!(
        r#"{{
            "name": "{name}", "type": "proxy", "host": "127.0.0.1",
            "websocket": {{"port": {ws}, "timeout": 30, "offline_command": 999,
                // Every test client comes from 127.0.0.1, and some send
                // in tight loops: see `TRAFFIC_LIMITS`.
                "limits": {{ {TRAFFIC_LIMITS} }},
                "no_state": {{"range": [[30000, 39999]]}}, "sessions": {{ {sessions} }} }},
            "http": {{"port": {http}, "token": "{TOKEN}"}},
            "rpc": {{"port": {rpc}, "token": "{TOKEN}", "reconnect_time": 0.05, "heartbeat_interval": 0.1, "dead_after": 1, "lanes": 1}},
            "remote_ports": [{remotes}],
            "handler_timeout": 5,
        }}"#,
        ws = ports.ws_port(),
        http = ports.http_port(),
        rpc = ports.rpc_port(),
        remotes = remotes.join(","),
    );
    espoir::NodeConfig::from_json5_str(&text, std::path::Path::new(&format!("{name}.json5")))
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
}
