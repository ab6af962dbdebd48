//! What a handler can see and do: its session, its node, shared state,
//! pushes to clients and calls to other nodes.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::cluster::SessionsHold;
use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use super::json::{decode_body, encode_body};
use super::scope::{CallScope, SessionView};
use crate::id::{NodeId, SessionId};
use crate::proto::NodeType;
use crate::session::SessionRequest;
use crate::status::{Code, Status};
use crate::topic::TopicMessage;

/// Typed application state shared by a node's handlers: one value per type.
#[derive(Clone, Default)]
pub struct AppState {
    values: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl AppState {
    /// An empty state map.
    pub fn new() -> Self {
        AppState::default()
    }

    /// Stores `value`, replacing any earlier value of the same type.
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        self.values.insert(TypeId::of::<T>(), Arc::new(value));
    }

    /// The value of type `T`, if stored.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.values.get(&TypeId::of::<T>()).cloned().and_then(|v| v.downcast::<T>().ok())
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("values", &self.values.len()).finish()
    }
}

/// A boxed future returned by [`NodeApi`].
pub(crate) type ApiFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What the running node offers its handlers. Implemented by the node
/// runtime; a handler only sees it through [`Context`].
pub(crate) trait NodeApi: Send + Sync + 'static {
    fn node_id(&self) -> &NodeId;
    fn node_type(&self) -> NodeType;
    fn state(&self) -> &AppState;
    fn push(&self, session: &SessionId, command: i32, body: Bytes) -> Result<(), Status>;
    fn call(
        &self,
        target: NodeType,
        command: i32,
        scope: CallScope,
        body: Bytes,
    ) -> ApiFuture<Result<Bytes, Status>>;
    fn notify(&self, target: NodeType, command: i32, scope: CallScope, body: Bytes) -> Result<(), Status>;
    /// A request to the node `node` by id, this node included (hence the
    /// `Arc`: a call to itself runs a handler with a context of its own).
    fn call_node(
        self: Arc<Self>,
        node: &NodeId,
        command: i32,
        scope: CallScope,
        body: Bytes,
    ) -> ApiFuture<Result<Bytes, Status>>;
    /// The nodes of `node_type` this node knows to be live and taking new
    /// work (itself included), sorted by id.
    fn live_nodes(&self, node_type: NodeType) -> Vec<NodeId>;
    /// A session-scoped operation, answered by the session's proxy.
    fn session_call(&self, request: SessionRequest) -> ApiFuture<Result<(), Status>>;
    /// A user- or group-scoped operation, sent to every proxy. `serving`:
    /// the session the handler serves, whose effects it keeps its order
    /// with.
    fn session_send(&self, request: SessionRequest, serving: Option<&SessionId>) -> Result<(), Status>;
    /// A message for a topic's subscribers on every proxy.
    fn publish(&self, message: TopicMessage, serving: Option<&SessionId>) -> Result<(), Status>;
    /// Cancelled when the node starts draining.
    fn drain_signal(&self) -> CancellationToken;
    /// Work the node's drain waits for until dropped; `None` without a node.
    fn hold_drain(&self) -> Option<SessionsHold>;
}

/// The handler's view of the world. Cheap to clone.
#[derive(Clone)]
pub struct Context {
    pub(super) node: Arc<dyn NodeApi>,
    pub(super) session: Option<SessionId>,
    command: i32,
    /// The session's user and data as the proxy sent them.
    pub(super) view: Arc<SessionView>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("node", self.node.node_id())
            .field("session", &self.session)
            .field("command", &self.command)
            .field("uid", &self.uid())
            .finish()
    }
}

impl Context {
    pub(crate) fn new(node: Arc<dyn NodeApi>, session: Option<SessionId>, command: i32) -> Self {
        Context { node, session, command, view: Arc::default() }
    }

