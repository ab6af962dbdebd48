//! State shared by every task of one running node.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;

use crate::cluster::DrainState;
use crate::cluster::Membership;
use crate::cluster::PeerSet;
use crate::config::NodeConfig;
use crate::dispatch::{RelayLedger, encode_reply};
use crate::handler::{AppState, EventTable};
use crate::id::{NodeId, SessionId};
use crate::limits::Inflight;
use crate::metrics::{NodeMetrics, Via};
use crate::proto::{Envelope, Kind, NodeType, Pin};
use crate::reload::ConfigSource;
use crate::routing::{Hop, RouteTable, StateTable, Target, next_hops, rendezvous};
use crate::session::{LoginClock, SessionStats};
use crate::sessions::Sessions;
use crate::shutdown::Shutdown;
use crate::status::{Code, Status};
use crate::transport::{Link, RpcEndpoint, SendError};

/// What a reload replaces, swapped as one value so that a message never
/// sees the routing table of one config and the `no_state` set of another.
#[derive(Debug)]
pub(crate) struct Live {
    /// The config as last applied.
    pub(crate) config: Arc<NodeConfig>,
    pub(crate) routes: RouteTable,
    pub(crate) stateless: StateTable,
}

/// One running node's shared state.
pub(crate) struct NodeShared {
    pub(crate) id: NodeId,
    pub(crate) node_type: NodeType,
    /// The config the node started with. Fields a reload cannot change
    /// (ports, limits, timeouts) are read here; see [`NodeShared::live`].
    pub(crate) config: Arc<NodeConfig>,
    pub(crate) endpoint: RpcEndpoint,
    /// Routing and `no_state` tables and the applied config; replaced by
    /// reloads.
    pub(crate) live: ArcSwap<Live>,
    /// Outbound peers: configured and learned.
    pub(crate) peers: PeerSet,
    pub(crate) members: Membership,
    pub(crate) drain: DrainState,
    pub(crate) metrics: NodeMetrics,
    /// Where reloads re-read the config; `None` for in-memory configs.
    pub(crate) source: Option<Arc<dyn ConfigSource>>,
    /// Serializes reloads.
    pub(crate) reload_lock: tokio::sync::Mutex<()>,
    /// Requests relayed here and not answered yet, failed fast when their
    /// next hop is lost.
    pub(crate) relays: RelayLedger,
    pub(crate) events: EventTable,
    pub(crate) state: AppState,
    /// Client sessions; proxies only.
    pub(crate) sessions: Option<Arc<Sessions>>,
    /// Session feature counters (every role: routes relay, services send).
    pub(crate) session_stats: Arc<SessionStats>,
    pub(crate) shutdown: Shutdown,
    pub(crate) handler_timeout: Duration,
    /// Bounds on concurrent handler runs (`handlers`).
    pub(crate) inflight: Inflight,
    pub(crate) call_timeout: Duration,
    pub(crate) hop_limit: u32,
    /// Stamps the logins this node orders as their user's authority
    /// (unique login; `session/login.rs`).
    pub(crate) login_clock: LoginClock,
    /// Round-robin counter for balanced picks.
    rr: AtomicUsize,
}

