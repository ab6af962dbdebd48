//! A node's RPC endpoint: its listener, its outbound peers, its links and
//! its waiting calls.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::endpoint_state::EndpointState;
use super::error::{CallError, SendError};
use super::inbound::{Inbound, InboundHandler, Incoming};
use super::link::Link;
use super::link_task::LinkContext;
use super::listener::accept_loop;
use super::peer::{PeerLink, PeerSpec};
use super::pending::PendingCalls;
use super::registry::LinkRegistry;
use super::settings::{LinkSettings, ListenerSettings};
use super::stats::TransportStats;
use crate::id::NodeId;
use crate::proto::{Envelope, Kind, NodeType};
use crate::routing::LaneKey;
use crate::secure::Token;
use crate::shutdown::Shutdown;

/// Identity and settings of an endpoint.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// This node's id.
    pub node_id: NodeId,
    /// This node's role.
    pub node_type: NodeType,
    /// The token inbound peers must prove (`rpc.token`).
    pub token: Token,
    /// Require encryption on inbound links (`rpc.encode == 1`).
    pub encrypt: bool,
    /// Per-link settings.
    pub link: LinkSettings,
    /// Listener settings.
    pub listener: ListenerSettings,
    /// Received envelopes that may wait for the node before readers pause
    /// (and TCP pushes back on the peers). Default 8192.
    pub inbound_queue: usize,
    /// Links (lanes) dialed to each peer, each with its own reader and
    /// writer, so that one node pair's traffic spreads over the cores.
    /// Default: [`default_lanes`].
    pub lanes: u16,
}

/// The default lane count: one per core this process may run on (its
/// affinity mask, as tokio sizes its workers), at most 16.
pub fn default_lanes() -> u16 {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    u16::try_from(cores.clamp(1, 16)).unwrap_or(1)
}

impl EndpointConfig {
    /// Defaults for everything but identity and token.
    pub fn new(node_id: NodeId, node_type: NodeType, token: Token) -> Self {
        EndpointConfig {
            node_id,
            node_type,
            token,
            encrypt: false,
            link: LinkSettings::default(),
            listener: ListenerSettings::default(),
            inbound_queue: 8192,
            lanes: default_lanes(),
        }
    }
}

/// The RPC side of a node. Cheap to clone.
#[derive(Clone)]
pub struct RpcEndpoint {
    inner: Arc<EndpointState>,
}

impl std::fmt::Debug for RpcEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcEndpoint")
            .field("node_id", &self.inner.node_id)
            .field("node_type", &self.inner.node_type)
            .finish_non_exhaustive()
    }
}

impl RpcEndpoint {
    /// Creates an endpoint. Everything received that is not the answer to
    /// one of its own calls comes out of the returned receiver, in order
    /// per link; a full receiver pauses the link readers. Its tasks stop
    /// when `shutdown` triggers.
    pub fn new(config: EndpointConfig, shutdown: &Shutdown) -> (RpcEndpoint, mpsc::Receiver<Incoming>) {
        let (tx, rx) = mpsc::channel(config.inbound_queue.max(1));
        (RpcEndpoint::build(config, shutdown, Inbound::Channel(tx)), rx)
    }

    /// Creates an endpoint whose links hand everything that is not the
    /// answer to one of its own calls to `handler`, inline and in order.
    pub fn with_handler(
        config: EndpointConfig,
        shutdown: &Shutdown,
        handler: Arc<dyn InboundHandler>,
    ) -> RpcEndpoint {
        RpcEndpoint::build(config, shutdown, Inbound::Handler(handler))
    }

    fn build(config: EndpointConfig, shutdown: &Shutdown, inbound: Inbound) -> RpcEndpoint {
        let stats = Arc::new(TransportStats::default());
        let ctx = Arc::new(LinkContext {
            self_id: config.node_id.clone(),
            settings: config.link,
            stats: Arc::clone(&stats),
            pending: Arc::new(PendingCalls::default()),
            inbound,
            links: Arc::new(LinkRegistry::default()),
            next_link: std::sync::atomic::AtomicU64::new(0),
        });
        let inner = EndpointState {
            wire_id: config.node_id.to_wire(),
            node_id: config.node_id,
            node_type: config.node_type,
            token: config.token,
            encrypt: config.encrypt,
            lanes: config.lanes.max(1),
            listener_settings: config.listener,
            ctx,
            stats,
            // 50 µs (a loopback hop) to ~6.5 s, past which calls time out
            // by default within a bucket or two.
            call_seconds: prometheus_client::metrics::histogram::Histogram::new(
                prometheus_client::metrics::histogram::exponential_buckets(0.000_05, 2.0, 18),
            ),
            shutdown: shutdown.clone(),
        };
        RpcEndpoint { inner: Arc::new(inner) }
    }

    /// This node's id.
    pub fn node_id(&self) -> &NodeId {
        &self.inner.node_id
    }

    /// This node's role.
    pub fn node_type(&self) -> NodeType {
        self.inner.node_type
    }

    /// Accepts peers on `listener` until shutdown.
    pub fn serve(&self, listener: TcpListener) {
        let inner = Arc::clone(&self.inner);
        self.inner.shutdown.spawn(accept_loop(inner, listener));
    }