    /// Attaches what the proxy sent along with the message: the session's
    /// user id and data.
    pub(crate) fn with_view(mut self, view: SessionView) -> Self {
        self.view = Arc::new(view);
        self
    }

    /// A context attached to no node, for unit-testing handlers: it has a
    /// node id, a role, shared state and (optionally) a session, so
    /// [`Context::state`], [`Context::require_session`] and friends work,
    /// but [`Context::push`], [`Context::call`] and [`Context::notify`]
    /// return an `UNAVAILABLE` status.
    ///
    /// ```
    /// use espoir::{AppState, Code, Context, NodeId, NodeType};
    ///
    /// let node = NodeId::of("127.0.0.1", 9000);
    /// let ctx = Context::detached(node, NodeType::Service, AppState::new(), None, 1000);
    /// assert_eq!(ctx.command(), 1000);
    /// assert_eq!(ctx.notify(NodeType::Route, 1, &()).unwrap_err().code(), Code::UNAVAILABLE);
    /// ```
    pub fn detached(
        node_id: NodeId,
        node_type: NodeType,
        state: AppState,
        session: Option<SessionId>,
        command: i32,
    ) -> Context {
        let drain = CancellationToken::new();
        Context::new(Arc::new(Detached { node_id, node_type, state, drain }), session, command)
    }

    /// As if the message's session had been bound to `uid` (what a proxy
    /// sends with every request of a bound session): for testing handlers
    /// of logged-in users on a [`Context::detached`].
    ///
    /// ```
    /// use espoir::{AppState, Context, NodeId, NodeType};
    ///
    /// let node = NodeId::of("127.0.0.1", 9000);
    /// let ctx = Context::detached(node, NodeType::Service, AppState::new(), None, 1000);
    /// assert_eq!(ctx.uid(), None);
    /// assert_eq!(ctx.bound_to("42").uid().as_deref(), Some("42"));
    /// ```
    #[must_use]
    pub fn bound_to(self, uid: impl Into<String>) -> Context {
        let uid = uid.into();
        self.with_view(SessionView::from_wire(&uid, Default::default(), Vec::new()))
    }

    /// The client session this message belongs to, if any.
    pub fn session_id(&self) -> Option<&SessionId> {
        self.session.as_ref()
    }

    /// The session, or a `BAD_REQUEST` status for session-less messages.
    ///
    /// # Errors
    /// When the message came without a session (for example from another
    /// node's notification).
    pub fn require_session(&self) -> Result<&SessionId, Status> {
        self.session.as_ref().ok_or_else(|| Status::bad_request("this command needs a client session"))
    }

    /// The command id being handled.
    pub fn command(&self) -> i32 {
        self.command
    }

    /// This node's id.
    pub fn node_id(&self) -> &NodeId {
        self.node.node_id()
    }

    /// This node's role.
    pub fn node_type(&self) -> NodeType {
        self.node.node_type()
    }

