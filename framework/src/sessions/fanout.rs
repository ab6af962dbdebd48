//! Handing a user- or group-scoped operation to every proxy: one copy to a
//! route, which relays one copy to each proxy it links to; with no route,
//! one copy to each linked proxy (see `ops.rs`). From a handler serving a
//! session, the copy takes the path of the session's other effects
//! ([`fan_out_via`]).

use crate::id::NodeId;
use crate::node::NodeState;
use crate::proto::{Envelope, NodeType};
use crate::routing::LaneKey;
use crate::session::SessionStats;
use crate::status::Status;
use crate::transport::Link;

/// The path of an operation for every proxy that must keep its order with
/// the effects on one proxy's session.
pub(crate) enum Via {
    /// The route that relays everything this node sends that proxy: it
    /// relays the operation to every proxy, that one included, after them.
    Route(Link),
    /// A link to that proxy itself: it applies the operation after them,
    /// then hands it on to the other proxies.
    Proxy(Link),
}

/// The path to `proxy` that its sessions' pushes, replies and operations
/// take ([`Router::link_for_node`](crate::dispatch::Router::link_for_node)),
/// for an operation for every proxy; `None` when there is none.
pub(crate) fn fan_out_via(shared: &NodeState, proxy: &NodeId, lane: LaneKey) -> Option<Via> {
    if shared.node_type() == NodeType::Route {
        // A route's own fan-out goes to each proxy on the link its other
        // messages to that proxy take: already in order.
        return None;
    }
    let link = shared.router.link_for_node(proxy, lane)?;
    Some(if link.peer_id() == proxy { Via::Proxy(link) } else { Via::Route(link) })
}

impl Via {
    /// Sends `env` (for every proxy) on this path.
    pub(crate) fn send(self, shared: &NodeState, mut env: Envelope) -> Result<(), Status> {
        let link = match self {
            Via::Route(link) => link,
            Via::Proxy(link) => {
                env.to = link.peer_id().to_wire();
                link
            }
        };
        link.send(env).map_err(Status::from)?;
        SessionStats::bump(&shared.session_stats.fanouts_sent);
        Ok(())
    }
}

/// Hands `env` to every other proxy: through one route when linked to one
/// (it relays to each proxy), else directly to each linked proxy.
pub(crate) fn fan_out(shared: &NodeState, env: Envelope) -> Result<(), Status> {
    if shared.node_type() == NodeType::Route {
        relay_to_proxies(shared, env);
        return Ok(());
    }
    // One route for all of this node's fan-outs (not round-robin), and one
    // lane (lane 0, or the lane of the session whose order the operation
    // keeps): two broadcasts then reach every member in the order they
    // were sent.
    let lane = LaneKey::of(&env);
    if let Some(route) = shared.router.route_for(shared.id(), lane) {
        route.send(env).map_err(Status::from)?;
        SessionStats::bump(&shared.session_stats.fanouts_sent);
        return Ok(());
    }
    let proxies = linked_proxies(shared, shared.id(), lane);
    if proxies.is_empty() && shared.sessions.is_none() {
        return Err(Status::unavailable("no route or proxy linked"));
    }
    for link in proxies {
        if let Err(err) = link.send(env.clone()) {
            tracing::warn!(peer = %link.peer_id(), error = %err, "session operation not sent to a proxy");
            continue;
        }
        SessionStats::bump(&shared.session_stats.fanouts_sent);
    }
    Ok(())
}

/// One live link per linked proxy, except `skip`, on the lane `lane` picks.
pub(crate) fn linked_proxies(
    shared: &NodeState,
    skip: &NodeId,
    lane: LaneKey,
) -> Vec<crate::transport::Link> {
    let mut peers: Vec<NodeId> = shared
        .router
        .endpoint
        .links()
        .iter()
        .filter(|l| l.peer_type() == NodeType::Proxy && l.peer_id() != skip)
        .map(|l| l.peer_id().clone())
        .collect();
    peers.sort_unstable();
    peers.dedup();
    peers.iter().filter_map(|p| shared.router.endpoint.link_for(p, lane)).collect()
}

/// A route's share of a fan-out: one copy to each proxy it links to, except
/// the one the operation came from (it applied it already).
pub(crate) fn relay_to_proxies(shared: &NodeState, mut env: Envelope) {
    if env.ttl == 0 {
        tracing::warn!(source = %String::from_utf8_lossy(&env.source), "hop limit reached; dropping a session operation");
        return;
    }
    env.ttl -= 1;
    env.prev = shared.node_type() as i32;
    let source = NodeId::parse_bytes(&env.source).unwrap_or_else(|_| shared.id().clone());
    for link in linked_proxies(shared, &source, LaneKey::of(&env)) {
        match link.send(env.clone()) {
            Ok(()) => SessionStats::bump(&shared.session_stats.fanouts_relayed),
            Err(err) => tracing::warn!(peer = %link.peer_id(), error = %err, "session operation not relayed"),
        }
    }
}
