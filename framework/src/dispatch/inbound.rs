//! What a node does with an envelope from another node: relay it, or run
//! the local handler.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Weak};

use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::future::Either;
use opentelemetry::context::FutureExt as _;

use crate::cluster;
use crate::handler::{Context, EventHandler, SessionView};
use crate::id::{NodeId, SessionId};
use crate::limits;
use crate::metrics::Via;
use crate::node::NodeState;
use crate::proto::{Envelope, Kind, NodeType};
use crate::routing::{LaneKey, Target};
use crate::sessions;
use crate::status::Status;
use crate::trace::{Hop, HopSpan};
use crate::transport::{InboundHandler, Incoming, Link};

/// The node's side of its links: decides, inline in each link's reader,
/// what happens to every envelope (see [`InboundHandler`]).
pub(crate) struct NodeInbound {
    /// Weak, so that the node's links do not keep the node alive after it
    /// stops.
    shared: Weak<NodeState>,
}

impl NodeInbound {
    /// The side of the node being built (`Arc::new_cyclic`).
    pub(crate) fn new(shared: Weak<NodeState>) -> NodeInbound {
        NodeInbound { shared }
    }
}

impl InboundHandler for NodeInbound {
    fn handle(&self, incoming: Incoming) {
        let Some(shared) = self.shared.upgrade() else { return };
        if incoming.envelope.kind() == Kind::Control {
            cluster::on_control(&shared, &incoming.link, incoming.envelope);
            return;
        }
        shared.metrics.received(Via::Rpc, incoming.envelope.command);
        handle(&shared, &incoming.link, incoming.envelope);
    }

    fn link_up(&self, link: &Link) {
        if let Some(shared) = self.shared.upgrade() {
            cluster::link_up(&shared, link);
        }
    }

    fn link_down(&self, link: &Link) {
        let Some(shared) = self.shared.upgrade() else { return };
        // Requests relayed on the lost link (lane) may never be answered:
        // tell their callers now rather than at their deadline.
        let peer = link.peer_id();
        for request in shared.router.relays.lost(link.id()) {
            fail(
                &shared,
                &request,
                Status::unavailable(format!("link to node {peer} was lost before it answered")),
            );
        }
        cluster::link_down(&shared, link);
        if shared.router.endpoint.link(peer).is_none() {
            crate::jobs::peer_lost(&shared, peer);
        }
    }
}

fn handle(shared: &Arc<NodeState>, link: &Link, envelope: Envelope) {
    if !envelope.to.is_empty() && envelope.to != shared.id().as_str() {
        relay_to_node(shared, envelope);
        return;
    }
    // A producer's publish call: any node takes it.
    if sessions::is_publish_call(&envelope) {
        sessions::answer_publish_call(shared, envelope);
        return;
    }
    // Job tick claims are for the jobs ledger; no handler sees them.
    if let Some(claim) = &envelope.job_claim {
        crate::jobs::on_claim(shared, link, &envelope, claim);
        return;
    }
    // Session operations change proxy-held state; no handler sees them.
    if envelope.session_op.is_some() && matches!(envelope.kind(), Kind::Session | Kind::Request) {
        sessions::receive_op(shared, envelope);
        return;
    }
    let addressed_here = !envelope.to.is_empty();
    match envelope.kind() {
        Kind::Push => deliver_push(shared, envelope),
        // Addressed to this node by id: handle it here, whatever the
        // command's usual route (offline notices, pinned calls).
        Kind::Request | Kind::Notify if addressed_here => dispatch(shared, link, envelope),
        Kind::Request | Kind::Notify => match shared.router.target(envelope.command) {
            Target::Local => dispatch(shared, link, envelope),
            Target::Forward(node_type) => forward_to_type(shared, envelope, node_type),
        },
        other => {
            tracing::debug!(kind = ?other, command = envelope.command, "dropping envelope of unexpected kind")
        }
    }
}

/// Spends one hop of the envelope's budget; false when it is used up.
fn take_hop(shared: &NodeState, envelope: &mut Envelope) -> bool {
    if envelope.ttl == 0 {
        tracing::warn!(command = envelope.command, source = %String::from_utf8_lossy(&envelope.source), to = %String::from_utf8_lossy(&envelope.to),
            "hop limit reached; dropping message (routing loop?)");
        return false;
    }
    envelope.ttl -= 1;
    envelope.prev = shared.node_type() as i32;
    true
}

/// Tells the sender of a request that it failed; other kinds are dropped.
fn fail(shared: &NodeState, envelope: &Envelope, status: Status) {
    answer_failure(shared, envelope, status, false);
}

/// As [`fail`], for a request refused before its handler started (busy,
/// draining): the response says so, and the sender may try another node.
fn refuse(shared: &NodeState, envelope: &Envelope, status: Status) {
    answer_failure(shared, envelope, status, true);
}