    /// Shared state of type `T`, given to the node at build time.
    ///
    /// # Errors
    /// An `INTERNAL` status if the node was built without a `T`: a wiring
    /// mistake, reported to the client as a server error.
    pub fn state<T: Send + Sync + 'static>(&self) -> Result<Arc<T>, Status> {
        self.node.state().get::<T>().ok_or_else(|| {
            Status::internal(format!("no shared state of type {} on this node", std::any::type_name::<T>()))
        })
    }

    /// Pushes `body` (as JSON) with `command` to the client of `session`,
    /// on whichever proxy holds it.
    ///
    /// # Errors
    /// `UNAVAILABLE` when no path to that proxy is up, `OVERLOADED` when the
    /// link's queue is full.
    pub fn push<T: Serialize + ?Sized>(
        &self,
        session: &SessionId,
        command: i32,
        body: &T,
    ) -> Result<(), Status> {
        self.node.push(session, command, encode_body(body)?)
    }

    /// Pushes raw bytes (already encoded) to a client.
    ///
    /// # Errors
    /// As [`Context::push`].
    pub fn push_bytes(&self, session: &SessionId, command: i32, body: Bytes) -> Result<(), Status> {
        self.node.push(session, command, body)
    }

    /// Calls `command` on a node of type `target` and decodes its reply.
    /// Made while handling a client's message, the call carries its session:
    /// the callee's [`Context::uid`] and [`Context::session_data`] are the
    /// session's, and a stateful command goes to the session's node of that
    /// type while it is live (as the client's own messages would).
    ///
    /// # Errors
    /// The remote handler's status, `TIMEOUT`, `UNAVAILABLE`, or
    /// `BAD_REQUEST` when the reply does not decode as `R`.
    pub async fn call<T: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        target: NodeType,
        command: i32,
        body: &T,
    ) -> Result<R, Status> {
        let scope = self.view.scope(self.session.clone());
        let reply = self.node.call(target, command, scope, encode_body(body)?).await?;
        decode_body(&reply)
            .map_err(|s| Status::new(Code::INTERNAL, format!("undecodable reply: {}", s.message())))
    }

    /// Sends `command` to a node of type `target` without waiting, carrying
    /// the session as [`Context::call`] does.
    ///
    /// # Errors
    /// `UNAVAILABLE` or `OVERLOADED` as for [`Context::push`].
    pub fn notify<T: Serialize + ?Sized>(
        &self,
        target: NodeType,
        command: i32,
        body: &T,
    ) -> Result<(), Status> {
        self.node.notify(target, command, self.view.scope(self.session.clone()), encode_body(body)?)
    }
}

/// The node behind [`Context::detached`]: knows who it is, reaches no one.
struct Detached {
    node_id: NodeId,
    node_type: NodeType,
    state: AppState,
    /// Never cancelled: a detached context never drains.
    drain: CancellationToken,
}

impl Detached {
    fn unavailable() -> Status {
        Status::unavailable("detached context: no node")
    }
}

impl NodeApi for Detached {
    fn node_id(&self) -> &NodeId {
        &self.node_id
    }

    fn node_type(&self) -> NodeType {
        self.node_type
    }

    fn state(&self) -> &AppState {
        &self.state
    }

    fn push(&self, _session: &SessionId, _command: i32, _body: Bytes) -> Result<(), Status> {
        Err(Detached::unavailable())
    }

    fn call(
        &self,
        _target: NodeType,
        _command: i32,
        _scope: CallScope,
        _body: Bytes,
    ) -> ApiFuture<Result<Bytes, Status>> {
        Box::pin(std::future::ready(Err(Detached::unavailable())))
    }

    fn notify(
        &self,
        _target: NodeType,
        _command: i32,
        _scope: CallScope,
        _body: Bytes,
    ) -> Result<(), Status> {
        Err(Detached::unavailable())
    }

    fn call_node(
        self: Arc<Self>,
        _node: &NodeId,
        _command: i32,
        _scope: CallScope,
        _body: Bytes,
    ) -> ApiFuture<Result<Bytes, Status>> {
        Box::pin(std::future::ready(Err(Detached::unavailable())))
    }

    fn live_nodes(&self, _node_type: NodeType) -> Vec<NodeId> {
        Vec::new()
    }

    fn session_call(&self, _request: SessionRequest) -> ApiFuture<Result<(), Status>> {
        Box::pin(std::future::ready(Err(Detached::unavailable())))
    }

    fn session_send(&self, _request: SessionRequest, _serving: Option<&SessionId>) -> Result<(), Status> {
        Err(Detached::unavailable())
    }

    fn publish(&self, _message: TopicMessage, _serving: Option<&SessionId>) -> Result<(), Status> {
        Err(Detached::unavailable())
    }

    fn drain_signal(&self) -> CancellationToken {
        self.drain.clone()
    }

    fn hold_drain(&self) -> Option<SessionsHold> {
        None
    }
}
