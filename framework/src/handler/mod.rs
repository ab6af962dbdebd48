//! Handlers: the game developer's side of espoir.
//!
//! A handler is an `async fn(ctx: Context, request: T) -> Result<R, Status>`
//! marked `#[register_event(ID)]`, where `T` and `R` are serde types (JSON on
//! the client side). Handlers are collected with `events![a, b, c]` into an
//! [`EventTable`] and given to a node; nothing is registered globally.
//!
//! * `event`: the [`EventHandler`] trait the macro implements.
//! * `table`: [`EventTable`], handlers by command id.
//! * `context`: [`Context`], the handler's view of its node, and
//!   [`AppState`]; `session_api`: the session side of [`Context`] (binding,
//!   session data, kicks, groups); `topics`: its topic side (subscribe,
//!   unsubscribe, publish); `drain`: its drain side (is the node
//!   draining, hold the drain: [`DrainHold`]); `nodes`: its cluster side
//!   (live nodes of a type, a key's owner, calls to one node, session
//!   pins); `room`: its room side (the session's room in its data and
//!   group: [`ROOM_KEY`]).
//! * `scope`: what a message carries of its session, read by the context
//!   and passed on by its calls.
//! * `json`: bodies as JSON ([`IntoReply`], [`decode_body`]).
//! * `unique`: the compile-time duplicate-id check of `events![]`.
//! * `hints`: commands that go astray (no handler here, or a handler here
//!   but routed away), and the hints they log.

mod context;
mod drain;
mod event;
mod hints;
mod json;
mod nodes;
mod room;
mod scope;
mod session_api;
mod table;
mod topics;
mod unique;

pub(crate) use context::{ApiFuture, NodeApi};
pub use context::{AppState, Context};
pub use drain::DrainHold;
pub use event::{EventHandler, HandlerFuture};
pub(crate) use hints::{Arrival, RouteHints};
pub use json::{IntoReply, decode_body, encode_body, error_body};
pub use room::ROOM_KEY;
pub(crate) use scope::{CallScope, SessionView};
pub use table::{DuplicateEvent, EventTable};
pub use unique::{DuplicateIdMessage, duplicate_id};
