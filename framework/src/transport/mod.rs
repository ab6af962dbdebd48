//! Sockets: the RPC listener, outbound peer links, established links with
//! heartbeats and write coalescing, and request/response correlation.
//!
//! Framing, sealing and authentication are pure code in [`crate::codec`]
//! and [`crate::secure`]; this module only moves their bytes.

mod endpoint;
mod error;
mod handshake_io;
mod link;
mod listener;
mod origin;
mod peer;
mod pending;
mod registry;
mod settings;
mod stats;

pub use endpoint::{EndpointConfig, RpcEndpoint};
pub use error::{CallError, LinkError, SendError};
pub use link::{Direction, InboundHandler, Incoming, Link};
pub use peer::{PeerLink, PeerSpec, PeerState};
pub use settings::{Backoff, LinkSettings, ListenerSettings};
pub use stats::TransportStats;
