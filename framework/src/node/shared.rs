//! State shared by every task of one running node.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;

use super::session_ops;
use super::sessions::Sessions;
use crate::config::NodeConfig;
use crate::handler::{ApiFuture, AppState, EventTable, NodeApi};
use crate::id::{NodeId, SessionId};
use crate::proto::{Envelope, Kind, NodeType, Pin};
use crate::routing::{RouteTable, StateTable, Target};
use crate::session::{SessionRequest, SessionStats};
use crate::shutdown::Shutdown;
use crate::status::{Code, Status};
use crate::transport::{CallError, Link, RpcEndpoint, SendError};

/// Status code of a response that carries nothing for the client: the
/// handler ran with `need_return = false`. The proxy completes the request
/// and writes nothing.
pub(crate) const NO_REPLY: Code = Code(204);

/// One running node's shared state.
pub(crate) struct NodeShared {
    pub(crate) id: NodeId,
    pub(crate) node_type: NodeType,
    pub(crate) config: Arc<NodeConfig>,
    pub(crate) endpoint: RpcEndpoint,
    pub(crate) routes: RouteTable,
    pub(crate) stateless: StateTable,
    pub(crate) events: EventTable,
    pub(crate) state: AppState,
    /// Client sessions; proxies only.
    pub(crate) sessions: Option<Arc<Sessions>>,
    /// Session feature counters (every role: routes relay, services send).
    pub(crate) session_stats: Arc<SessionStats>,
    pub(crate) shutdown: Shutdown,
    pub(crate) handler_timeout: Duration,
    pub(crate) call_timeout: Duration,
    pub(crate) hop_limit: u32,
    /// Round-robin counter for balanced picks.
    rr: AtomicUsize,
}

impl NodeShared {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        config: Arc<NodeConfig>,
        endpoint: RpcEndpoint,
        routes: RouteTable,
        stateless: StateTable,
        events: EventTable,
        state: AppState,
        sessions: Option<Arc<Sessions>>,
        session_stats: Arc<SessionStats>,
        shutdown: Shutdown,
    ) -> NodeShared {
        NodeShared {
            id: endpoint.node_id().clone(),
            node_type: endpoint.node_type(),
            routes,
            stateless,
            handler_timeout: config.handler_timeout,
            call_timeout: config.rpc.call_timeout,
            hop_limit: config.rpc.hop_limit,
            config,
            endpoint,
            events,
            state,
            sessions,
            session_stats,
            shutdown,
            rr: AtomicUsize::new(0),
        }
    }

    pub(super) fn next_seed(&self) -> usize {
        self.rr.fetch_add(1, Ordering::Relaxed)
    }

    /// The link to use for a message whose next stop is a node of type
    /// `target`: the pinned node when live and directly linked, else any
    /// direct node of the type (balanced), else a route to relay it.
    pub(crate) fn link_for_type(&self, target: NodeType, pins: &[Pin]) -> Option<Link> {
        let pinned = |t: NodeType| pins.iter().find(|p| p.node_type == t as i32);
        if let Some(pin) = pinned(target)
            && let Ok(id) = NodeId::parse(&pin.node_id)
            && let Some(link) = self.endpoint.link(&id)
        {
            return Some(link);
        }
        if let Some(link) = self.endpoint.pick(target, self.next_seed()) {
            return Some(link);
        }
        if self.node_type == NodeType::Route || target == NodeType::Route {
            return None;
        }
        if let Some(pin) = pinned(NodeType::Route)
            && let Ok(id) = NodeId::parse(&pin.node_id)
            && let Some(link) = self.endpoint.link(&id)
        {
            return Some(link);
        }
        self.endpoint.pick(NodeType::Route, self.next_seed())
    }

    /// The link towards node `dest`: direct when linked, else through a
    /// route (routes only relay; they never relay to a route they cannot reach).
    pub(crate) fn link_for_node(&self, dest: &NodeId) -> Option<Link> {
        if let Some(link) = self.endpoint.link(dest) {
            return Some(link);
        }
        if self.node_type == NodeType::Route {
            return None;
        }
        self.endpoint.pick(NodeType::Route, self.next_seed())
    }

    /// Sends an envelope addressed (`to`) to `dest`.
    pub(crate) fn send_to_node(&self, dest: &NodeId, envelope: Envelope) -> Result<(), SendError> {
        self.link_for_node(dest).ok_or(SendError::NoLink)?.send(envelope)
    }

    /// A fresh envelope originating here.
    pub(crate) fn envelope(
        &self,
        kind: Kind,
        command: i32,
        session: Option<&SessionId>,
        payload: Bytes,
    ) -> Envelope {
        Envelope {
            kind: kind as i32,
            command,
            session_id: session.map(ToString::to_string).unwrap_or_default(),
            source: self.id.to_string(),
            prev: self.node_type as i32,
            origin_type: self.node_type as i32,
            ttl: self.hop_limit,
            payload,
            ..Envelope::default()
        }
    }

    /// The response to `request` from this node.
    pub(crate) fn response(&self, request: &Envelope, result: Result<Option<Bytes>, Status>) -> Envelope {
        let mut env = self.envelope(Kind::Response, request.command, None, Bytes::new());
        env.session_id.clone_from(&request.session_id);
        env.request_id = request.request_id;
        env.to.clone_from(&request.source);
        match result {
            Ok(Some(body)) => env.payload = body,
            Ok(None) => env.status = NO_REPLY.as_u32(),
            Err(status) => {
                env.status = status.code().as_u32().max(1);
                env.message = status.message().to_owned();
            }
        }
        env
    }

    /// Where a message with this command goes from here.
    pub(crate) fn target(&self, command: i32) -> Target {
        self.routes.target(command)
    }
}