fn answer_failure(shared: &NodeState, envelope: &Envelope, status: Status, not_run: bool) {
    if envelope.kind() != Kind::Request {
        tracing::debug!(command = envelope.command, error = %status, "dropping undeliverable message");
        return;
    }
    shared.metrics.error(&status);
    let Ok(source) = NodeId::parse_bytes(&envelope.source) else { return };
    let mut response = shared.router.response(envelope, Err(status));
    response.not_run = not_run;
    if let Err(err) = shared.send_to_node(&source, response) {
        tracing::debug!(%source, error = %err, "could not report a routing failure to the sender");
    }
}

fn relay_to_node(shared: &NodeState, mut envelope: Envelope) {
    if !take_hop(shared, &mut envelope) {
        fail(shared, &envelope, Status::unavailable("hop limit exceeded"));
        return;
    }
    let _span = relay_span(shared, &mut envelope);
    let Ok(dest) = NodeId::parse_bytes(&envelope.to) else {
        tracing::warn!(to = %String::from_utf8_lossy(&envelope.to), "dropping message with an invalid destination id");
        return;
    };
    let Some(link) = shared.router.link_for_node(&dest, LaneKey::of(&envelope)) else {
        fail(shared, &envelope, Status::unavailable(format!("node {dest} unreachable")));
        return;
    };
    if envelope.kind() == Kind::Response {
        shared.router.relays.answered(&envelope);
    }
    send_relayed(shared, &link, envelope, |err| {
        Status::unavailable(format!("node {dest} unreachable: {err}"))
    });
}

/// The span of relaying a traced message, which becomes the parent of
/// the next hop; it ends once the message is sent on.
fn relay_span(shared: &NodeState, envelope: &mut Envelope) -> Option<HopSpan> {
    let span = shared.tracer.follow(Hop::Relay, envelope)?;
    span.stamp(envelope);
    Some(span)
}

/// Sends a message this node relays, tracking relayed requests until
/// their answer passes back (see `relay.rs`).
fn send_relayed(
    shared: &NodeState,
    link: &Link,
    envelope: Envelope,
    on_error: impl FnOnce(crate::transport::SendError) -> Status,
) {
    let command = envelope.command;
    shared.router.relays.relayed(link.id(), &envelope);
    match link.send_or_return(envelope) {
        Ok(()) => shared.metrics.sent(Via::Rpc, command),
        Err((err, envelope)) => {
            shared.router.relays.forget(&envelope.source, envelope.request_id);
            fail(shared, &envelope, on_error(err));
        }
    }
}

fn forward_to_type(shared: &NodeState, mut envelope: Envelope, node_type: NodeType) {
    if !take_hop(shared, &mut envelope) {
        fail(shared, &envelope, Status::unavailable("hop limit exceeded"));
        return;
    }
    let _span = relay_span(shared, &mut envelope);
    let lane = LaneKey::of(&envelope);
    let Some(link) = shared.link_for_type(node_type, &envelope.pins, lane) else {
        shared.no_node_for(envelope.command, node_type);
        fail(shared, &envelope, Status::unavailable(format!("no live {node_type:?} node")));
        return;
    };
    send_relayed(shared, &link, envelope, Status::from);
}

fn deliver_push(shared: &NodeState, envelope: Envelope) {
    let _span = shared.tracer.follow(Hop::Push, &envelope);
    let Some(sessions) = &shared.sessions else {
        tracing::debug!(session = %String::from_utf8_lossy(&envelope.session_id), "push reached a node without clients; dropped");
        return;
    };
    // Deliver only to sessions of this proxy: the proxy part of the id must
    // be ours, not just the sequence number (obespoir bug 13).
    match SessionId::parse_bytes(&envelope.session_id) {
        Ok(session) if session.proxy() == shared.id() => {
            if let Err(status) =
                shared.push_local(sessions, session.seq(), envelope.command, envelope.payload)
            {
                tracing::debug!(%session, error = %status, "push not delivered");
            }
        }
        _ => {
            tracing::warn!(session = %String::from_utf8_lossy(&envelope.session_id), "push for a session of another proxy; dropped")
        }
    }
}

