//! Cluster membership through route nodes (obespoir seed §2.3).
//!
//! * Every node **announces** itself ([`Member`]: id, type, RPC address,
//!   state) as the first frame on every link it gets, and again on every
//!   link when it starts draining.
//! * A **route** keeps the members that announced themselves on a live
//!   link to it. Links carry heartbeats and die after `rpc.dead_after` of
//!   silence, so this membership is heartbeat-based. On every change it
//!   sends its member list to every non-route node it is linked to.
//! * A non-route node keeps each route's last list. It dials members it
//!   should talk to directly — one of the two sends requests to the
//!   other's type by its routing table (a proxy with service ranges dials a
//!   new service without being reconfigured) — and stops dialing learned
//!   members that are gone from every list and whose link is down. Nodes
//!   that would only send each other answers stay linked through the route,
//!   so a route sees the answers to what it relays (see `relay.rs`). A route that restarts sends a fresh
//!   list once nodes redial it; links that are up are kept meanwhile. A
//!   route's list is dropped when its link is lost while another route is
//!   linked: the live routes' lists are the current ones.
//! * Draining members, and members a route's config no longer lists
//!   (evicted by a reload), are left out of balancing and new pins
//!   everywhere; their links stay up for the work already in flight.
//!
//! Startup order does not matter: every link (re)connection re-announces.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use arc_swap::ArcSwap;
use bytes::Bytes;
use prost::Message;

use super::peers::Origin;
use super::rules::{Side, View, checked_id, excluded_set, should_dial};
use crate::id::NodeId;
use crate::node::NodeState;
use crate::proto::{Envelope, Kind, Member, MemberState, Members, NodeType};
use crate::transport::{Link, PeerSpec};

/// Control command: a node announces itself (payload [`Member`]).
pub(crate) const CONTROL_ANNOUNCE: i32 = 2;
/// Control command: a route's member list (payload [`Members`]).
pub(crate) const CONTROL_MEMBERS: i32 = 3;
/// Most members a list may carry; a larger one is cut (and logged) so a
/// confused peer cannot make a node dial without bound.
const MAX_MEMBERS: usize = 1024;

