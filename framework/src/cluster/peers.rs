//! The outbound peers a node keeps dialing, by node id: those its config
//! lists and those it learned of through a route's membership.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::id::NodeId;
use crate::proto::NodeType;
use crate::transport::{PeerLink, PeerSpec, PeerState, RpcEndpoint};

/// Why a peer is dialed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A `remote_ports` entry of the config.
    Config,
    /// A member a route told us about.
    Learned,
}

impl Origin {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Origin::Config => "config",
            Origin::Learned => "membership",
        }
    }
}

/// One dialed peer.
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    pub(crate) id: NodeId,
    pub(crate) node_type: NodeType,
    pub(crate) origin: Origin,
    pub(crate) link: PeerLink,
}

impl Peer {
    /// True while its link is established.
    pub(crate) fn is_up(&self) -> bool {
        self.link.link().is_some()
    }

    /// Its state as a short word, for `/nodes` and metrics.
    pub(crate) fn state_name(&self) -> &'static str {
        match self.link.state() {
            PeerState::Connecting => "connecting",
            PeerState::Up(link) if !link.is_closed() => "up",
            PeerState::Up(_) | PeerState::Down { .. } => "down",
            PeerState::Closed => "closed",
        }
    }
}

/// The dialed peers of a node. Every change closes the link it replaces,
/// so a peer id never has two dialers.
#[derive(Debug, Default)]
pub(crate) struct PeerSet {
    peers: Mutex<HashMap<NodeId, Peer>>,
}

impl PeerSet {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<NodeId, Peer>> {
        // Short critical sections that never panic; recover from poison anyway.
        self.peers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Dials a configured peer, replacing (and closing) whatever dialed
    /// that id before: a learned link, or a config entry with old settings.
    pub(crate) fn configure(&self, endpoint: &RpcEndpoint, spec: PeerSpec, node_type: NodeType) {
        let id = spec.expected_id();
        let link = endpoint.connect(spec);
        let old = self.lock().insert(id.clone(), Peer { id, node_type, origin: Origin::Config, link });
        if let Some(old) = old {
            old.link.close();
        }
    }

    /// Dials a learned member unless some dialer for it already exists.
    /// True when a new dialer was started.
    pub(crate) fn learn(&self, endpoint: &RpcEndpoint, spec: PeerSpec, node_type: NodeType) -> bool {
        let id = spec.expected_id();
        let mut peers = self.lock();
        if peers.contains_key(&id) {
            return false;
        }
        let link = endpoint.connect(spec);
        peers.insert(id.clone(), Peer { id, node_type, origin: Origin::Learned, link });
        true
    }

    /// Stops dialing `id` and closes its link, if `origin` matches (a
    /// configured peer is not dropped because membership forgot it).
    pub(crate) fn remove(&self, id: &NodeId, origin: Origin) -> bool {
        let mut peers = self.lock();
        if peers.get(id).is_none_or(|p| p.origin != origin) {
            return false;
        }
        if let Some(peer) = peers.remove(id) {
            peer.link.close();
        }
        true
    }

    /// Whether a dialer for `id` exists.
    pub(crate) fn contains(&self, id: &NodeId) -> bool {
        self.lock().contains_key(id)
    }

    /// Every dialed peer, sorted by id for stable output.
    pub(crate) fn all(&self) -> Vec<Peer> {
        let mut all: Vec<Peer> = self.lock().values().cloned().collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    /// Learned peers, for membership housekeeping.
    pub(crate) fn learned(&self) -> Vec<Peer> {
        self.lock().values().filter(|p| p.origin == Origin::Learned).cloned().collect()
    }
}
