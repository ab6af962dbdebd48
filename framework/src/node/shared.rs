//! State shared by every task of one running node.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;

use super::drain::DrainState;
use super::inflight::Inflight;
use super::membership::Membership;
use super::metrics::{NodeMetrics, Via};
use super::peers::PeerSet;
use super::relay::RelayLedger;
use super::reload::ConfigSource;
use super::session_ops;
use super::sessions::Sessions;
use crate::config::NodeConfig;
use crate::handler::{ApiFuture, AppState, CallScope, EventTable, NodeApi};
use crate::id::{NodeId, SessionId};
use crate::proto::{Envelope, Kind, NodeType, Pin};
use crate::routing::{RouteTable, StateTable, Target};
use crate::session::{LoginClock, SessionRequest, SessionStats};
use crate::shutdown::Shutdown;
use crate::status::{Code, Status};
use crate::transport::{CallError, Link, RpcEndpoint, SendError};

/// Status code of a response that carries nothing for the client: the
/// handler ran with `need_return = false`. The proxy completes the request
/// and writes nothing.
pub(crate) const NO_REPLY: Code = Code(204);

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
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        config: Arc<NodeConfig>,
        endpoint: RpcEndpoint,
        routes: RouteTable,
        stateless: StateTable,
        events: EventTable,
        state: AppState,
        sessions: Option<Arc<Sessions>>,
        session_stats: Arc<SessionStats>,
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
            metrics: NodeMetrics::new(),
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

    pub(super) fn next_seed(&self) -> usize {
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
    /// `target`: the pinned node when live, directly linked and not
    /// draining, else any such node of the type (balanced), else a route to
    /// relay it. A pin to a dead or draining node is simply not used: the
    /// answer names the node that served, and the proxy re-pins to it.
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
        let pinned = |t: NodeType| pins.iter().find(|p| p.node_type == t as i32);
        if let Some(pin) = pinned(target)
            && let Ok(id) = NodeId::parse(&pin.node_id)
            && let Some(link) = self.endpoint.link(&id).filter(usable)
        {
            return Some(link);
        }
        if let Some(link) = self.endpoint.pick_where(target, self.next_seed(), usable) {
            return Some(link);
        }
        if self.node_type == NodeType::Route || target == NodeType::Route {
            return None;
        }
        if let Some(pin) = pinned(NodeType::Route)
            && let Ok(id) = NodeId::parse(&pin.node_id)
            && let Some(link) = self.endpoint.link(&id).filter(usable)
        {
            return Some(link);
        }
        self.endpoint.pick_where(NodeType::Route, self.next_seed(), usable)
    }

    /// The link towards node `dest`: direct when linked, else through a
    /// route (routes only relay; they never relay to a route they cannot reach).
    ///
    /// Every message to `dest` takes the same route while the set of routes
    /// stays the same (rendezvous hashing on the route's and `dest`'s ids):
    /// a handler's pushes and its reply then travel one path and keep their
    /// order, which messages spread over two routes would not.
    pub(crate) fn link_for_node(&self, dest: &NodeId) -> Option<Link> {
        if let Some(link) = self.endpoint.link(dest) {
            return Some(link);
        }
        if self.node_type == NodeType::Route {
            return None;
        }
        let weight = |route: &NodeId| {
            // SipHash with fixed keys: the same weights on every run and node.
            let mut h = std::hash::DefaultHasher::new();
            (route, dest).hash(&mut h);
            h.finish()
        };
        let route = self
            .endpoint
            .links()
            .into_iter()
            .filter(|l| l.peer_type() == NodeType::Route && !l.is_closed())
            .max_by(|a, b| (weight(a.peer_id()), a.peer_id()).cmp(&(weight(b.peer_id()), b.peer_id())))?;
        self.endpoint.link(route.peer_id())
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
        match result {
            Ok(Some(body)) => env.payload = body,
            Ok(None) => env.status = NO_REPLY.as_u32(),
            Err(status) => {
                env.status = status.code().as_u32().max(1);
                env.message = status.message().to_owned();
            }
        }
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

impl From<SendError> for Status {
    fn from(err: SendError) -> Status {
        match err {
            SendError::QueueFull => Status::overloaded(err.to_string()),
            SendError::TooLarge => Status::bad_request(err.to_string()),
            SendError::Closed | SendError::NoLink => Status::unavailable(err.to_string()),
        }
    }
}

/// Turns a response envelope into the handler-facing result.
pub(crate) fn response_result(response: &Envelope) -> Result<Bytes, Status> {
    if response.status == 0 || response.status == NO_REPLY.as_u32() {
        Ok(response.payload.clone())
    } else {
        Err(Status::new(Code(response.status), response.message.clone()))
    }
}

impl NodeShared {
    /// A handler's call or notification carrying its session's scope, and
    /// the link it leaves on: the session's pinned node of the type for a
    /// stateful command (pins travel on, so a route honours them too).
    /// Only a proxy has a `no_state` table; on other nodes every command
    /// counts as stateful, so calls keep to the session's nodes.
    fn scoped(
        &self,
        kind: Kind,
        target: NodeType,
        command: i32,
        scope: CallScope,
        body: Bytes,
    ) -> (Envelope, Option<Link>) {
        let mut env = self.envelope(kind, command, scope.session.as_ref(), body);
        env.uid = scope.uid;
        env.session_data = scope.data;
        if !self.is_stateless(command) {
            env.pins = scope.pins;
        }
        let link = self.link_for_type(target, &env.pins);
        (env, link)
    }
}

impl NodeApi for NodeShared {
    fn node_id(&self) -> &NodeId {
        &self.id
    }

    fn node_type(&self) -> NodeType {
        self.node_type
    }

    fn state(&self) -> &AppState {
        &self.state
    }

    fn push(&self, session: &SessionId, command: i32, body: Bytes) -> Result<(), Status> {
        if session.proxy() == &self.id
            && let Some(sessions) = &self.sessions
        {
            return self.push_local(sessions, session.seq(), command, body);
        }
        let mut env = self.envelope(Kind::Push, command, Some(session), body);
        env.to = session.proxy().to_string();
        self.send_to_node(session.proxy(), env).map_err(Status::from)
    }

    fn call(
        &self,
        target: NodeType,
        command: i32,
        scope: CallScope,
        body: Bytes,
    ) -> ApiFuture<Result<Bytes, Status>> {
        let (env, link) = self.scoped(Kind::Request, target, command, scope, body);
        let endpoint = self.endpoint.clone();
        let deadline = self.call_timeout;
        if link.is_some() {
            self.metrics.sent(Via::Rpc, command);
        }
        Box::pin(async move {
            let link = link.ok_or_else(|| Status::unavailable(format!("no live {target:?} node to call")))?;
            let response =
                endpoint.call(&link, env, deadline).await.map_err(|e: CallError| Status::from(e))?;
            response_result(&response)
        })
    }

    fn notify(&self, target: NodeType, command: i32, scope: CallScope, body: Bytes) -> Result<(), Status> {
        let (env, link) = self.scoped(Kind::Notify, target, command, scope, body);
        let link = link.ok_or_else(|| Status::unavailable(format!("no live {target:?} node")))?;
        link.send(env).map_err(Status::from)?;
        self.metrics.sent(Via::Rpc, command);
        Ok(())
    }

    fn session_call(&self, request: SessionRequest) -> ApiFuture<Result<(), Status>> {
        session_ops::call(self, request)
    }

    fn session_send(&self, request: SessionRequest) -> Result<(), Status> {
        session_ops::send(self, request)
    }
}
