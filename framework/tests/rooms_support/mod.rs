//! A service node that keeps rooms, for the rooms tests: a ticking
//! two-seat "walk" room whose members move by inputs, its state pushed to
//! the room's group each tick; a loop holds its node's drain while it
//! runs, and a watcher applies the rooms' drain policy and tells the
//! members of the rooms that ended. Two proxies and the service around a
//! route.
#![allow(dead_code, unreachable_pub, missing_docs)]

#[path = "../session_support/mod.rs"]
mod session_support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use espoir::{
    Context, DrainPolicy, EventTable, Left, Member, PushMode, RoomGame, RoomId, RoomSettings, Rooms,
    Shutdown, Status, Tick, TickRate, events, register_event, run_tick_loop,
};
use espoir_testkit::*;
use serde::Deserialize;
use serde_json::{Value, json};
use session_support::proxy_config;
use tokio::time::Instant;

pub const ROOM_JOIN: i32 = 21100;
pub const ROOM_MOVE: i32 = 21101;
pub const ROOM_LEAVE: i32 = 21102;
pub const ROOM_STATE: i32 = 52100;
pub const ROOM_ENDED: i32 = 52101;

/// The service's rooms, the node's own context (for the loops' pushes)
/// and how many loops ended.
pub struct Host {
    pub rooms: Arc<Mutex<Rooms<i64>>>,
    pub policy: DrainPolicy,
    node: OnceLock<(Context, Shutdown)>,
    pub loops_ended: AtomicUsize,
}

impl Host {
    fn new(policy: DrainPolicy) -> Host {
        Host {
            rooms: Arc::new(Mutex::new(Rooms::new(16).unwrap())),
            policy,
            node: OnceLock::new(),
            loops_ended: AtomicUsize::new(0),
        }
    }
}

/// Each member's position, moved by its inputs.
struct Walk {
    ctx: Context,
    group: String,
    positions: BTreeMap<String, i64>,
}

impl RoomGame for Walk {
    type Input = i64;

    fn step(&mut self, tick: Tick<i64>) -> bool {
        let changed = !tick.inputs.is_empty();
        for input in tick.inputs {
            *self.positions.entry(input.from.to_string()).or_default() += input.input;
        }
        changed
    }

    fn push(&mut self, tick: u64) {
        let state = json!({ "tick": tick, "positions": self.positions });
        if let Err(err) = self.ctx.broadcast(&self.group, ROOM_STATE, &state) {
            tracing::warn!(%err, "state push failed");
        }
    }
}

fn host(ctx: &Context) -> Result<Arc<Host>, Status> {
    ctx.state::<Arc<Host>>().map(|h| Arc::clone(&*h))
}

fn room_id(name: &str) -> Result<RoomId, Status> {
    Ok(RoomId::new(name)?)
}

#[derive(Deserialize)]
struct JoinRoom {
    room: String,
}

#[register_event(21100)]
async fn room_join(ctx: Context, req: JoinRoom) -> Result<Value, Status> {
    let host = host(&ctx)?;
    let id = room_id(&req.room)?;
    let session = ctx.require_session()?.clone();
    let fresh = {
        let mut rooms = host.rooms.lock().unwrap();
        let now = Instant::now();
        rooms.poll(now);
        let fresh = rooms.get(&id).is_none();
        if fresh {
            let settings =
                RoomSettings::new(2)?.ticking(TickRate::hz(20)?, PushMode::EveryTick).on_drain(host.policy);
            rooms.create(id.clone(), settings, now)?;
        }
        rooms.room(&id)?.join(session.clone(), ctx.uid(), now)?;
        fresh
    };
    ctx.join_group(&id.group(), Member::Session(session)).await?;
    if fresh {
        let (node_ctx, shutdown) = host.node.get().cloned().ok_or_else(|| Status::internal("not started"))?;
        let game = Walk { ctx: node_ctx, group: id.group(), positions: BTreeMap::new() };
        let rooms = Arc::clone(&host.rooms);
        // The loop holds the drain: a finishing room keeps its node up.
        let hold = ctx.hold_drain();
        shutdown.clone().spawn(async move {
            run_tick_loop(rooms, id, game, shutdown).await;
            drop(hold);
            host.loops_ended.fetch_add(1, Ordering::SeqCst);
        });
    }
    Ok(json!({ "node": ctx.node_id().to_string() }))
}

#[derive(Deserialize)]
struct Move {
    room: String,
    dx: i64,
}

#[register_event(21101)]
async fn room_move(ctx: Context, req: Move) -> Result<Value, Status> {
    let session = ctx.require_session()?.clone();
    host(&ctx)?.rooms.lock().unwrap().room(&room_id(&req.room)?)?.submit(session, req.dx)?;
    Ok(json!({}))
}

#[register_event(21102)]
async fn room_leave(ctx: Context, req: JoinRoom) -> Result<Value, Status> {
    let id = room_id(&req.room)?;
    let session = ctx.require_session()?.clone();
    let left = host(&ctx)?.rooms.lock().unwrap().room(&id)?.leave(&session, Instant::now())?;
    ctx.leave_group(&id.group(), Member::Session(session)).await?;
    Ok(json!({ "disposed": matches!(left, Left::Disposed(_)) }))
}