/// What a node knows of the cluster.
#[derive(Debug, Default)]
pub(crate) struct Membership {
    /// Members that announced themselves on a live link to this node. On a
    /// route this is the membership it serves.
    direct: Mutex<HashMap<NodeId, Member>>,
    /// Non-routes: the last list each route sent, by route id.
    views: Mutex<HashMap<NodeId, View>>,
    /// Routes: members removed from this route's config by a reload, until
    /// they announce themselves again.
    evicted: Mutex<HashSet<NodeId>>,
    /// Nodes that get no new work (draining or evicted); read on every
    /// balanced pick, so it is swapped whole rather than locked.
    excluded: ArcSwap<HashSet<NodeId>>,
    /// Of those, the removed and evicted ones: not even the sessions
    /// pinned to them go there (draining ones keep theirs).
    barred: ArcSwap<HashSet<NodeId>>,
    /// Proxies: the services and routes alive at the last lost-node check
    /// (`lost.rs`).
    pub(super) seen: Mutex<HashSet<NodeId>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Short critical sections that never panic; recover from poison anyway.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Membership {
    /// Whether `id` must get no new work: it drains, or a route evicted it.
    pub(crate) fn excluded(&self, id: &NodeId) -> bool {
        let set = self.excluded.load();
        !set.is_empty() && set.contains(id)
    }

    /// Whether `id` announced that it is draining.
    pub(crate) fn is_draining(&self, id: &NodeId) -> bool {
        self.known().iter().any(|m| m.node_id == id.as_str() && m.state() == MemberState::Draining)
    }

    /// Every member this node knows of, by id: direct announcements win
    /// over route lists (they are first-hand).
    pub(crate) fn known(&self) -> Vec<Member> {
        let mut all: HashMap<String, Member> = HashMap::new();
        for view in lock(&self.views).values() {
            for m in &view.members {
                all.insert(m.node_id.clone(), m.clone());
            }
        }
        for m in lock(&self.direct).values() {
            all.insert(m.node_id.clone(), m.clone());
        }
        let mut out: Vec<Member> = all.into_values().collect();
        out.sort_by(|a, b| a.node_id.cmp(&b.node_id));
        out
    }

    /// Routes: the members a reload evicted that have not announced
    /// themselves again, sorted.
    pub(crate) fn evicted(&self) -> Vec<NodeId> {
        let mut out: Vec<NodeId> = lock(&self.evicted).iter().cloned().collect();
        out.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        out
    }

    /// Whether `id` must not get even its pinned sessions' messages: a
    /// route removed or evicted it.
    pub(crate) fn barred(&self, id: &NodeId) -> bool {
        let set = self.barred.load();
        !set.is_empty() && set.contains(id)
    }

    fn refresh_excluded(&self) {
        let (excluded, barred) = excluded_set(&lock(&self.direct), &lock(&self.views), &lock(&self.evicted));
        self.excluded.store(excluded.into());
        self.barred.store(barred.into());
    }
}

/// A route's reload removed `ids` from its config: evict them from the
/// cluster, so no node sends them new work, and tell everyone.
pub(crate) fn evict(shared: &NodeState, ids: &[NodeId]) {
    if shared.node_type() != NodeType::Route || ids.is_empty() {
        return;
    }
    {
        let mut evicted = lock(&shared.cluster.members.evicted);
        if evicted.len() + ids.len() > MAX_MEMBERS {
            // Only config removals grow this set; past the bound, forget
            // the oldest decisions rather than grow.
            evicted.clear();
        }
        evicted.extend(ids.iter().cloned());
    }
    shared.cluster.members.refresh_excluded();
    tracing::info!(count = ids.len(), "evicted members removed from the config; no new work goes to them");
    broadcast(shared);
}

/// This node as it announces itself.
fn own_member(shared: &NodeState) -> Member {
    let config = &shared.config;
    let state = if shared.cluster.drain.is_draining() { MemberState::Draining } else { MemberState::Active };
    Member {
        node_id: shared.id().to_string(),
        node_type: shared.node_type() as i32,
        host: config.host.clone(),
        port: u32::from(config.rpc.port),
        state: state as i32,
        name: config.name.clone(),
        forwards_to: shared.router.live.load().routes.forward_types().into_iter().map(|t| t as i32).collect(),
    }
}

fn control(command: i32, payload: Vec<u8>) -> Envelope {
    Envelope { kind: Kind::Control as i32, command, payload: Bytes::from(payload), ..Envelope::default() }
}

/// Tells the peer of `link` who we are.
pub(crate) fn announce(shared: &NodeState, link: &Link) {
    let env = control(CONTROL_ANNOUNCE, own_member(shared).encode_to_vec());
    if let Err(err) = link.send(env) {
        tracing::debug!(peer = %link.peer_id(), error = %err, "announce not sent");
    }
}

/// Announces this node (again) on every link, e.g. once it drains.
pub(crate) fn announce_all(shared: &NodeState) {
    for link in shared.router.endpoint.links() {
        announce(shared, &link);
    }
}

/// A link came up: announce ourselves on it.
pub(crate) fn link_up(shared: &NodeState, link: &Link) {
    announce(shared, link);
    if shared.node_type() != NodeType::Route {
        super::lost::check(shared);
    }
}

/// A link closed. When it was the last one to its peer, the peer's
/// announcement no longer holds.
pub(crate) fn link_down(shared: &NodeState, link: &Link) {
    // A stopping node closes all its links; nothing to tell or redial.
    if shared.shutdown.is_triggered() {
        return;
    }
    let peer = link.peer_id();
    if shared.router.endpoint.link(peer).is_some() {
        return;
    }
    let removed = lock(&shared.cluster.members.direct).remove(peer).is_some();
    if removed {
        shared.cluster.members.refresh_excluded();
        if shared.node_type() == NodeType::Route {
            tracing::info!(%peer, peer_type = ?link.peer_type(), "member left");
            broadcast(shared);
        }
    }
    if shared.node_type() != NodeType::Route {
        forget_lost_route(shared, link);
        sync_learned(shared);
        super::lost::check(shared);
    }
}

/// The last link to a route closed. While another route is linked, its
/// list is current and the lost route's last list is not: kept, it would
/// list members that left since (dialed forever), or keep a restarted
/// member marked draining. With no route left, the last lists are all
/// there is, and are kept until a route is back.
fn forget_lost_route(shared: &NodeState, link: &Link) {
    let lost = link.peer_id();
    let another_route = || {
        shared
            .router
            .endpoint
            .links()
            .iter()
            .any(|l| l.peer_type() == NodeType::Route && l.peer_id() != lost && !l.is_closed())
    };
    if link.peer_type() == NodeType::Route
        && another_route()
        && lock(&shared.cluster.members.views).remove(lost).is_some()
    {
        tracing::info!(route = %lost, "route lost; following the member lists of the routes still linked");
        shared.cluster.members.refresh_excluded();
    }
}

/// Handles a control envelope other than a heartbeat.
pub(crate) fn on_control(shared: &NodeState, link: &Link, envelope: Envelope) {
    match envelope.command {
        CONTROL_ANNOUNCE => match Member::decode(envelope.payload) {
            Ok(member) => on_announce(shared, link, member),
            Err(err) => tracing::warn!(peer = %link.peer_id(), error = %err, "undecodable announce"),
        },
        CONTROL_MEMBERS if link.peer_type() == NodeType::Route && shared.node_type() != NodeType::Route => {
            match Members::decode(envelope.payload) {
                Ok(list) => on_members(shared, link, list),
                Err(err) => tracing::warn!(peer = %link.peer_id(), error = %err, "undecodable member list"),
            }
        }
        other => tracing::debug!(command = other, peer = %link.peer_id(), "ignoring control message"),
    }
}

fn on_announce(shared: &NodeState, link: &Link, member: Member) {
    // The handshake proved the peer's id; an announcement must agree with
    // it, so no node can speak for another.
    let consistent =
        checked_id(&member).is_some_and(|id| &id == link.peer_id()) && member.node_type() == link.peer_type();
    if !consistent {
        tracing::warn!(peer = %link.peer_id(), claimed = %member.node_id, host = %member.host, port = member.port,
            "ignoring an announcement that does not match the link's proven identity");
        return;
    }
    let previous = lock(&shared.cluster.members.direct).insert(link.peer_id().clone(), member.clone());
    if previous.as_ref() == Some(&member) {
        return;
    }
    if previous.is_none() && lock(&shared.cluster.members.evicted).remove(link.peer_id()) {
        tracing::info!(peer = %link.peer_id(), "an evicted member announced itself again; it rejoins");
    }
    shared.cluster.members.refresh_excluded();
    if member.state() == MemberState::Draining {
        tracing::info!(peer = %link.peer_id(), name = %member.name, "peer is draining; no new work goes to it");
    }
    if shared.node_type() == NodeType::Route {
        if previous.is_none() {
            tracing::info!(peer = %link.peer_id(), name = %member.name, peer_type = ?member.node_type(), "member joined");
        }
        broadcast(shared);
    }
}

fn on_members(shared: &NodeState, link: &Link, list: Members) {
    let Members { mut members, removed } = list;
    if members.len() > MAX_MEMBERS {
        tracing::warn!(route = %link.peer_id(), count = members.len(), "member list too long; keeping the first {MAX_MEMBERS}");
        members.truncate(MAX_MEMBERS);
    }
    members.retain(|m| checked_id(m).is_some());
    let removed = removed.iter().take(MAX_MEMBERS).filter_map(|id| NodeId::parse(id).ok()).collect();
    lock(&shared.cluster.members.views).insert(link.peer_id().clone(), View { members, removed });
    shared.cluster.members.refresh_excluded();
    sync_learned(shared);
    super::lost::check(shared);
}

/// A route sends its members to every non-route node it is linked to.
fn broadcast(shared: &NodeState) {
    let evicted = lock(&shared.cluster.members.evicted).clone();
    let members: Vec<Member> = lock(&shared.cluster.members.direct)
        .iter()
        .filter(|(id, m)| m.node_type() != NodeType::Route && !evicted.contains(*id))
        .map(|(_, m)| m.clone())
        .collect();
    let removed = evicted.iter().map(ToString::to_string).collect();
    let payload = Members { members, removed }.encode_to_vec();
    let mut told = HashSet::new();
    for link in shared.router.endpoint.links() {
        if link.peer_type() == NodeType::Route || !told.insert(link.peer_id().clone()) {
            continue;
        }
        let Some(best) = shared.router.endpoint.link(link.peer_id()) else { continue };
        if let Err(err) = best.send(control(CONTROL_MEMBERS, payload.clone())) {
            tracing::debug!(peer = %best.peer_id(), error = %err, "member list not sent");
        }
    }
}

/// Dials learned members this node should link to, and stops dialing
/// learned members that no route lists any more and that are unreachable.
fn sync_learned(shared: &NodeState) {
    let listed: Vec<(NodeId, Member, NodeId)> = lock(&shared.cluster.members.views)
        .iter()
        .flat_map(|(route, view)| view.members.iter().map(move |m| (route.clone(), m.clone())))
        .filter_map(|(route, m)| checked_id(&m).map(|id| (id, m, route)))
        .collect();
    let forwards: Vec<i32> =
        shared.router.live.load().routes.forward_types().into_iter().map(|t| t as i32).collect();
    let own = Side { node_type: shared.node_type(), id: shared.id(), forwards_to: &forwards };
    for (id, member, via) in &listed {
        let other = Side { node_type: member.node_type(), id, forwards_to: &member.forwards_to };
        let dial = id != shared.id()
            && member.state() == MemberState::Active
            && !shared.cluster.members.excluded(id)
            && should_dial(own, other)
            && !shared.cluster.peers.contains(id)
            && shared.router.endpoint.link(id).is_none();
        if dial && let Some(spec) = learned_spec(shared, member, via) {
            tracing::info!(peer = %id, name = %member.name, peer_type = ?member.node_type(), via = %via,
                "linking to a member learned from a route");
            shared.cluster.peers.learn(&shared.router.endpoint, spec, member.node_type());
        }
    }
    let still_listed: HashSet<&NodeId> = listed.iter().map(|(id, _, _)| id).collect();
    for peer in shared.cluster.peers.learned() {
        if !still_listed.contains(&peer.id) && !peer.is_up() {
            tracing::info!(peer = %peer.id, "member is gone; no longer dialing it");
            shared.cluster.peers.remove(&peer.id, Origin::Learned);
        }
    }
}

/// How to dial a learned member: with the token and encryption of the
/// route's config entry that listed it (a cluster normally shares one
/// token), else this node's own `rpc` token and encryption.
fn learned_spec(shared: &NodeState, member: &Member, via: &NodeId) -> Option<PeerSpec> {
    let config = shared.router.live_config();
    let port = u16::try_from(member.port).ok()?;
    let entry = config.remote_ports.iter().find(|p| &p.node_id() == via);
    let (token, encrypt) = match entry {
        Some(e) => (e.token.clone(), e.encrypt),
        None => (config.rpc.token.clone(), config.rpc.encrypt),
    };
    Some(PeerSpec {
        host: member.host.clone(),
        port,
        token,
        encrypt,
        reconnect: config.rpc.reconnect_time,
        max_backoff: config.rpc.max_backoff,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusion_is_read_from_the_swapped_set() {
        let id = |port| NodeId::of("127.0.0.1", port);
        let m = Membership::default();
        assert!(!m.excluded(&id(1)));
        m.excluded.store(HashSet::from([id(1)]).into());
        assert!(m.excluded(&id(1)) && !m.excluded(&id(3)));
    }
}
