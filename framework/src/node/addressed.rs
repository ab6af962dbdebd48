//! Calls to one node by id and the live nodes of a type, for
//! [`Context::call_node`](crate::Context::call_node),
//! [`Context::live_nodes`](crate::Context::live_nodes) and what builds on
//! them (owners, pins).

use std::sync::Arc;

use bytes::Bytes;

use super::state::NodeState;
use crate::dispatch::{decode_reply, run_handler};
use crate::handler::{ApiFuture, CallScope, Context, NodeApi, SessionView};
use crate::id::NodeId;
use crate::limits;
use crate::metrics::Via;
use crate::proto::{Kind, MemberState, NodeType};
use crate::routing::LaneKey;
use crate::status::Status;
use crate::transport::CallError;

impl NodeState {
    /// The live nodes of `node_type` taking new work, sorted by id.
    pub(super) fn live_nodes_of(&self, node_type: NodeType) -> Vec<NodeId> {
        let members = &self.cluster.members;
        let mut nodes: Vec<NodeId> = members
            .known()
            .into_iter()
            .filter(|m| m.node_type == node_type as i32 && m.state() == MemberState::Active)
            .filter_map(|m| NodeId::parse(&m.node_id).ok())
            .filter(|id| id != self.id() && !members.excluded(id))
            .collect();
        if self.node_type() == node_type && !self.cluster.drain.is_draining() {
            nodes.push(self.id().clone());
        }
        nodes.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        nodes
    }

    /// A request addressed to `node`: sent on a direct link, or through a
    /// route, which relays it by its `to`; run here when `node` is this
    /// node.
    pub(super) fn call_addressed(
        self: &Arc<Self>,
        node: &NodeId,
        command: i32,
        scope: CallScope,
        body: Bytes,
    ) -> ApiFuture<Result<Bytes, Status>> {
        if node == self.id() {
            return Box::pin(Arc::clone(self).call_here(command, scope, body));
        }
        let mut env = self.router.envelope(Kind::Request, command, scope.session.as_ref(), body);
        self.tracer.stamp_current(&mut env);
        env.to = node.to_wire();
        env.uid = scope.uid;
        env.session_data = scope.data;
        env.pins = scope.pins;
        let link = self.router.link_for_node(node, LaneKey::of(&env));
        if link.is_some() {
            self.metrics.sent(Via::Rpc, command);
        }
        let endpoint = self.router.endpoint.clone();
        let deadline = self.router.call_timeout;
        let node = node.clone();
        Box::pin(async move {
            let link = link.ok_or_else(|| Status::unavailable(format!("node {node} is unreachable")))?;
            let response =
                endpoint.call(&link, env, deadline).await.map_err(|e: CallError| Status::from(e))?;
            decode_reply(&response)
        })
    }

    /// A call to this node: its handler runs as an addressed request would,
    /// under the same bounds, deadline and drain rules.
    async fn call_here(
        self: Arc<Self>,
        command: i32,
        scope: CallScope,
        body: Bytes,
    ) -> Result<Bytes, Status> {
        if self.cluster.drain.is_draining() && !self.takes_while_draining(&scope.pins) {
            return Err(Status::unavailable("node is draining"));
        }
        let handler =
            self.handlers.events.get(command).cloned().ok_or_else(|| self.no_handler(command, false))?;
        let _slot = limits::admit(&self, command)?;
        let _work = self.cluster.drain.hold();
        let view = SessionView::from_wire(&scope.uid, scope.data, scope.pins);
        let ctx = Context::new(Arc::clone(&self) as Arc<dyn NodeApi>, scope.session, command).with_view(view);
        let started = tokio::time::Instant::now();
        let result = run_handler(&*handler, ctx, body, self.handlers.timeout, None).await;
        self.metrics.handled(command, started.elapsed(), &result);
        result.map(Option::unwrap_or_default)
    }
}
