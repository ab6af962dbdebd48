//! Matchmaking across nodes: the pool lives on the one service that owns
//! the key "matchmaker" (`Context::owner`); a player's request to find a
//! match lands on any service, which hands the ticket to the owner
//! (`Context::call_node`); the owner puts each match's room on the
//! least-loaded live service, reserves its seats there, pins the players'
//! sessions to that node (`Context::pin_session`) and tells them. Their
//! next stateful message, the join, reaches the room's node whichever
//! service served them before.

#[path = "session_support/mod.rs"]
mod session_support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use espoir::matchmaking::{Match, MatchSettings, Matchmaker, Ticket};
use espoir::{
    Claimed, Context, EventTable, NodeId, NodeType, RoomId, RoomMember, RoomSettings, Rooms, Seats, Status,
    events, register_event,
};
use espoir_testkit::*;
use serde::Deserialize;
use serde_json::{Value, json};
use session_support::proxy_config;
use tokio::time::Instant;

const WHERE: i32 = 21216;
const JOIN: i32 = 21214;
/// Stateless (the test proxies' no_state range is 30000–39999): finding a
/// match must not pin the session to the service that served it.
const FIND: i32 = 31210;
const SELF_CALL: i32 = 31211;
const LOGIN: i32 = 31212;
const MATCHED: i32 = 52110;

/// What each service keeps: the pool (used on the owner only), its rooms
/// and their seats.
struct Host {
    pool: Mutex<Matchmaker<()>>,
    rooms: Mutex<Rooms<()>>,
    seats: Mutex<HashMap<RoomId, Seats>>,
}

impl Host {
    fn new(preloaded_rooms: usize) -> Host {
        let anyone = |_: &Ticket<()>, _: &Ticket<()>, _: Duration| true;
        let mut rooms = Rooms::new(64).unwrap();
        for i in 0..preloaded_rooms {
            let settings = RoomSettings::new(2).unwrap().empty_timeout(Duration::from_secs(3600));
            rooms.create(RoomId::new(format!("busy{i}")).unwrap(), settings, Instant::now()).unwrap();
        }
        Host {
            pool: Mutex::new(Matchmaker::new(MatchSettings::new(2, 2).unwrap(), anyone)),
            rooms: Mutex::new(rooms),
            seats: Mutex::new(HashMap::new()),
        }
    }
}

fn host(ctx: &Context) -> Result<Arc<Host>, Status> {
    ctx.state::<Arc<Host>>().map(|h| Arc::clone(&*h))
}

#[derive(Deserialize)]
struct Login {
    uid: String,
}

/// Stateless, so its answer pins nothing: binds the user and pins the
/// session to the busiest service, so that only the matchmaker's pin can
/// take the player's join anywhere else.
#[register_event(31212)]
async fn login(ctx: Context, req: Login) -> Result<Value, Status> {
    ctx.bind(req.uid).await?;
    let (busiest, _) = by_load(&ctx).await?.pop().ok_or_else(|| Status::unavailable("no service"))?;
    ctx.pin_session(ctx.require_session()?, &busiest).await?;
    Ok(json!({ "pinned": busiest.to_string() }))
}

/// Stateful: answered by the node the session is pinned to.
#[register_event(21216)]
async fn where_(ctx: Context) -> Result<Value, Status> {
    Ok(json!({ "node": ctx.node_id().to_string() }))
}

/// The live services with their room counts, fewest rooms first.
async fn by_load(ctx: &Context) -> Result<Vec<(NodeId, u64)>, Status> {
    let mut loads = Vec::new();
    for node in ctx.live_nodes(NodeType::Service) {
        let load: Value = ctx.call_node(&node, 21212, &json!({})).await?;
        loads.push((node, load["rooms"].as_u64().unwrap_or(u64::MAX)));
    }
    loads.sort_by_key(|(_, rooms)| *rooms);
    Ok(loads)
}

/// Any service: the ticket goes to the matchmaker's owner.
#[register_event(31210)]
async fn find(ctx: Context) -> Result<Value, Status> {
    let owner =
        ctx.owner(NodeType::Service, "matchmaker").ok_or_else(|| Status::unavailable("no matchmaker"))?;
    let _: Value = ctx.call_node(&owner, 21211, &json!({})).await?;
    Ok(json!({ "owner": owner.to_string(), "node": ctx.node_id().to_string() }))
}

