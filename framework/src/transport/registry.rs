//! The established links of a node, by peer node id.
//!
//! A peer may have several live links: the lanes its dialer opened (see
//! [`crate::routing::LaneKey`]), and, when both nodes dial each other, a
//! set in each direction. Messages take the lanes we dialed when there are
//! any (we control their reconnection, so they come back after a blip),
//! and among them the lane the message's key picks.

use std::collections::HashMap;
use std::sync::RwLock;

use super::link::{Direction, Link};
use crate::id::NodeId;
use crate::proto::NodeType;
use crate::routing::{LaneKey, rendezvous};

/// Live links by peer.
#[derive(Debug, Default)]
pub(crate) struct LinkRegistry {
    by_peer: RwLock<HashMap<NodeId, Vec<Link>>>,
}

impl LinkRegistry {
    pub(crate) fn insert(&self, link: Link) {
        let mut map = self.by_peer.write().unwrap_or_else(|p| p.into_inner());
        let links = map.entry(link.peer_id().clone()).or_default();
        links.retain(|l| !l.is_closed());
        links.push(link);
    }

    pub(crate) fn remove(&self, link: &Link) {
        let mut map = self.by_peer.write().unwrap_or_else(|p| p.into_inner());
        if let Some(links) = map.get_mut(link.peer_id()) {
            links.retain(|l| !l.same(link) && !l.is_closed());
            if links.is_empty() {
                map.remove(link.peer_id());
            }
        }
    }

    /// The live link to `peer` that messages with `key` take.
    pub(crate) fn get(&self, peer: &NodeId, key: LaneKey) -> Option<Link> {
        let map = self.by_peer.read().unwrap_or_else(|p| p.into_inner());
        Self::best(map.get(peer)?, key).cloned()
    }

    /// One live link to a node of type `node_type` among those `keep`
    /// accepts: the node spread over the candidates by `seed` (a
    /// round-robin counter), the lane by `key`. Allocation-free: this runs
    /// for every balanced message.
    pub(crate) fn pick_where(
        &self,
        node_type: NodeType,
        seed: usize,
        key: LaneKey,
        keep: impl Fn(&Link) -> bool,
    ) -> Option<Link> {
        let map = self.by_peer.read().unwrap_or_else(|p| p.into_inner());
        let candidates = || {
            map.values()
                .filter_map(|links| Self::best(links, key))
                .filter(|l| l.peer_type() == node_type && keep(l))
        };
        let count = candidates().count();
        if count == 0 {
            return None;
        }
        candidates().nth(seed % count).cloned()
    }

    /// The live link, on the lane `lane` picks, to the node of type
    /// `node_type` that [`rendezvous`] hashing of `key` chooses among the
    /// linked ones. Allocation-free: replies and pushes through a route
    /// take this for every message.
    pub(crate) fn rendezvous(&self, node_type: NodeType, key: &str, lane: LaneKey) -> Option<Link> {
        let map = self.by_peer.read().unwrap_or_else(|p| p.into_inner());
        let candidates = map
            .iter()
            .filter(|(_, links)| links.iter().any(|l| l.peer_type() == node_type && !l.is_closed()))
            .map(|(id, _)| id.as_str());
        let chosen = rendezvous(key, candidates)?;
        let chosen = NodeId::parse(chosen).ok()?;
        Self::best(map.get(&chosen)?, lane).cloned()
    }

    /// Among one peer's links: the live lanes we dialed if any, else those
    /// it dialed; of those, the one `key` picks, or the next live one when
    /// that lane is down.
    fn best(links: &[Link], key: LaneKey) -> Option<&Link> {
        let live = |dir: Direction| links.iter().filter(move |l| l.direction() == dir && !l.is_closed());
        let pick = |dir| live(dir).min_by_key(|l| l.lane().distance(key));
        pick(Direction::Outbound).or_else(|| pick(Direction::Inbound))
    }

    /// Every live link, every lane.
    pub(crate) fn all(&self) -> Vec<Link> {
        let map = self.by_peer.read().unwrap_or_else(|p| p.into_inner());
        map.values().flatten().filter(|l| !l.is_closed()).cloned().collect()
    }
}
