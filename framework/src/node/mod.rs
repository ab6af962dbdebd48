//! Running a node: the builder that wires the transport, the router, the
//! handlers and the listeners a role needs, and the shared state every
//! room of the crate works on.
//!
//! * a **proxy** opens its websocket port (and HTTP), holds client sessions
//!   and forwards their frames (`gateway/`, `sessions/`);
//! * a **route** relays messages between nodes that have no direct link and
//!   runs the handlers mapped to it (`dispatch/`, `cluster/`);
//! * a **service** runs handlers and answers the session's proxy, directly
//!   when linked, else through a route.
//!
//! Layout:
//!
//! * `builder`: [`NodeBuilder`] and [`Node`]; `jobs` and `rooms`: the
//!   builder's job and room-stats parts; `handler_groups`:
//!   [`HandlerGroups`], handler tables chosen by `api_path`.
//! * `running`: [`RunningNode`] and its [`Addresses`].
//! * `state`: `NodeState`, what every part of a running node shares.
//! * `api`: the node as its handlers see it (the `NodeApi` behind
//!   [`Context`](crate::Context)); `addressed`: its calls to one node by
//!   id and its live nodes of a type.
//! * `span`: the node's tracing span.

mod addressed;
mod api;
mod builder;
mod handler_groups;
mod jobs;
mod rooms;
mod running;
mod span;
mod state;

pub use builder::{Node, NodeBuilder, NodeError};
pub use handler_groups::{HandlerGroups, UnknownGroup};
pub(crate) use rooms::RoomCounters;
pub use running::{Addresses, RunningNode};
#[cfg(feature = "cli")]
pub(crate) use span::is_node_span;
pub(crate) use span::node_span;
pub(crate) use state::NodeState;
// Until the gateway's forwarding imports it from its home.
pub(crate) use crate::dispatch::NO_REPLY;
