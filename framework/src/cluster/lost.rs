//! The lost-node notice (`websocket.sessions.node_lost_command`): when a
//! service or route leaves the cluster as a proxy sees it (no route lists
//! it and the proxy has no link to it), the proxy tells the clients whose
//! sessions are pinned to it, so a game's client rejoins at once instead
//! of learning on its next message. Checked after every link loss and
//! member list; a node's loss is told once (it must be seen alive again to
//! be told lost again).

use std::collections::HashSet;

use bytes::Bytes;
use serde_json::json;

use crate::id::NodeId;
use crate::node::NodeState;
use crate::proto::NodeType;

/// Compares the nodes alive now with those alive at the last check and
/// tells the sessions pinned to each node that left.
pub(crate) fn check(shared: &NodeState) {
    let Some(sessions) = &shared.sessions else { return };
    let Some(command) = sessions.config().node_lost_command else { return };
    let alive = alive(shared);
    let lost: Vec<NodeId> = {
        let mut seen = shared.cluster.members.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let lost = seen.iter().filter(|id| !alive.contains(*id)).cloned().collect();
        *seen = alive;
        lost
    };
    for node in lost {
        let body = json!({ "node": node.to_string() });
        let body = Bytes::from(body.to_string());
        let pinned = sessions.pinned_to(&node);
        tracing::info!(%node, sessions = pinned.len(), "a pinned node left the cluster; telling its sessions");
        for seq in pinned {
            if let Err(err) = shared.push_local(sessions, seq, command, body.clone()) {
                tracing::debug!(seq, error = %err, "lost-node notice not queued");
            }
        }
    }
}

/// The services and routes this proxy knows alive: listed by a route, or
/// linked.
fn alive(shared: &NodeState) -> HashSet<NodeId> {
    let pinnable = |t: i32| t == NodeType::Service as i32 || t == NodeType::Route as i32;
    let mut alive: HashSet<NodeId> = shared
        .cluster
        .members
        .known()
        .into_iter()
        .filter(|m| pinnable(m.node_type))
        .filter_map(|m| NodeId::parse(&m.node_id).ok())
        .collect();
    for link in shared.router.endpoint.links() {
        if pinnable(link.peer_type() as i32) && !link.is_closed() {
            alive.insert(link.peer_id().clone());
        }
    }
    alive
}
