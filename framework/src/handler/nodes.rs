//! The cluster side of [`Context`]: which nodes of a type are live, which
//! one owns a key, calls to one node by id, and pinning a session to a
//! node. What a matchmaker needs to put a match's room on a chosen node
//! and send its players there (docs/rooms.md, "Rooms across nodes").

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::context::Context;
use super::json::{decode_body, encode_body};
use crate::id::{NodeId, SessionId};
use crate::proto::NodeType;
use crate::routing::rendezvous;
use crate::session::SessionRequest;
use crate::status::{Code, Status};

impl Context {
    /// The nodes of `node_type` this node knows to be live and taking new
    /// work, sorted by id: the members the routes list (and those linked
    /// directly), less draining and evicted ones, this node included when
    /// it is of the type and not draining.
    pub fn live_nodes(&self, node_type: NodeType) -> Vec<NodeId> {
        self.node.live_nodes(node_type)
    }

    /// The live node of `node_type` that owns `key`: rendezvous hashing
    /// over [`Context::live_nodes`], so every node that knows the same
    /// members picks the same owner, and a node's loss moves only the keys
    /// it owned. While membership changes, two nodes may briefly disagree:
    /// what an owner keeps (a matchmaking pool) must tolerate that, for
    /// instance by letting tickets expire and be submitted again.
    pub fn owner(&self, node_type: NodeType, key: &str) -> Option<NodeId> {
        let nodes = self.live_nodes(node_type);
        let chosen = rendezvous(key, nodes.iter().map(NodeId::as_str))?;
        nodes.iter().find(|n| n.as_str() == chosen).cloned()
    }

    /// Calls `command` on the node `node` itself (this node included),
    /// whatever the command's usual route, and waits for its reply. Made
    /// while handling a client's message, the call carries the session as
    /// [`Context::call`] does.
    ///
    /// # Errors
    /// The remote handler's status; `UNAVAILABLE` when the node is
    /// unreachable (directly or through a route) or draining; `NOT_FOUND`
    /// when it has no handler for `command`; `TIMEOUT`; `BAD_REQUEST` when
    /// the reply does not decode as `R`.
    pub async fn call_node<T: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        node: &NodeId,
        command: i32,
        body: &T,
    ) -> Result<R, Status> {
        let scope = self.view.scope(self.session.clone());
        let reply = Arc::clone(&self.node).call_node(node, command, scope, encode_body(body)?).await?;
        decode_body(&reply)
            .map_err(|s| Status::new(Code::INTERNAL, format!("undecodable reply: {}", s.message())))
    }

    /// Pins `session` to `node`: its stateful messages for the node's type
    /// go there from now on while the node is live, as if the node had
    /// answered one of them. A matchmaker puts a match's players on their
    /// room's node this way. The answer to a stateful message served by
    /// another node of the type re-pins the session to that node, so the
    /// commands that lead to a pin (finding a match) belong in the proxy's
    /// `no_state` ranges.
    ///
    /// # Errors
    /// `BAD_REQUEST` when `node` is not a live member this node knows (its
    /// type decides the pin) or is a proxy; `NOT_FOUND` when the session is
    /// gone; `UNAVAILABLE` when its proxy is unreachable.
    pub async fn pin_session(&self, session: &SessionId, node: &NodeId) -> Result<(), Status> {
        let node_type = [NodeType::Service, NodeType::Route]
            .into_iter()
            .find(|t| self.live_nodes(*t).contains(node))
            .ok_or_else(|| Status::bad_request(format!("node {node} is not a live service or route")))?;
        let request = SessionRequest::Pin { session: session.clone(), node_type, node: node.clone() };
        self.node.session_call(request).await
    }
}
