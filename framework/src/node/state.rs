//! One running node's state, shared by its tasks: the parts each room
//! owns, put together.

use std::sync::{Arc, Weak};

use bytes::Bytes;

use crate::cluster::ClusterState;
use crate::config::NodeConfig;
use crate::dispatch::{AppliedConfig, Handlers, Router};
use crate::handler::Arrival;
use crate::id::NodeId;
use crate::jobs::{JobHandlers, JobSpec, JobsState};
use crate::metrics::{NodeMetrics, Via};
use crate::proto::{Envelope, NodeType, Pin};
use crate::reload::{ConfigSource, Reloader};
use crate::routing::{LaneKey, RouteTable, StateTable};
use crate::session::{LoginClock, SessionStats};
use crate::sessions::Sessions;
use crate::shutdown::Shutdown;
use crate::status::Status;
use crate::topic::TopicStats;
use crate::trace::NodeTracer;
use crate::transport::{Link, RpcEndpoint, SendError};

/// One running node's state, each part owned by its room: the router
/// (`dispatch`), the cluster view (`cluster`), the handlers (`dispatch`),
/// client sessions (`sessions`), reloads (`reload`) and metrics.
pub(crate) struct NodeState {
    /// The config the node started with. Fields a reload cannot change
    /// (ports, limits, timeouts) are read here; the applied one is
    /// [`Router::live_config`].
    pub(crate) config: Arc<NodeConfig>,
    pub(crate) router: Router,
    pub(crate) cluster: ClusterState,
    pub(crate) handlers: Handlers,
    /// Client sessions; proxies only.
    pub(crate) sessions: Option<Arc<Sessions>>,
    /// Session feature counters (every role: routes relay, services send).
    pub(crate) session_stats: Arc<SessionStats>,
    /// Topic counters (every role publishes; proxies deliver).
    pub(crate) topic_stats: Arc<TopicStats>,
    /// Stamps the logins this node orders as their user's authority
    /// (unique login; `session/login.rs`).
    pub(crate) login_clock: LoginClock,
    pub(crate) reload: Reloader,
    pub(crate) metrics: NodeMetrics,
    /// Spans of this node's hops (`trace`); off unless configured.
    pub(crate) tracer: NodeTracer,
    pub(crate) shutdown: Shutdown,
    /// Recurring jobs, and on routes the ledger of their ticks (`jobs`).
    pub(crate) jobs: JobsState,
}

/// What a node is built from (see [`NodeState::new`]).
pub(crate) struct NodeParts {
    pub(crate) config: Arc<NodeConfig>,
    pub(crate) endpoint: RpcEndpoint,
    pub(crate) routes: RouteTable,
    pub(crate) stateless: StateTable,
    pub(crate) handlers: Handlers,
    pub(crate) sessions: Option<Arc<Sessions>>,
    pub(crate) session_stats: Arc<SessionStats>,
    pub(crate) topic_stats: Arc<TopicStats>,
    pub(crate) shutdown: Shutdown,
    pub(crate) source: Option<Arc<dyn ConfigSource>>,
    pub(crate) tracer: NodeTracer,
    pub(crate) jobs: (JobHandlers, Vec<JobSpec>),
}

impl NodeState {
    /// `node` is the node being built (see `Arc::new_cyclic`): scrape-time
    /// metrics read it back.
    pub(crate) fn new(node: &Weak<NodeState>, parts: NodeParts) -> NodeState {
        let NodeParts {
            config,
            endpoint,
            routes,
            stateless,
            handlers,
            sessions,
            session_stats,
            topic_stats,
            shutdown,
            source,
            tracer,
            jobs,
        } = parts;
        let live = AppliedConfig { config: Arc::clone(&config), routes, stateless };
        let rpc_calls = endpoint.call_seconds().clone();
        NodeState {
            router: Router::new(&config, endpoint, live),
            cluster: ClusterState::default(),
            handlers,
            sessions,
            session_stats,
            topic_stats,
            login_clock: LoginClock::default(),
            reload: Reloader::new(source),
            metrics: NodeMetrics::new(node.clone(), rpc_calls),
            tracer,
            jobs: JobsState::new(node, jobs.0, jobs.1),
            shutdown,
            config,
        }
    }

    pub(crate) fn id(&self) -> &NodeId {
        &self.router.id
    }

    pub(crate) fn node_type(&self) -> NodeType {
        self.router.node_type
    }

    /// The link for a message whose next stop is a node of type `target`
    /// ([`Router::link_where`]); draining and evicted nodes are not usable,
    /// but for the sessions pinned to a draining node (it may hold their
    /// room while it finishes; it refuses them, and they move, otherwise).
    pub(crate) fn link_for_type(&self, target: NodeType, pins: &[Pin], lane: LaneKey) -> Option<Link> {
        self.link_for_type_except(target, pins, lane, None)
    }

    /// As [`NodeState::link_for_type`], never choosing `avoid`.
    pub(crate) fn link_for_type_except(
        &self,
        target: NodeType,
        pins: &[Pin],
        lane: LaneKey,
        avoid: Option<&NodeId>,
    ) -> Option<Link> {
        let members = &self.cluster.members;
        let not_avoided = |l: &Link| Some(l.peer_id()) != avoid;
        self.router.link_where(
            target,
            pins,
            lane,
            |l| not_avoided(l) && !members.barred(l.peer_id()),
            |l| not_avoided(l) && !members.excluded(l.peer_id()),
        )
    }

    /// Whether this node, draining, still takes a request with `pins`: a
    /// session pinned here while a handler holds the drain (a finishing
    /// room's member). Anything else is refused with `503` and moves on.
    pub(crate) fn takes_while_draining(&self, pins: &[Pin]) -> bool {
        self.cluster.drain.held_for_sessions() && pins.iter().any(|p| p.node_id == self.id().as_str())
    }

    /// Sends an envelope addressed (`to`) to `dest` on its session's lane,
    /// counting it.
    pub(crate) fn send_to_node(&self, dest: &NodeId, envelope: Envelope) -> Result<(), SendError> {
        let command = envelope.command;
        let lane = LaneKey::of(&envelope);
        self.router.link_for_node(dest, lane).ok_or(SendError::NoLink)?.send(envelope)?;
        self.metrics.sent(Via::Rpc, command);
        Ok(())
    }
}

impl NodeState {
    /// The status for `command` when this node has no handler for it,
    /// logging a hint at the routing the first time an id comes routed.
    pub(crate) fn no_handler(&self, command: i32, routed: bool) -> Status {
        let arrival = if routed {
            Arrival::Routed { named: self.router.live.load().routes.names(command) }
        } else {
            Arrival::Addressed
        };
        self.handlers.hints.not_found(command, &self.config.name, self.node_type(), arrival)
    }

    /// Notes that `command` found no `to` node to go to: when this node
    /// has a handler for it, its own `rpc.route` is what sent it away.
    pub(crate) fn no_node_for(&self, command: i32, to: NodeType) {
        if self.handlers.events.get(command).is_some() {
            self.handlers.hints.misrouted(command, &self.config.name, self.node_type(), to);
        }
    }

    /// Queues a push for a client of this proxy, counting it; a client
    /// whose queue overflowed is disconnected (and counted by the table).
    pub(crate) fn push_local(
        &self,
        sessions: &Sessions,
        seq: u64,
        command: i32,
        body: Bytes,
    ) -> Result<(), Status> {
        sessions.push(seq, command, body)?;
        self.metrics.sent(Via::Client, command);
        Ok(())
    }
}
