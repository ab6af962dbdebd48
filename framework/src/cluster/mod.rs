//! The cluster around a node: who its peers are, what it learned of the
//! other members through routes, and how it leaves (drain).
//!
//! * `rules`: the pure rules of membership (which announcements to trust,
//!   which members to link to, which get no new work). No I/O.
//! * `membership`: announcing this node, keeping routes' member lists,
//!   dialing learned members, evicting removed ones.
//! * `lost`: telling a proxy's clients that a node their sessions are
//!   pinned to left the cluster (`websocket.sessions.node_lost_command`).
//! * `peers`: the outbound peers a node keeps dialing, configured and
//!   learned ([`PeerOrigin`]).
//! * `drain`: stop taking work, finish what is in flight, tell the cluster.
//! * `state`: [`ClusterState`], what a node keeps of all this.

mod drain;
mod lost;
mod membership;
mod peers;
mod rules;
mod state;

pub(crate) use drain::{SessionsHold, drain};
pub(crate) use membership::{announce_all, evict, link_down, link_up, on_control};
pub(crate) use peers::Origin as PeerOrigin;
pub(crate) use state::ClusterState;
