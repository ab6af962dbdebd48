//! Handlers that many cluster tests register: they say which node served
//! them, push to their session, take their time, or log in on a route.
//! Their ids follow [`crate::config`](mod@crate::config): 20000..=29999 are stateful (a session
//! sticks to one service), 30000..=39999 stateless (balanced), and 1000 is
//! the route's own (see [`crate::ROUTE_RULES`]).

use std::time::Duration;

use espoir::{Context, EventTable, Status, events, register_event};
use serde::Deserialize;
use serde_json::{Value, json};

/// The command of the frames [`push_me`] pushes.
pub const PUSHED: i32 = 50000;

/// Stateful (outside the proxies' no_state range): sticks to one service.
/// Answers `{"node", "session"}`.
#[register_event(20000)]
pub async fn whoami(ctx: Context, _req: Value) -> Result<Value, Status> {
    Ok(json!({ "node": ctx.node_id().to_string(), "session": ctx.session_id().map(ToString::to_string) }))
}

/// Stateless (inside the proxies' no_state range 30000..=39999). Answers
/// `{"node"}`.
#[register_event(30000)]
pub async fn whoami_stateless(ctx: Context, _req: Value) -> Result<Value, Status> {
    Ok(json!({ "node": ctx.node_id().to_string() }))
}

/// How many frames [`push_me`] pushes.
#[derive(Debug, Deserialize)]
pub struct PushReq {
    n: u32,
}

/// Pushes `n` frames `{"i": 0..n}` with [`PUSHED`] to its session, then
/// answers `{"pushed": n}`.
#[register_event(20003)]
pub async fn push_me(ctx: Context, req: PushReq) -> Result<Value, Status> {
    let session = ctx.require_session()?.clone();
    for i in 0..req.n {
        ctx.push(&session, PUSHED, &json!({ "i": i }))?;
    }
    Ok(json!({ "pushed": req.n }))
}

/// How long [`slow`] takes.
#[derive(Debug, Deserialize)]
pub struct Sleep {
    ms: u64,
}

/// Stateful and slow: answers `{"node", "slept"}` after `ms` milliseconds.
#[register_event(20005)]
pub async fn slow(ctx: Context, req: Sleep) -> Result<Value, Status> {
    tokio::time::sleep(Duration::from_millis(req.ms)).await;
    Ok(json!({ "node": ctx.node_id().to_string(), "slept": req.ms }))
}

/// Handled on routes: answers `{"code": 200, "node"}`.
#[register_event(1000)]
pub async fn login(ctx: Context, _req: Value) -> Result<Value, Status> {
    Ok(json!({ "code": 200, "node": ctx.node_id().to_string() }))
}

/// A service's table: [`whoami`], [`whoami_stateless`] and [`slow`].
pub fn service_events() -> EventTable {
    events![whoami, whoami_stateless, slow]
}

/// A route's table: [`login`].
pub fn route_events() -> EventTable {
    events![login]
}
