//! The client's commands and the proxy's close notice.

use std::sync::Arc;

use espoir::{
    Claimed, Code, Context, Joined, Member, RoomError, RoomId, RoomMember, SessionId, Status, register_event,
};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::board::{Dir, MAX_PLAYERS};
use crate::host::{Host, Steer};
use crate::ids;
use crate::settings::Settings;

/// The session data key naming the player's room.
pub const ROOM_KEY: &str = "arena.room";

fn host(ctx: &Context) -> Result<Arc<Host>, Status> {
    ctx.state::<Arc<Host>>().map(|h| Arc::clone(&*h))
}

fn uid(ctx: &Context) -> Result<String, Status> {
    ctx.uid().ok_or_else(|| Status::new(Code::UNAUTHENTICATED, "log in first"))
}

fn my_room(ctx: &Context) -> Result<RoomId, Status> {
    let room: String = ctx.session_data(ROOM_KEY)?.ok_or_else(|| Status::bad_request("join a room first"))?;
    Ok(RoomId::new(room)?)
}

/// A login: a name, 1 to 32 letters, digits, `-` or `_`.
#[derive(Debug, Deserialize)]
pub struct Login {
    name: String,
}

/// 120001: binds the session to the name.
#[register_event(120001)]
pub async fn login(ctx: Context, req: Login) -> Result<Value, Status> {
    let name = req.name.trim();
    let ok = (1..=32).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok {
        return Err(Status::bad_request("a name is 1 to 32 letters, digits, '-' or '_'"));
    }
    let previous = ctx.uid();
    ctx.bind(name).await?;
    let session = ctx.require_session()?.clone();
    let host = host(&ctx)?;
    let mut online = host.online();
    // A session logging in under another name is no longer the old one.
    if let Some(previous) = previous.filter(|p| p != name)
        && online.get(&previous) == Some(&session)
    {
        online.remove(&previous);
    }
    online.insert(name.to_owned(), session);
    Ok(json!({ "name": name }))
}

/// A request for a match.
#[derive(Debug, Deserialize)]
pub struct Find {
    /// Players only meet players of the same mode. Default `"classic"`.
    #[serde(default = "classic")]
    mode: String,
    /// Friends (user ids logged in on this service) who play in the same
    /// room, never split.
    #[serde(default)]
    party: Vec<String>,
}

fn classic() -> String {
    "classic".to_owned()
}

/// 120002: queues the player (and their party) for a match; `MATCHED`
/// follows.
#[register_event(120002)]
pub async fn find(ctx: Context, req: Find) -> Result<Value, Status> {
    let me = uid(&ctx)?;
    let mode_ok = (1..=16).contains(&req.mode.len())
        && req.mode.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !mode_ok {
        return Err(Status::bad_request("a mode is 1 to 16 letters, digits or '-'"));
    }
    if req.party.len() >= MAX_PLAYERS {
        return Err(Status::bad_request(format!("a party is at most {MAX_PLAYERS} players with you")));
    }
    let host = host(&ctx)?;
    let mut players = vec![RoomMember { session: ctx.require_session()?.clone(), uid: Some(me) }];
    {
        let online = host.online();
        for friend in &req.party {
            let session =
                online.get(friend).ok_or_else(|| Status::not_found(format!("{friend} is not online")))?;
            players.push(RoomMember { session: session.clone(), uid: Some(friend.clone()) });
        }
    }
    let ticket = host.pool().add(players, req.mode.clone(), Instant::now())?;
    Ok(json!({ "ticket": ticket.get(), "mode": req.mode }))
}

/// 120003: takes the player's ticket (their whole party) out of the pool.
#[register_event(120003)]
pub async fn cancel(ctx: Context) -> Result<Value, Status> {
    let session = ctx.require_session()?.clone();
    let cancelled = host(&ctx)?.pool().cancel_session(&session).is_some();
    Ok(json!({ "cancelled": cancelled }))
}

/// A room to join.
#[derive(Debug, Deserialize)]
pub struct Join {
    room: String,
}