impl NodeShared {
    /// `node` is the node being built (see `Arc::new_cyclic`): scrape-time
    /// metrics read it back.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        node: &Weak<NodeShared>,
        config: Arc<NodeConfig>,
        endpoint: RpcEndpoint,
        (routes, stateless): (RouteTable, StateTable),
        (events, state): (EventTable, AppState),
        (sessions, session_stats): (Option<Arc<Sessions>>, Arc<SessionStats>),
        shutdown: Shutdown,
        source: Option<Arc<dyn ConfigSource>>,
    ) -> NodeShared {
        NodeShared {
            id: endpoint.node_id().clone(),
            node_type: endpoint.node_type(),
            live: ArcSwap::from_pointee(Live { config: Arc::clone(&config), routes, stateless }),
            peers: PeerSet::default(),
            members: Membership::default(),
            drain: DrainState::default(),
            metrics: NodeMetrics::new(node.clone()),
            source,
            reload_lock: tokio::sync::Mutex::new(()),
            relays: RelayLedger::new(config.rpc.call_timeout),
            handler_timeout: config.handler_timeout,
            inflight: Inflight::new(&config.handlers, &events),
            call_timeout: config.rpc.call_timeout,
            hop_limit: config.rpc.hop_limit,
            config,
            endpoint,
            events,
            state,
            sessions,
            session_stats,
            shutdown,
            login_clock: LoginClock::default(),
            rr: AtomicUsize::new(0),
        }
    }

    pub(crate) fn next_seed(&self) -> usize {
        self.rr.fetch_add(1, Ordering::Relaxed)
    }

    /// The config as last applied (by start or reload).
    pub(crate) fn live_config(&self) -> Arc<NodeConfig> {
        Arc::clone(&self.live.load().config)
    }

    /// Whether `command` needs no session affinity (`websocket.no_state`).
    pub(crate) fn is_stateless(&self, command: i32) -> bool {
        self.live.load().stateless.is_stateless(command)
    }

    /// The link to use for a message whose next stop is a node of type
    /// `target`, by the routing policy ([`next_hops`]): the pinned node,
    /// any node of the type, then a route. Draining and evicted nodes are
    /// not usable.
    pub(crate) fn link_for_type(&self, target: NodeType, pins: &[Pin]) -> Option<Link> {
        self.link_for_type_except(target, pins, None)
    }

    /// As [`NodeShared::link_for_type`], never choosing `avoid`.
    pub(crate) fn link_for_type_except(
        &self,
        target: NodeType,
        pins: &[Pin],
        avoid: Option<&NodeId>,
    ) -> Option<Link> {
        let usable = |l: &Link| Some(l.peer_id()) != avoid && !self.members.excluded(l.peer_id());
        next_hops(self.node_type, target, pins).into_iter().find_map(|hop| match hop {
            Hop::Pinned(id) => self.endpoint.link(&id).filter(usable),
            Hop::AnyOf(t) => self.endpoint.pick_where(t, self.next_seed(), usable),
        })
    }

    /// The link towards node `dest`: direct when linked, else through a
    /// route (routes only relay; they never relay to a route they cannot reach).
    ///
    /// Every message to `dest` takes the same route while the set of routes
    /// stays the same ([`rendezvous`] hashing of `dest` over the routes):
    /// a handler's pushes and its reply then travel one path and keep their
    /// order, which messages spread over two routes would not.
    pub(crate) fn link_for_node(&self, dest: &NodeId) -> Option<Link> {
        if let Some(link) = self.endpoint.link(dest) {
            return Some(link);
        }
        if self.node_type == NodeType::Route {
            return None;
        }
        self.route_for(dest)
    }

    /// The route that messages about `key` take: the same one while the
    /// set of linked routes stays the same ([`rendezvous`] hashing).
    pub(crate) fn route_for(&self, key: &NodeId) -> Option<Link> {
        let links = self.endpoint.links();
        let routes = links.iter().filter(|l| l.peer_type() == NodeType::Route && !l.is_closed());
        let route = rendezvous(key.as_str(), routes.map(|l| l.peer_id().as_str()))?;
        let route = NodeId::parse(route).ok()?;
        self.endpoint.link(&route)
    }

    /// Sends an envelope addressed (`to`) to `dest`.
    pub(crate) fn send_to_node(&self, dest: &NodeId, envelope: Envelope) -> Result<(), SendError> {
        let command = envelope.command;
        self.link_for_node(dest).ok_or(SendError::NoLink)?.send(envelope)?;
        self.metrics.sent(Via::Rpc, command);
        Ok(())
    }

    /// A fresh envelope originating here.
    pub(crate) fn envelope(
        &self,
        kind: Kind,
        command: i32,
        session: Option<&SessionId>,
        payload: Bytes,
    ) -> Envelope {
        Envelope {
            kind: kind as i32,
            command,
            session_id: session.map(ToString::to_string).unwrap_or_default(),
            source: self.id.to_string(),
            prev: self.node_type as i32,
            origin_type: self.node_type as i32,
            ttl: self.hop_limit,
            payload,
            ..Envelope::default()
        }
    }

    /// The response to `request` from this node.
    pub(crate) fn response(&self, request: &Envelope, result: Result<Option<Bytes>, Status>) -> Envelope {
        let mut env = self.envelope(Kind::Response, request.command, None, Bytes::new());
        env.session_id.clone_from(&request.session_id);
        env.request_id = request.request_id;
        env.to.clone_from(&request.source);
        encode_reply(&mut env, result);
        env
    }

    /// Where a message with this command goes from here.
    pub(crate) fn target(&self, command: i32) -> Target {
        self.live.load().routes.target(command)
    }
}

impl NodeShared {
    /// Queues a push for a client of this proxy, counting it; a client
    /// whose queue overflowed is disconnected and counted as a queue drop.
    pub(crate) fn push_local(
        &self,
        sessions: &Sessions,
        seq: u64,
        command: i32,
        body: Bytes,
    ) -> Result<(), Status> {
        match sessions.push(seq, command, body) {
            Ok(()) => {
                self.metrics.sent(Via::Client, command);
                Ok(())
            }
            Err(status) => {
                if status.code() == Code::OVERLOADED {
                    self.metrics.client_kicked();
                }
                Err(status)
            }
        }
    }
}
