//! Running a node: wiring the transport, the router, the handlers and the
//! listeners a role needs.
//!
//! * a **proxy** opens its websocket port (and HTTP), holds client sessions
//!   and forwards their frames;
//! * a **route** relays messages between nodes that have no direct link and
//!   runs the handlers mapped to it;
//! * a **service** runs handlers and answers the session's proxy, directly
//!   when linked, else through a route.
//!
//! Every node opens its RPC port and dials its `remote_ports`.
//!
//! Operations (`docs/operations.md`): `admin` serves the admin endpoints on
//! the HTTP port; `reload` (with the pure `config_diff`) and `watch` apply
//! config changes live; `membership` learns and announces members through
//! routes; `drain` stops a node gracefully; `metrics` counts per node.
//!
//! Limits (`docs/config.md#limits`): `limits` (message and byte rates),
//! `ip_limit` (clients per source address) and `send_budget` (queued push
//! bytes) bound what one client costs a proxy; `inflight` bounds
//! concurrent handler runs on every role.

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