/// Runs the local handler in its own task and answers requests.
///
/// Handlers always get their own task, even those that finish without
/// waiting: run inline, a handler's synchronous work (or a panic's
/// backtrace) would stall the link's reader and its heartbeats with it.
fn dispatch(shared: &Arc<NodeState>, link: &Link, mut envelope: Envelope) {
    // A draining node starts no new requests (but for the sessions pinned
    // here while a handler holds the drain: a finishing room's members).
    // The handler never ran, so the proxy may safely retry elsewhere (it
    // knows we drain: the drain announcement went out on this link before
    // this refusal).
    if shared.cluster.drain.is_draining()
        && envelope.kind() == Kind::Request
        && !shared.takes_while_draining(&envelope.pins)
    {
        refuse(shared, &envelope, Status::unavailable("node is draining"));
        return;
    }
    let Some(handler) = shared.handlers.events.get(envelope.command).cloned() else {
        let status = shared.no_handler(envelope.command, envelope.to.is_empty());
        fail(shared, &envelope, status);
        return;
    };
    // Requests beyond the handler bounds are refused now, not queued;
    // notifications (offline notices, server-side events) always run, as
    // nobody could be told they were dropped.
    let slot = match envelope.kind() {
        Kind::Request => match limits::admit(shared, envelope.command) {
            Ok(slot) => Some(slot),
            Err(status) => return refuse(shared, &envelope, status),
        },
        _ => None,
    };
    let session = match &envelope.session_id[..] {
        [] => None,
        text => match SessionId::parse_bytes(text) {
            Ok(s) => Some(s),
            Err(err) => {
                fail(shared, &envelope, Status::bad_request(err.to_string()));
                return;
            }
        },
    };
    let span = shared.tracer.follow(Hop::HandlerRun, &envelope);
    let task_shared = Arc::clone(shared);
    let link = link.clone();
    shared.shutdown.spawn(shared.cluster.drain.track(async move {
        let shared = task_shared;
        let _slot = slot;
        let view = SessionView::from_wire(
            &envelope.uid,
            std::mem::take(&mut envelope.session_data),
            std::mem::take(&mut envelope.pins),
        );
        let ctx =
            Context::new(Arc::clone(&shared) as Arc<dyn crate::handler::NodeApi>, session, envelope.command)
                .with_view(view);
        let started = tokio::time::Instant::now();
        let result =
            run_handler(&*handler, ctx, envelope.payload.clone(), shared.handlers.timeout, span.as_ref())
                .await;
        shared.metrics.handled(envelope.command, started.elapsed(), &result);
        if envelope.kind() == Kind::Request {
            answer(&shared, &link, &envelope, result, span.as_ref());
        } else if let Err(status) = result {
            tracing::warn!(handler = handler.name(), error = %status, "notification handler failed");
        }
    }));
}

/// Answers a request: on the link it came in on when its sender is at the
/// other end (no id parsing, no lookup), else through the usual route. A
/// traced response names the handler's span as its parent.
fn answer(
    shared: &NodeState,
    link: &Link,
    request: &Envelope,
    result: Result<Option<Bytes>, Status>,
    span: Option<&HopSpan>,
) {
    let mut response = shared.router.response(request, result);
    if let Some(span) = span {
        span.stamp(&mut response);
    }
    let response = if request.source == link.peer_id().as_str() {
        let command = response.command;
        match link.send_or_return(response) {
            Ok(()) => return shared.metrics.sent(Via::Rpc, command),
            // Closed under us: the sender may still be reachable another way.
            Err((crate::transport::SendError::Closed, response)) => *response,
            Err((err, _)) => {
                let source = link.peer_id();
                return tracing::warn!(%source, command, error = %err, "could not send a response");
            }
        }
    } else {
        response
    };
    let Ok(source) = NodeId::parse_bytes(&request.source) else { return };
    if let Err(err) = shared.send_to_node(&source, response) {
        tracing::warn!(%source, command = request.command, error = %err, "could not send a response");
    }
}

/// Runs a handler with a deadline; a panic becomes an `INTERNAL` status
/// and never takes the node down.
///
/// Under `span`, the handler's calls and pushes carry its trace on; a
/// failure is recorded on the span.
pub(crate) async fn run_handler(
    handler: &dyn EventHandler,
    ctx: Context,
    body: Bytes,
    deadline: std::time::Duration,
    span: Option<&HopSpan>,
) -> Result<Option<Bytes>, Status> {
    let result = run_with_deadline(handler, ctx, body, deadline, span).await;
    if let (Some(span), Err(status)) = (span, &result) {
        span.fail(status);
    }
    result
}

async fn run_with_deadline(
    handler: &dyn EventHandler,
    ctx: Context,
    body: Bytes,
    deadline: std::time::Duration,
    span: Option<&HopSpan>,
) -> Result<Option<Bytes>, Status> {
    let call = AssertUnwindSafe(handler.call(ctx, body)).catch_unwind();
    // Untraced, the handler's future runs as it is: no context to attach
    // on every poll.
    let call = match span {
        Some(span) => Either::Left(call.with_context(span.context())),
        None => Either::Right(call),
    };
    match tokio::time::timeout(deadline, call).await {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic payload".to_owned());
            tracing::error!(handler = handler.name(), panic = %what, "handler panicked");
            Err(Status::internal("handler failed"))
        }
        Err(_) => {
            tracing::warn!(handler = handler.name(), ?deadline, "handler exceeded its deadline");
            Err(Status::timeout(format!("handler did not finish within {deadline:?}")))
        }
    }
}
