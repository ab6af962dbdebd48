//! Commands that go astray: one that reaches a node without a handler for
//! it (the status its sender gets), and one that a node has a handler for
//! but sends elsewhere; both with a hint in the node's log at what to fix.
//!
//! The usual cause is routing, not code: every node routes by its own
//! `rpc.route`, which sends each command id to a node type, and an id it
//! does not name goes to a route and stops there. A game adding its own
//! ids meets this first, so the log says so once per id.

use std::collections::HashSet;
use std::sync::Mutex;

use crate::proto::NodeType;
use crate::status::Status;

/// How many distinct ids get a hint: clients choose the ids they send, so
/// the set of hinted ids must not grow without bound.
const MAX_HINTED: usize = 64;

/// The ids this node has hinted about.
#[derive(Debug, Default)]
pub(crate) struct RouteHints {
    hinted: Mutex<HashSet<i32>>,
}

/// Where the command came from, as far as routing goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arrival {
    /// Sent to this node by id (a close or bind notice, a pinned call): no
    /// routing decision to hint at.
    Addressed,
    /// Routed here by command id; `named`: whether this node's own
    /// `rpc.route` names a node type for the id.
    Routed { named: bool },
}

impl RouteHints {
    /// The `NOT_FOUND` status for `command` on node `node`; the first time
    /// per routed id, a warning that says what to check.
    pub(crate) fn not_found(
        &self,
        command: i32,
        node: &str,
        node_type: NodeType,
        arrival: Arrival,
    ) -> Status {
        let status =
            Status::not_found(format!("no handler for command {command} on this {node_type:?} node"));
        let Arrival::Routed { named } = arrival else { return status };
        if !self.first_time(command) {
            return status;
        }
        let kind = format!("{node_type:?}").to_lowercase();
        if node_type == NodeType::Route && !named {
            tracing::warn!(
                command,
                node,
                "no handler for command {command}: rpc.route names no node type for it, so it went to a \
                 route and stopped here. Add it to rpc.route (a `range` or `special` entry under the node \
                 type whose api_path has its handler) in the configs of the proxies and routes"
            );
        } else {
            tracing::warn!(
                command,
                node,
                "no handler for command {command} on this {kind} node, although rpc.route sends it to {kind} \
                 nodes: is the handler group that registers it in this node's api_path, or should rpc.route \
                 send it to another node type?"
            );
        }
        status
    }

    /// For a command this node has a handler for, yet its `rpc.route`
    /// sends to `to` nodes and none is linked: the first time per id, a
    /// warning to name it for this node's type too.
    pub(crate) fn misrouted(&self, command: i32, node: &str, node_type: NodeType, to: NodeType) {
        if !self.first_time(command) {
            return;
        }
        let (kind, to) = (format!("{node_type:?}").to_lowercase(), format!("{to:?}").to_lowercase());
        tracing::warn!(
            command,
            node,
            "command {command} has a handler on this {kind} node, but this node's rpc.route sends it to \
             {to} nodes (ids rpc.route does not name go to a route), and none is linked: every node routes \
             by its own rpc.route, so name {command} under \"{kind}\" in this node's config too"
        );
    }

    /// True the first time `command` is seen (among the first
    /// [`MAX_HINTED`] ids).
    fn first_time(&self, command: i32) -> bool {
        let mut hinted = self.hinted.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        hinted.len() < MAX_HINTED && hinted.insert(command)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_id_is_hinted_once_and_only_so_many_ids() {
        let missing = RouteHints::default();
        assert!(missing.first_time(7));
        assert!(!missing.first_time(7));
        for id in 0..MAX_HINTED as i32 * 2 {
            missing.first_time(id);
        }
        assert_eq!(missing.hinted.lock().unwrap().len(), MAX_HINTED);
        let status = missing.not_found(9, "n", NodeType::Route, Arrival::Routed { named: false });
        assert_eq!(status.code(), crate::Code::NOT_FOUND);
        assert!(status.message().contains("no handler for command 9"), "{status}");
    }
}