impl From<SendError> for Status {
    fn from(err: SendError) -> Status {
        match err {
            SendError::QueueFull => Status::overloaded(err.to_string()),
            SendError::TooLarge => Status::bad_request(err.to_string()),
            SendError::Closed | SendError::NoLink => Status::unavailable(err.to_string()),
        }
    }
}

/// Turns a response envelope into the handler-facing result.
pub(crate) fn response_result(response: &Envelope) -> Result<Bytes, Status> {
    if response.status == 0 || response.status == NO_REPLY.as_u32() {
        Ok(response.payload.clone())
    } else {
        Err(Status::new(Code(response.status), response.message.clone()))
    }
}

impl NodeApi for NodeShared {
    fn node_id(&self) -> &NodeId {
        &self.id
    }

    fn node_type(&self) -> NodeType {
        self.node_type
    }

    fn state(&self) -> &AppState {
        &self.state
    }

    fn push(&self, session: &SessionId, command: i32, body: Bytes) -> Result<(), Status> {
        if session.proxy() == &self.id
            && let Some(sessions) = &self.sessions
        {
            return sessions.push(session.seq(), command, body);
        }
        let mut env = self.envelope(Kind::Push, command, Some(session), body);
        env.to = session.proxy().to_string();
        self.send_to_node(session.proxy(), env).map_err(Status::from)
    }

    fn call(
        &self,
        target: NodeType,
        command: i32,
        session: Option<SessionId>,
        body: Bytes,
    ) -> ApiFuture<Result<Bytes, Status>> {
        let env = self.envelope(Kind::Request, command, session.as_ref(), body);
        let link = self.link_for_type(target, &[]);
        let endpoint = self.endpoint.clone();
        let deadline = self.call_timeout;
        Box::pin(async move {
            let link = link.ok_or_else(|| Status::unavailable(format!("no live {target:?} node to call")))?;
            let response =
                endpoint.call(&link, env, deadline).await.map_err(|e: CallError| Status::from(e))?;
            response_result(&response)
        })
    }

    fn notify(
        &self,
        target: NodeType,
        command: i32,
        session: Option<SessionId>,
        body: Bytes,
    ) -> Result<(), Status> {
        let env = self.envelope(Kind::Notify, command, session.as_ref(), body);
        let link = self
            .link_for_type(target, &[])
            .ok_or_else(|| Status::unavailable(format!("no live {target:?} node")))?;
        link.send(env).map_err(Status::from)
    }

    fn session_call(&self, request: SessionRequest) -> ApiFuture<Result<(), Status>> {
        session_ops::call(self, request)
    }

    fn session_send(&self, request: SessionRequest) -> Result<(), Status> {
        session_ops::send(self, request)
    }
}
