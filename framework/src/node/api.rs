//! The handler-facing face of a running node ([`NodeApi`]): pushes, calls
//! and notifications to other nodes, and session operations, as a
//! handler's [`Context`](crate::Context) asks for them.

use std::sync::Arc;

use crate::cluster::SessionsHold;
use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use super::state::NodeState;
use crate::dispatch::decode_reply;
use crate::handler::{ApiFuture, AppState, CallScope, NodeApi};
use crate::id::{NodeId, SessionId};
use crate::metrics::Via;
use crate::proto::{Envelope, Kind, NodeType};
use crate::routing::LaneKey;
use crate::session::SessionRequest;
use crate::sessions;
use crate::status::Status;
use crate::topic::TopicMessage;
use crate::transport::{CallError, Link};

impl NodeState {
    /// A handler's call or notification carrying its session's scope, and
    /// the link it leaves on: the session's pinned node of the type for a
    /// stateful command (pins travel on, so a route honours them too).
    /// Only a proxy has a `no_state` table; on other nodes every command
    /// counts as stateful, so calls keep to the session's nodes.
    fn scoped(
        &self,
        kind: Kind,
        target: NodeType,
        command: i32,
        scope: CallScope,
        body: Bytes,
    ) -> (Envelope, Option<Link>) {
        let mut env = self.router.envelope(kind, command, scope.session.as_ref(), body);
        self.tracer.stamp_current(&mut env);
        env.uid = scope.uid;
        env.session_data = scope.data;
        if !self.router.is_stateless(command) {
            env.pins = scope.pins;
        }
        let link = self.link_for_type(target, &env.pins, LaneKey::of(&env));
        (env, link)
    }
}

impl NodeApi for NodeState {
    fn node_id(&self) -> &NodeId {
        self.id()
    }

    fn node_type(&self) -> NodeType {
        self.node_type()
    }

    fn state(&self) -> &AppState {
        &self.handlers.state
    }

    fn push(&self, session: &SessionId, command: i32, body: Bytes) -> Result<(), Status> {
        if session.proxy() == self.id()
            && let Some(sessions) = &self.sessions
        {
            return self.push_local(sessions, session.seq(), command, body);
        }
        let mut env = self.router.envelope(Kind::Push, command, Some(session), body);
        env.to = session.proxy().to_wire();
        self.tracer.stamp_current(&mut env);
        self.send_to_node(session.proxy(), env).map_err(Status::from)
    }

    fn call(
        &self,
        target: NodeType,
        command: i32,
        scope: CallScope,
        body: Bytes,
    ) -> ApiFuture<Result<Bytes, Status>> {
        let (env, link) = self.scoped(Kind::Request, target, command, scope, body);
        let endpoint = self.router.endpoint.clone();
        let deadline = self.router.call_timeout;
        if link.is_some() {
            self.metrics.sent(Via::Rpc, command);
        }
        Box::pin(async move {
            let link = link.ok_or_else(|| Status::unavailable(format!("no live {target:?} node to call")))?;
            let response =
                endpoint.call(&link, env, deadline).await.map_err(|e: CallError| Status::from(e))?;
            decode_reply(&response)
        })
    }

    fn notify(&self, target: NodeType, command: i32, scope: CallScope, body: Bytes) -> Result<(), Status> {
        let (env, link) = self.scoped(Kind::Notify, target, command, scope, body);
        let link = link.ok_or_else(|| Status::unavailable(format!("no live {target:?} node")))?;
        link.send(env).map_err(Status::from)?;
        self.metrics.sent(Via::Rpc, command);
        Ok(())
    }

    fn call_node(
        self: Arc<Self>,
        node: &NodeId,
        command: i32,
        scope: CallScope,
        body: Bytes,
    ) -> ApiFuture<Result<Bytes, Status>> {
        self.call_addressed(node, command, scope, body)
    }

    fn live_nodes(&self, node_type: NodeType) -> Vec<NodeId> {
        self.live_nodes_of(node_type)
    }

    fn session_call(&self, request: SessionRequest) -> ApiFuture<Result<(), Status>> {
        sessions::session_call(self, request)
    }

    fn session_send(&self, request: SessionRequest, serving: Option<&SessionId>) -> Result<(), Status> {
        sessions::session_send(self, request, serving)
    }

    fn publish(&self, message: TopicMessage, serving: Option<&SessionId>) -> Result<(), Status> {
        sessions::publish(self, message, serving)
    }

    fn drain_signal(&self) -> CancellationToken {
        self.cluster.drain.signal()
    }

    fn hold_drain(&self) -> Option<SessionsHold> {
        Some(self.cluster.drain.hold_for_sessions())
    }
}
