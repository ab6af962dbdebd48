//! A chat-room game on espoir: players log in with a name, join a room and
//! say lines that everyone else in the room hears.
//!
//! The client's commands are 200001 to 200004 and its pushes 200101 to
//! 200103; the configs route 200000 to 200099 to the service. 999 is the
//! proxy's close notice.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use espoir::{Code, Context, EventTable, Member, NodeBuilder, Status, events, register_event};
use serde::Deserialize;
use serde_json::{Value, json};

/// Command ids: the client's requests, and the pushes it gets.
pub mod ids {
    /// `{"name"}` → `{"name"}`.
    pub const LOGIN: i32 = 200001;
    /// `{"room"}` → `{"room", "members"}`.
    pub const JOIN: i32 = 200002;
    /// `{"text"}` → `{}`; the others in the room get [`MESSAGE`].
    pub const SAY: i32 = 200003;
    /// `{}` → `{}`.
    pub const LEAVE: i32 = 200004;
    /// Push `{"room", "name"}`: someone joined your room.
    pub const JOINED: i32 = 200101;
    /// Push `{"room", "from", "text"}`: a line said in your room.
    pub const MESSAGE: i32 = 200102;
    /// Push `{"room", "name"}`: someone left your room.
    pub const LEFT: i32 = 200103;
}

/// The handler group: what a node whose `api_path` names "chat.service" runs.
pub fn service(node: NodeBuilder) -> NodeBuilder {
    node.events(events()).state(Rooms::default())
}

/// The chat's handlers.
pub fn events() -> EventTable {
    events![login, join, say, leave, offline]
}

/// Who is in which room: the service's own state.
#[derive(Debug, Default)]
pub struct Rooms(Mutex<BTreeMap<String, BTreeSet<String>>>);

impl Rooms {
    fn enter(&self, room: &str, name: &str) -> Vec<String> {
        let mut rooms = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let members = rooms.entry(room.to_owned()).or_default();
        members.insert(name.to_owned());
        members.iter().cloned().collect()
    }

    fn exit(&self, room: &str, name: &str) {
        let mut rooms = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(members) = rooms.get_mut(room) {
            members.remove(name);
            if members.is_empty() {
                rooms.remove(room);
            }
        }
    }
}

/// A login.
#[derive(Deserialize)]
pub struct Login {
    name: String,
}

/// Logs in: the session is bound to the name.
#[register_event(200001)]
pub async fn login(ctx: Context, req: Login) -> Result<Value, Status> {
    let name = req.name.trim();
    if name.is_empty() || name.len() > 32 {
        return Err(Status::bad_request("a name is 1 to 32 bytes"));
    }
    ctx.bind(name).await?;
    Ok(json!({ "name": name }))
}

/// A room to join.
#[derive(Deserialize)]
pub struct Join {
    room: String,
}

/// Joins a room (leaving the one the player is in); the others there hear it.
#[register_event(200002)]
pub async fn join(ctx: Context, req: Join) -> Result<Value, Status> {
    let name = ctx.uid().ok_or_else(|| Status::new(Code::UNAUTHENTICATED, "log in first"))?;
    leave_room(&ctx, &name).await?;
    let session = ctx.require_session()?.clone();
    ctx.join_group(&req.room, Member::Session(session)).await?;
    ctx.set_session_data("room", &req.room).await?;
    ctx.broadcast_others(&req.room, ids::JOINED, &json!({ "room": req.room, "name": name }))?;
    let members = ctx.state::<Rooms>()?.enter(&req.room, &name);
    Ok(json!({ "room": req.room, "members": members }))
}

/// A line to say.
#[derive(Deserialize)]
pub struct Say {
    text: String,
}

/// Says a line to everyone else in the player's room.
#[register_event(200003)]
pub async fn say(ctx: Context, req: Say) -> Result<Value, Status> {
    let name = ctx.uid().ok_or_else(|| Status::new(Code::UNAUTHENTICATED, "log in first"))?;
    let room: String = ctx.session_data("room")?.ok_or_else(|| Status::bad_request("join a room first"))?;
    let line = json!({ "room": room, "from": name, "text": req.text });
    ctx.broadcast_others(&room, ids::MESSAGE, &line)?;
    Ok(json!({}))
}

/// Leaves the player's room.
#[register_event(200004)]
pub async fn leave(ctx: Context) -> Result<Value, Status> {
    let name = ctx.uid().ok_or_else(|| Status::new(Code::UNAUTHENTICATED, "log in first"))?;
    leave_room(&ctx, &name).await?;
    Ok(json!({}))
}

/// The proxy's close notice: the player's connection is gone. Its session
/// data still says which room it was in.
#[register_event(999, need_return = false)]
pub async fn offline(ctx: Context) -> Result<(), Status> {
    let (Some(name), Some(room)) = (ctx.uid(), ctx.session_data::<String>("room")?) else { return Ok(()) };
    ctx.state::<Rooms>()?.exit(&room, &name);
    ctx.broadcast(&room, ids::LEFT, &json!({ "room": room, "name": name }))
}

async fn leave_room(ctx: &Context, name: &str) -> Result<(), Status> {
    let Some(room) = ctx.session_data::<String>("room")? else { return Ok(()) };
    let session = ctx.require_session()?.clone();
    ctx.leave_group(&room, Member::Session(session)).await?;
    ctx.remove_session_data("room").await?;
    ctx.state::<Rooms>()?.exit(&room, name);
    ctx.broadcast(&room, ids::LEFT, &json!({ "room": room, "name": name }))
}
