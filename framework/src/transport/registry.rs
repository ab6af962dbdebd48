//! The established links of a node, by peer node id.

use std::collections::HashMap;
use std::sync::RwLock;

use super::link::{Direction, Link};
use crate::id::NodeId;
use crate::proto::NodeType;

/// Live links by peer. Two nodes may hold two links (each dialed the
/// other); either may carry frames.
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

    /// A live link to `peer`, preferring one we dialed (we control its
    /// reconnection, so it is the one that comes back after a blip).
    pub(crate) fn get(&self, peer: &NodeId) -> Option<Link> {
        let map = self.by_peer.read().unwrap_or_else(|p| p.into_inner());
        Self::best(map.get(peer)?).cloned()
    }

    /// One live link to a node of type `node_type`, spread over the
    /// candidates by `seed` (a round-robin counter). Allocation-free: this
    /// runs for every balanced message.
    pub(crate) fn pick(&self, node_type: NodeType, seed: usize) -> Option<Link> {
        self.pick_where(node_type, seed, |_| true)
    }

    /// As [`LinkRegistry::pick`], among the links `keep` accepts.
    pub(crate) fn pick_where(
        &self,
        node_type: NodeType,
        seed: usize,
        keep: impl Fn(&Link) -> bool,
    ) -> Option<Link> {
        let map = self.by_peer.read().unwrap_or_else(|p| p.into_inner());
        let candidates = || {
            map.values()
                .filter_map(|links| Self::best(links))
                .filter(|l| l.peer_type() == node_type && keep(l))
        };
        let count = candidates().count();
        if count == 0 {
            return None;
        }
        candidates().nth(seed % count).cloned()
    }

    fn best(links: &[Link]) -> Option<&Link> {
        let live = || links.iter().filter(|l| !l.is_closed());
        live().find(|l| l.direction() == Direction::Outbound).or_else(|| live().next())
    }

    pub(crate) fn all(&self) -> Vec<Link> {
        let map = self.by_peer.read().unwrap_or_else(|p| p.into_inner());
        map.values().flatten().filter(|l| !l.is_closed()).cloned().collect()
    }
}
