//! Where messages go from this node: the routing tables a reload swaps,
//! the links to use (the pure policy is `routing::policy`), and the
//! envelopes this node originates.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;

use super::ledger::RelayLedger;
use super::reply::encode as encode_reply;
use crate::config::NodeConfig;
use crate::id::{NodeId, SessionId};
use crate::proto::{Envelope, Kind, NodeType, Pin};
use crate::routing::{Hop, LaneKey, RouteTable, StateTable, Target, next_hops};
use crate::status::Status;
use crate::transport::{Link, RpcEndpoint};

/// What a reload replaces, swapped as one value so that a message never
/// sees the routing table of one config and the `no_state` set of another.
#[derive(Debug)]
pub(crate) struct AppliedConfig {
    /// The config as last applied.
    pub(crate) config: Arc<NodeConfig>,
    pub(crate) routes: RouteTable,
    pub(crate) stateless: StateTable,
}

/// The node's links and routing state.
pub(crate) struct Router {
    pub(crate) id: NodeId,
    /// `id` as messages carry it, made once: every envelope this node
    /// originates names it.
    pub(crate) wire_id: Bytes,
    pub(crate) node_type: NodeType,
    pub(crate) endpoint: RpcEndpoint,
    /// Routing and `no_state` tables and the applied config; replaced by
    /// reloads.
    pub(crate) live: ArcSwap<AppliedConfig>,
    /// Requests relayed here and not answered yet, failed fast when their
    /// next hop is lost.
    pub(crate) relays: RelayLedger,
    pub(crate) call_timeout: Duration,
    hop_limit: u32,
    /// Round-robin counter for balanced picks.
    rr: AtomicUsize,
}

impl Router {
    pub(crate) fn new(config: &Arc<NodeConfig>, endpoint: RpcEndpoint, live: AppliedConfig) -> Router {
        Router {
            id: endpoint.node_id().clone(),
            wire_id: endpoint.node_id().to_wire(),
            node_type: endpoint.node_type(),
            endpoint,
            live: ArcSwap::from_pointee(live),
            relays: RelayLedger::new(config.rpc.call_timeout),
            call_timeout: config.rpc.call_timeout,
            hop_limit: config.rpc.hop_limit,
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

    /// Where a message with this command goes from here.
    pub(crate) fn target(&self, command: i32) -> Target {
        self.live.load().routes.target(command)
    }

    /// The link for a message whose next stop is a node of type `target`,
    /// by the routing policy ([`next_hops`]), on the lane `lane` picks: a
    /// pinned node when `usable_pin` accepts its link, else among the links
    /// `usable` accepts.
    pub(crate) fn link_where(
        &self,
        target: NodeType,
        pins: &[Pin],
        lane: LaneKey,
        usable_pin: impl Fn(&Link) -> bool,
        usable: impl Fn(&Link) -> bool,
    ) -> Option<Link> {
        next_hops(self.node_type, target, pins).find_map(|hop| match hop {
            Hop::Pinned(id) => self.endpoint.link_for(&id, lane).filter(&usable_pin),
            Hop::AnyOf(t) => self.endpoint.pick_where(t, self.next_seed(), lane, &usable),
        })
    }

    /// The link towards node `dest` on the lane `lane` picks: direct when
    /// linked, else through a route (routes only relay; they never relay to
    /// a route they cannot reach).
    ///
    /// Every message to `dest` takes the same route while the set of routes
    /// stays the same (`routing::rendezvous` hashing of `dest` over the routes):
    /// a handler's pushes and its reply then travel one path and keep their
    /// order, which messages spread over two routes would not.
    pub(crate) fn link_for_node(&self, dest: &NodeId, lane: LaneKey) -> Option<Link> {
        if let Some(link) = self.endpoint.link_for(dest, lane) {
            return Some(link);
        }
        if self.node_type == NodeType::Route {
            return None;
        }
        self.route_for(dest, lane)
    }

    /// The route that messages about `key` take: the same one while the
    /// set of linked routes stays the same (`routing::rendezvous` hashing), on the
    /// lane `lane` picks.
    pub(crate) fn route_for(&self, key: &NodeId, lane: LaneKey) -> Option<Link> {
        self.endpoint.rendezvous(NodeType::Route, key.as_str(), lane)
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
            session_id: session.map(SessionId::to_wire).unwrap_or_default(),
            source: self.wire_id.clone(),
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
}