/// When the node drains: applies each room's policy and tells the members
/// of the rooms that ended, holding the drain until they are told.
async fn watch_drain(ctx: Context, shutdown: Shutdown, host: Arc<Host>) {
    let hold = ctx.hold_drain();
    tokio::select! {
        () = ctx.draining() => {}
        () = shutdown.cancelled() => return,
    }
    let ended = host.rooms.lock().unwrap().drain();
    for (id, end) in ended {
        let notice = json!({ "room": id.as_str(), "reason": end.reason.as_str() });
        if let Err(err) = ctx.broadcast(&id.group(), ROOM_ENDED, &notice) {
            tracing::warn!(%err, room = %id, "could not tell the members");
        }
    }
    drop(hold);
}

/// Stateless (in the proxies' no_state range): balanced over services.
pub const WHERE: i32 = 31100;

#[register_event(31100)]
async fn where_(ctx: Context) -> Result<Value, Status> {
    Ok(json!({ "node": ctx.node_id().to_string() }))
}

fn room_events() -> EventTable {
    events![room_join, room_move, room_leave, where_]
}

pub struct Cluster {
    pub proxies: Vec<TestNode>,
    pub route: TestNode,
    /// The first service, and the rooms it keeps.
    pub service: TestNode,
    pub host: Arc<Host>,
    /// The other services, with theirs.
    pub others: Vec<(TestNode, Arc<Host>)>,
}

/// Two proxies and one service around a route; the service's rooms follow
/// `policy` when it drains.
pub async fn cluster(policy: DrainPolicy) -> Cluster {
    cluster_of(policy, 1).await
}

/// As [`cluster`], with `services` services.
pub async fn cluster_of(policy: DrainPolicy, services: usize) -> Cluster {
    cluster_with(policy, services, "").await
}

/// As [`cluster_of`], with `sessions` as the proxies' `websocket.sessions`
/// keys.
pub async fn cluster_with(policy: DrainPolicy, services: usize, sessions: &str) -> Cluster {
    let route_ports = Ports::bind().await;
    let proxy_ports = [Ports::bind().await, Ports::bind().await];
    let mut service_ports = Vec::new();
    for _ in 0..services {
        service_ports.push(Ports::bind().await);
    }
    let mut remotes: Vec<String> = proxy_ports.iter().map(|p| remote(p.rpc_port(), "proxy")).collect();
    remotes.extend(service_ports.iter().map(|p| remote(p.rpc_port(), "service")));
    let rules = r#", "route": {"range": {"route": [[0, 5000]], "service": [[5001, 100000]]}}"#;
    let route = TestNode::start(
        config("route", "route", &route_ports, &remotes, rules, ""),
        route_ports,
        EventTable::new(),
    )
    .await;
    let to_route = [remote(route.rpc_port(), "route")];
    let mut started_services = Vec::new();
    for (i, ports) in service_ports.into_iter().enumerate() {
        started_services.push(service(&format!("service{i}"), ports, &to_route, policy).await);
    }
    let mut proxies = Vec::new();
    for (i, ports) in proxy_ports.into_iter().enumerate() {
        let cfg = proxy_config(&format!("proxy{i}"), &ports, &to_route, sessions);
        proxies.push(TestNode::start(cfg, ports, EventTable::new()).await);
    }
    for p in &proxies {
        p.wait_linked(&route).await;
        route.wait_linked(p).await;
    }
    for (s, _) in &started_services {
        route.wait_linked(s).await;
    }
    let mut started_services = started_services.into_iter();
    let (service, host) = started_services.next().expect("at least one service");
    Cluster { proxies, route, service, host, others: started_services.collect() }
}

/// A service keeping rooms, linked to the route.
async fn service(
    name: &str,
    ports: Ports,
    to_route: &[String],
    policy: DrainPolicy,
) -> (TestNode, Arc<Host>) {
    let rules = r#", "route": {"range": {"service": [[5001, 100000]]}}"#;
    let cfg = config(name, "service", &ports, to_route, rules, "");
    let host = Arc::new(Host::new(policy));
    let (state, started) = (Arc::clone(&host), Arc::clone(&host));
    let service = TestNode::start_with(cfg, ports, move |b| {
        let stats = Arc::clone(state.rooms.lock().unwrap().stats());
        b.events(room_events()).room_stats(stats).state(state).on_start(move |ctx, shutdown| {
            let _ = started.node.set((ctx.clone(), shutdown.clone()));
            shutdown.clone().spawn(watch_drain(ctx, shutdown, started));
        })
    })
    .await;
    (service, host)
}

/// Reads `client`'s state pushes until one satisfies `done` (each push is
/// one tick; the bound is generous, never a time).
pub async fn state_until(client: &mut Client, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..400 {
        let state = json_of(&client.next_of(ROOM_STATE).await);
        if done(&state) {
            return state;
        }
    }
    panic!("no state push satisfied the test");
}