/// The owner: queues the caller's session (the call carries it) and starts
/// the matches that form.
#[register_event(21211)]
async fn enqueue(ctx: Context) -> Result<Value, Status> {
    let session = ctx.require_session()?.clone();
    let uid = ctx.uid().ok_or_else(|| Status::new(espoir::Code::UNAUTHENTICATED, "log in first"))?;
    let matches = {
        let host = host(&ctx)?;
        let mut pool = host.pool.lock().unwrap();
        pool.add(vec![RoomMember { session, uid: Some(uid) }], (), Instant::now())?;
        pool.poll(Instant::now()).matches
    };
    for m in matches {
        start(&ctx, &m).await?;
    }
    Ok(json!({}))
}

/// The least-loaded live service gets the room; its players are pinned to
/// it and told.
async fn start(ctx: &Context, m: &Match<()>) -> Result<(), Status> {
    let (node, _) = by_load(ctx)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| Status::unavailable("no service for the room"))?;
    let room = format!("match{}", m.tickets[0].id().get());
    let uids: Vec<String> = m.players().filter_map(|p| p.uid.clone()).collect();
    let _: Value = ctx.call_node(&node, 21213, &json!({ "room": room, "uids": uids })).await?;
    for player in m.players() {
        ctx.pin_session(&player.session, &node).await?;
        ctx.push(&player.session, MATCHED, &json!({ "room": room, "node": node.to_string() }))?;
    }
    Ok(())
}

#[register_event(21212)]
async fn load(ctx: Context) -> Result<Value, Status> {
    Ok(json!({ "rooms": host(&ctx)?.rooms.lock().unwrap().len() }))
}

#[derive(Deserialize)]
struct Create {
    room: String,
    uids: Vec<String>,
}

/// The room's node: makes the room and reserves a seat per player.
#[register_event(21213)]
async fn create(ctx: Context, req: Create) -> Result<Value, Status> {
    let host = host(&ctx)?;
    let id = RoomId::new(req.room)?;
    let settings = RoomSettings::new(req.uids.len())?;
    let now = Instant::now();
    host.rooms.lock().unwrap().create(id.clone(), settings, now)?;
    let mut seats = Seats::new(req.uids.len());
    for uid in &req.uids {
        seats.reserve(uid, now + Duration::from_secs(60))?;
    }
    host.seats.lock().unwrap().insert(id, seats);
    Ok(json!({}))
}

#[derive(Deserialize)]
struct Join {
    room: String,
}

/// Stateful: reaches the node the session is pinned to.
#[register_event(21214)]
async fn join(ctx: Context, req: Join) -> Result<Value, Status> {
    let host = host(&ctx)?;
    let id = RoomId::new(req.room)?;
    let session = ctx.require_session()?.clone();
    let uid = ctx.uid().ok_or_else(|| Status::new(espoir::Code::UNAUTHENTICATED, "log in first"))?;
    let claimed = {
        let mut seats = host.seats.lock().unwrap();
        let seats = seats.get_mut(&id).ok_or_else(|| Status::not_found(format!("no room {id} here")))?;
        seats.claim(&uid, session.clone(), Instant::now())?
    };
    host.rooms.lock().unwrap().room(&id)?.join(session, Some(uid), Instant::now())?;
    Ok(json!({ "node": ctx.node_id().to_string(), "seated": claimed == Claimed::Seated }))
}

/// Calls this very node by id.
#[register_event(31211)]
async fn self_call(ctx: Context) -> Result<Value, Status> {
    let me = ctx.node_id().clone();
    let load: Value = ctx.call_node(&me, 21212, &json!({})).await?;
    let nowhere = NodeId::of("127.0.0.1", 1);
    let unreachable = ctx.call_node::<_, Value>(&nowhere, 21212, &json!({})).await.unwrap_err();
    let session = ctx.require_session()?.clone();
    let unpinnable = ctx.pin_session(&session, &nowhere).await.unwrap_err();
    Ok(json!({
        "node": me.to_string(), "load": load,
        "unreachable": unreachable.code().0, "unpinnable": unpinnable.code().0,
    }))
}

