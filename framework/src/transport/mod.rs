//! Sockets: the RPC listener, outbound peer links, established links with
//! heartbeats and write coalescing, and request/response correlation.
//!
//! Framing, sealing and authentication are pure code in [`crate::codec`]
//! and [`crate::secure`]; this module only moves their bytes.
//!
//! * `endpoint`: [`RpcEndpoint`], a node's RPC side, and its
//!   [`EndpointConfig`]; `endpoint_state`: what the endpoint shares with
//!   the tasks that make its links.
//! * `listener`: the accept loop; `peer`: outbound links that redial
//!   ([`PeerLink`]); `handshake_io`: the handshake over a socket.
//! * `link`: the handle of an established [`Link`]; `link_task`: its I/O
//!   task (reader, coalescing writer, heartbeats); `inbound`: where a link
//!   hands what it reads ([`InboundHandler`], [`Incoming`]).
//! * `registry`: the live links by peer; `pending`: calls waiting for
//!   their answers; `origin`: which sources a peer may speak for.
//! * `settings`, `stats`, `error`: knobs, counters and errors.

mod endpoint;
mod endpoint_state;
mod error;
mod handshake_io;
mod inbound;
mod link;
mod link_task;
mod listener;
mod origin;
mod peer;
mod pending;
mod registry;
mod settings;
mod stats;

pub use endpoint::{EndpointConfig, RpcEndpoint, default_lanes};
pub use error::{CallError, LinkError, SendError};
pub use inbound::{InboundHandler, Incoming};
pub use link::{Direction, Link, LinkId};
pub use peer::{PeerLink, PeerSpec, PeerState};
pub use settings::{Backoff, LinkSettings, ListenerSettings};
pub use stats::TransportStats;
