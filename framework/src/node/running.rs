//! A started node: its addresses, and what its owner (a test, `espoir up`,
//! a game's `main`) can ask of it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tracing::Instrument as _;

use super::state::NodeState;
use crate::reload::{ReloadError, ReloadReport};
use crate::session::SessionStats;
use crate::transport::{PeerLink, RpcEndpoint};

/// The addresses a running node listens on.
#[derive(Debug, Clone, Copy)]
pub struct Addresses {
    /// RPC listener.
    pub rpc: Option<SocketAddr>,
    /// Websocket listener (proxies).
    pub websocket: Option<SocketAddr>,
    /// HTTP listener.
    pub http: Option<SocketAddr>,
}

/// A started node.
pub struct RunningNode {
    pub(super) shared: Arc<NodeState>,
    pub(super) addrs: Addresses,
    /// The node's span: work done through this handle logs in it too.
    pub(super) span: tracing::Span,
}

impl std::fmt::Debug for RunningNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningNode")
            .field("id", &self.shared.id())
            .field("addrs", &self.addrs)
            .finish_non_exhaustive()
    }
}

impl RunningNode {
    /// The node's id.
    pub fn id(&self) -> &crate::NodeId {
        self.shared.id()
    }

    /// Where it listens.
    pub fn addresses(&self) -> Addresses {
        self.addrs
    }

    /// Its RPC endpoint (links, stats).
    pub fn endpoint(&self) -> &RpcEndpoint {
        &self.shared.router.endpoint
    }

    /// Its outbound peer links: configured and learned through routes,
    /// sorted by peer id.
    pub fn peers(&self) -> Vec<PeerLink> {
        self.shared.cluster.peers.all().into_iter().map(|p| p.link).collect()
    }

    /// Connected clients (proxies; 0 elsewhere), counting sessions
    /// awaiting resume.
    pub fn sessions(&self) -> usize {
        self.shared.sessions.as_ref().map_or(0, |s| s.len())
    }

    /// Re-reads the config source and applies what changed, as
    /// `POST /update_remote_rpc_config` does.
    ///
    /// # Errors
    /// [`ReloadError`]; the running config is then untouched.
    pub async fn reload(&self) -> Result<ReloadReport, ReloadError> {
        crate::reload::reload(&self.shared).instrument(self.span.clone()).await
    }

    /// Drains the node (no new sessions or requests; in-flight work
    /// finishes within `grace`), then stops it. True when everything
    /// finished in time. See `docs/operations.md`.
    pub async fn drain(&self, grace: Duration) -> bool {
        crate::cluster::drain(&self.shared, grace).instrument(self.span.clone()).await
    }

    /// True once the node drains or stops.
    pub fn is_draining(&self) -> bool {
        self.shared.cluster.drain.is_draining()
    }

    /// Resolves once the node has stopped (drained, or its shutdown
    /// triggered).
    pub async fn stopped(&self) {
        self.shared.shutdown.cancelled().await;
    }

    /// The node's metrics as OpenMetrics text (what `GET /metrics` answers
    /// Prometheus; other scrapers get Prometheus text 0.0.4).
    pub fn metrics_text(&self) -> String {
        self.shared.metrics.encode()
    }

    /// Session feature counters: fan-outs sent and relayed, broadcasts,
    /// kicks, resumes.
    pub fn session_stats(&self) -> &SessionStats {
        &self.shared.session_stats
    }

    /// Topic counters: published, delivered, snapshots, conflated, refused
    /// at each bound.
    pub fn topic_stats(&self) -> &crate::TopicStats {
        &self.shared.topic_stats
    }

    /// What this proxy's topics hold now (zeros on other roles).
    pub fn topic_gauges(&self) -> crate::TopicGauges {
        self.shared.sessions.as_ref().map(|s| s.topic_gauges()).unwrap_or_default()
    }

    /// Publishes a topic message from the process that runs the node (a
    /// feed, a producer), to every proxy (`docs/realtime.md`).
    ///
    /// # Errors
    /// `BAD_REQUEST` for a bad topic or key or a body over
    /// `topics.max_message_bytes`; `UNAVAILABLE` with no proxy to reach.
    pub fn publish(&self, message: crate::TopicMessage) -> Result<(), crate::Status> {
        crate::sessions::publish(&self.shared, message, None)
    }
}
