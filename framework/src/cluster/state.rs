//! What a node keeps of the cluster around it.

use super::drain::DrainState;
use super::membership::Membership;
use super::peers::PeerSet;

/// The cluster as one node sees it.
#[derive(Default)]
pub(crate) struct ClusterState {
    /// Outbound peers: configured and learned.
    pub(crate) peers: PeerSet,
    /// Members learned through routes (routes: those linked to it).
    pub(crate) members: Membership,
    pub(crate) drain: DrainState,
}