/// 120004: takes the player's seat in the room they were matched into:
/// `seated` the first time, `kept` when the session holds it already (it
/// resumed), `returned` after a drop the room saw (a new login within the
/// reconnection window), `replaced` when a second login of the user takes
/// the seat over (the first gets `REPLACED`).
#[register_event(120004)]
pub async fn join(ctx: Context, req: Join) -> Result<Value, Status> {
    let me = uid(&ctx)?;
    let id = RoomId::new(req.room)?;
    let session = ctx.require_session()?.clone();
    let host = host(&ctx)?;
    let now = Instant::now();
    let (claimed, joined, players) = {
        let mut tables = host.tables();
        let table = tables.get_mut(&id).ok_or_else(|| Status::not_found("no such room"))?;
        let claimed = table.seats.claim(&me, session.clone(), now)?;
        let mut rooms = host.rooms();
        let room = rooms.room(&id)?;
        if let Claimed::Replaced { old } = &claimed {
            match room.leave(old, now) {
                Ok(_) | Err(RoomError::NotMember) => {}
                Err(err) => return Err(err.into()),
            }
        }
        let joined = room.join(session.clone(), Some(me.clone()), now)?;
        (claimed, joined, table.players.clone())
    };
    // The session's last room is over or left: out of its group (rooms
    // leave their members in the group so the result reaches them).
    let previous: Option<String> = ctx.session_data(ROOM_KEY)?;
    if let Some(previous) = previous.filter(|p| p != id.as_str()) {
        let group = RoomId::new(previous)?.group();
        ctx.leave_group(&group, Member::Session(session.clone())).await?;
    }
    ctx.join_group(&id.group(), Member::Session(session)).await?;
    ctx.set_session_data(ROOM_KEY, id.as_str()).await?;
    let seat = match &claimed {
        // The session held the seat already: it resumed after a lost
        // connection (the room never saw it leave), or retried its join.
        Claimed::Seated if joined == Joined::Already => "kept",
        Claimed::Seated => "seated",
        Claimed::Returned => "returned",
        Claimed::Replaced { old } => {
            replaced(&ctx, &id, old).await;
            "replaced"
        }
    };
    if matches!(claimed, Claimed::Returned | Claimed::Replaced { .. }) {
        ctx.broadcast_others(
            &id.group(),
            ids::SEAT,
            &json!({ "room": id.as_str(), "player": me, "seat": "back" }),
        )?;
    }
    Ok(json!({ "room": id.as_str(), "seat": seat, "players": players }))
}

/// The session a second login took the seat from leaves the group and is
/// told.
async fn replaced(ctx: &Context, id: &RoomId, old: &SessionId) {
    if let Err(err) = ctx.leave_group(&id.group(), Member::Session(old.clone())).await {
        tracing::debug!(%err, "the replaced session is gone");
    }
    if let Err(err) = ctx.push(old, ids::REPLACED, &json!({ "room": id.as_str() })) {
        tracing::debug!(%err, "the replaced session is gone");
    }
}

/// A move.
#[derive(Debug, Deserialize)]
pub struct Move {
    dir: Dir,
}

/// 120005: queues a move for the room's next tick.
#[register_event(120005)]
pub async fn steer(ctx: Context, req: Move) -> Result<Value, Status> {
    let me = uid(&ctx)?;
    let id = my_room(&ctx)?;
    let session = ctx.require_session()?.clone();
    host(&ctx)?.rooms().room(&id)?.submit(session, Steer { uid: me, dir: req.dir })?;
    Ok(json!({}))
}

/// 120006: leaves the room for good; the seat is freed and the others
/// told.
#[register_event(120006)]
pub async fn leave(ctx: Context) -> Result<Value, Status> {
    let me = uid(&ctx)?;
    let id = my_room(&ctx)?;
    let session = ctx.require_session()?.clone();
    let host = host(&ctx)?;
    {
        let mut tables = host.tables();
        if let Some(table) = tables.get_mut(&id) {
            table.seats.release(&me);
        }
        if let Ok(room) = host.rooms().room(&id) {
            let _ = room.leave(&session, Instant::now());
        }
    }
    ctx.leave_group(&id.group(), Member::Session(session)).await?;
    ctx.remove_session_data(ROOM_KEY).await?;
    ctx.broadcast(&id.group(), ids::SEAT, &json!({ "room": id.as_str(), "player": me, "seat": "left" }))?;
    Ok(json!({}))
}

/// 999, the proxy's close notice: the session is gone (closed, lost past
/// its resume grace, kicked). Its ticket leaves the pool; its seat waits
/// the reconnection window, and the room is told.
#[register_event(999, need_return = false)]
pub async fn offline(ctx: Context) -> Result<(), Status> {
    let Some(session) = ctx.session_id().cloned() else { return Ok(()) };
    let host = host(&ctx)?;
    host.pool().cancel_session(&session);
    let Some(me) = ctx.uid() else { return Ok(()) };
    {
        let mut online = host.online();
        if online.get(&me) == Some(&session) {
            online.remove(&me);
        }
    }
    let Ok(id) = my_room(&ctx) else { return Ok(()) };
    let window = host.settings.reconnect_window_ms;
    let away = {
        let mut tables = host.tables();
        let Some(table) = tables.get_mut(&id) else { return Ok(()) };
        let now = Instant::now();
        let away = table.seats.away(&session, now, Settings::ms(window));
        if away && let Ok(room) = host.rooms().room(&id) {
            // A member no longer: the room plays on without their inputs.
            let _ = room.leave(&session, now);
        }
        away
    };
    if away {
        tracing::info!(room = %id, player = %me, "player away");
        let body = json!({ "room": id.as_str(), "player": me, "seat": "away", "window_ms": window });
        ctx.broadcast(&id.group(), ids::SEAT, &body)?;
    }
    Ok(())
}
