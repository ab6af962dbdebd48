//! The state an RPC endpoint shares with the tasks that make its links.

use std::sync::Arc;

use super::error::LinkError;
use super::link_task::LinkContext;
use super::settings::ListenerSettings;
use super::stats::TransportStats;
use crate::id::NodeId;
use crate::proto::NodeType;
use crate::routing::Lane;
use crate::secure::{HandshakeError, HandshakeParams, Token};
use crate::shutdown::Shutdown;

/// What the endpoint handle, its accept loop and its peer dialers share:
/// this node's identity and token, where new links go, the counters and
/// the shutdown that stops them all.
pub(super) struct EndpointState {
    pub(super) node_id: NodeId,
    /// `node_id` as messages carry it, made once.
    pub(super) wire_id: bytes::Bytes,
    pub(super) node_type: NodeType,
    pub(super) token: Token,
    pub(super) encrypt: bool,
    /// Links dialed to each peer.
    pub(super) lanes: u16,
    pub(super) listener_settings: ListenerSettings,
    pub(super) ctx: Arc<LinkContext>,
    pub(super) stats: Arc<TransportStats>,
    /// Round trips of answered calls, in seconds (the node's metrics
    /// register a handle on it).
    pub(super) call_seconds: prometheus_client::metrics::histogram::Histogram,
    pub(super) shutdown: Shutdown,
}

impl EndpointState {
    pub(super) fn handshake_params(&self, token: Token, encrypt: bool, lane: Lane) -> HandshakeParams {
        HandshakeParams { node_id: self.node_id.clone(), node_type: self.node_type, token, encrypt, lane }
    }

    pub(super) fn count_handshake_failure(&self, err: &LinkError) {
        if let LinkError::Handshake(h) = err {
            self.count_handshake_failure_kind(h);
        } else {
            TransportStats::bump(&self.stats.handshake_failures);
        }
    }

    pub(super) fn count_handshake_failure_kind(&self, err: &HandshakeError) {
        match err {
            HandshakeError::BadProof => TransportStats::bump(&self.stats.auth_failures),
            _ => TransportStats::bump(&self.stats.handshake_failures),
        }
    }
}