fn handlers() -> EventTable {
    events![login, where_, find, enqueue, load, create, join, self_call]
}

struct Cluster {
    proxy: TestNode,
    services: Vec<TestNode>,
    _route: TestNode,
}

/// A route, a proxy and two services; the first already holds three rooms.
async fn cluster() -> Cluster {
    let route_ports = Ports::bind().await;
    let proxy_ports = Ports::bind().await;
    let service_ports = [Ports::bind().await, Ports::bind().await];
    let mut remotes = vec![remote(proxy_ports.rpc_port(), "proxy")];
    remotes.extend(service_ports.iter().map(|p| remote(p.rpc_port(), "service")));
    let rules = r#", "route": {"range": {"service": [[5001, 100000]]}}"#;
    let route = TestNode::start(
        config("route", "route", &route_ports, &remotes, rules, ""),
        route_ports,
        EventTable::new(),
    )
    .await;
    let to_route = [remote(route.rpc_port(), "route")];
    let mut services = Vec::new();
    for (i, ports) in service_ports.into_iter().enumerate() {
        let cfg = config(&format!("service{i}"), "service", &ports, &to_route, rules, "");
        let state = Arc::new(Host::new(if i == 0 { 3 } else { 0 }));
        services.push(TestNode::start_with(cfg, ports, move |b| b.events(handlers()).state(state)).await);
    }
    let proxy =
        TestNode::start(proxy_config("proxy", &proxy_ports, &to_route, ""), proxy_ports, EventTable::new())
            .await;
    proxy.wait_linked(&route).await;
    for s in &services {
        route.wait_linked(s).await;
    }
    // Each service knows the other from the route's member list.
    for s in &services {
        wait_until("a service knows both services", async || {
            let (_, nodes) = admin(s, "GET", "/nodes").await;
            let members = nodes["members"].as_array().cloned().unwrap_or_default();
            members.iter().filter(|m| m["type"] == "service").count() == 2
        })
        .await;
    }
    Cluster { proxy, services, _route: route }
}

#[tokio::test]
async fn a_match_puts_its_room_on_the_least_loaded_node_and_pins_its_players_there() {
    let c = cluster().await;
    let busy = c.services[0].node.id().to_string();
    let idle = c.services[1].node.id().to_string();
    let mut players = Vec::new();
    for uid in ["ann", "bob"] {
        let mut client = Client::connect(&c.proxy.ws_url()).await;
        let logged = client.call(LOGIN, &json!({ "uid": uid })).await;
        assert_eq!(logged["pinned"], json!(busy), "{logged}");
        let here = client.call(WHERE, &json!({})).await;
        assert_eq!(here["node"], json!(busy), "a pinned session's stateful message goes to its pin");
        players.push(client);
    }
    // Each finds a match through whichever service the balancer picks;
    // both name the same owner.
    let mut owners = Vec::new();
    for client in &mut players {
        let found = client.call(FIND, &json!({})).await;
        owners.push(found["owner"].clone());
    }
    assert_eq!(owners[0], owners[1], "one matchmaker for the cluster");

    for client in &mut players {
        let matched = client.push(MATCHED).await;
        assert_eq!(matched["node"], json!(idle), "the room goes to the service with fewer rooms: {matched}");
        let joined = client.call(JOIN, &json!({ "room": matched["room"] })).await;
        assert_eq!(joined["node"], json!(idle), "the join reaches the room's node: {joined}");
        assert_eq!(joined["seated"], json!(true), "{joined}");
    }
}

#[tokio::test]
async fn a_node_calls_itself_by_id_and_refuses_unknown_nodes_clearly() {
    let c = cluster().await;
    let mut client = Client::connect(&c.proxy.ws_url()).await;
    client.call(LOGIN, &json!({ "uid": "cat" })).await;
    let answer = client.call(SELF_CALL, &json!({})).await;
    let node = answer["node"].as_str().expect("a node id").to_owned();
    let expected = if node == c.services[0].node.id().to_string() { 3 } else { 0 };
    assert_eq!(answer["load"]["rooms"], json!(expected), "ran on the caller itself: {answer}");
    assert_eq!(answer["unreachable"], json!(503), "{answer}");
    assert_eq!(answer["unpinnable"], json!(400), "{answer}");
}