    /// Links dialed to each peer.
    pub fn lanes(&self) -> u16 {
        self.inner.lanes
    }

    /// Dials a peer, once per lane, and keeps the lanes up until closed or
    /// shutdown.
    pub fn connect(&self, spec: PeerSpec) -> PeerLink {
        PeerLink::spawn(Arc::clone(&self.inner), spec, self.inner.lanes)
    }

    /// A live link to `peer` for messages about no session (lane 0 when up).
    pub fn link(&self, peer: &NodeId) -> Option<Link> {
        self.inner.ctx.links.get(peer, LaneKey::NODE)
    }

    /// The live link to `peer` that messages with `key` take (see
    /// [`LaneKey`]).
    pub fn link_for(&self, peer: &NodeId, key: LaneKey) -> Option<Link> {
        self.inner.ctx.links.get(peer, key)
    }

    /// The live link, on the lane `lane` picks, to the node of type
    /// `node_type` that rendezvous hashing of `key` chooses: the same node
    /// while the set of linked nodes of that type stays the same.
    pub(crate) fn rendezvous(&self, node_type: NodeType, key: &str, lane: LaneKey) -> Option<Link> {
        self.inner.ctx.links.rendezvous(node_type, key, lane)
    }

    /// A live link to some node of type `node_type`; `seed` spreads the
    /// choice over the candidates (pass a counter for round-robin).
    pub fn pick(&self, node_type: NodeType, seed: usize) -> Option<Link> {
        self.inner.ctx.links.pick_where(node_type, seed, LaneKey::NODE, |_| true)
    }

    /// As [`RpcEndpoint::pick`], on the lane `key` picks, among the links
    /// `keep` accepts (used to leave draining nodes out of balancing).
    pub fn pick_where(
        &self,
        node_type: NodeType,
        seed: usize,
        key: LaneKey,
        keep: impl Fn(&Link) -> bool,
    ) -> Option<Link> {
        self.inner.ctx.links.pick_where(node_type, seed, key, keep)
    }

    /// Every live link, every lane.
    pub fn links(&self) -> Vec<Link> {
        self.inner.ctx.links.all()
    }

    /// Sends an envelope to `peer` without waiting, on the lane of its
    /// session.
    ///
    /// # Errors
    /// [`SendError::NoLink`] when no link to `peer` is up, or the link's error.
    pub fn send(&self, peer: &NodeId, envelope: Envelope) -> Result<(), SendError> {
        let key = LaneKey::of(&envelope);
        self.link_for(peer, key).ok_or(SendError::NoLink)?.send(envelope)
    }

    /// Sends a request on `link` and waits for its response, at most
    /// `deadline`. Sets the kind, request id and source.
    ///
    /// A request whose link (lane) closes is failed at once with
    /// [`CallError::LinkLost`] instead of waiting out the deadline, even
    /// when other lanes to the peer are up: the lane may have died before
    /// the request left, and its sessions move to another lane.
    ///
    /// # Errors
    /// [`CallError::Send`] if it could not be sent, [`CallError::Timeout`]
    /// if no answer came in time (a later answer is dropped and counted),
    /// [`CallError::LinkLost`] if the peer became unreachable.
    pub async fn call(
        &self,
        link: &Link,
        mut request: Envelope,
        deadline: Duration,
    ) -> Result<Envelope, CallError> {
        let mut pending = self.inner.ctx.pending.register();
        request.kind = Kind::Request as i32;
        request.request_id = pending.id();
        if request.source.is_empty() {
            request.source = self.inner.wire_id.clone();
        }
        let started = std::time::Instant::now();
        link.send(request)?;
        let expires = tokio::time::sleep(deadline);
        tokio::select! {
            biased;
            response = pending.response() => if let Some(response) = response {
                self.inner.call_seconds.observe(started.elapsed().as_secs_f64());
                return Ok(response);
            },
            () = expires => {}
            () = link.closed() => return Err(CallError::LinkLost),
        }
        TransportStats::bump(&self.inner.stats.call_timeouts);
        Err(CallError::Timeout(deadline))
    }

    /// The answer to `request`, addressed back to its source.
    pub fn response_to(&self, request: &Envelope, payload: bytes::Bytes) -> Envelope {
        Envelope {
            kind: Kind::Response as i32,
            command: request.command,
            request_id: request.request_id,
            session_id: request.session_id.clone(),
            source: self.inner.wire_id.clone(),
            to: request.source.clone(),
            prev: self.inner.node_type as i32,
            payload,
            ..Envelope::default()
        }
    }

    /// Transport counters.
    pub fn stats(&self) -> &TransportStats {
        &self.inner.stats
    }

    /// Round trips of this endpoint's answered calls (`espoir_rpc_call_duration_seconds`).
    pub(crate) fn call_seconds(&self) -> &prometheus_client::metrics::histogram::Histogram {
        &self.inner.call_seconds
    }

    /// Calls waiting for a response right now.
    pub fn pending_calls(&self) -> usize {
        self.inner.ctx.pending.len()
    }
}
