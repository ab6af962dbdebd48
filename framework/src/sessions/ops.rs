//! Session operations between nodes: binding, kicks, session data, groups,
//! broadcasts and pushes to users, and the session events they cause.
//!
//! The proxy that holds a session owns its state; other nodes change it by
//! sending operations (`Envelope.session_op`):
//!
//! * **Session-scoped** ones (bind, set data, kick or join one session) go
//!   to the session's proxy (`to`, relayed by routes like a push) as a
//!   REQUEST, and the caller gets the proxy's status back.
//! * **User- and group-scoped** ones (push to a user, kick a user, join a
//!   user's sessions, broadcast to a group, and the unique-login notice) go
//!   to **every proxy** as one-way SESSION envelopes with `to` empty: a node
//!   hands one copy to a route, which relays one copy to each proxy it
//!   links to; a node with no route link sends one to each proxy it links
//!   to. Each proxy applies it to its own sessions only: nothing is sent per
//!   member, and no node keeps a cluster-wide user directory that could go
//!   stale (see `docs/sessions.md` for the trade-off).
//!
//! **A handler's effects keep their order.** Everything a handler does to
//! sessions while it serves a session (pushes, binds, data, joins, kicks,
//! broadcasts, pushes to users) leaves on the one path to that session's
//! proxy, so that proxy applies them in the order the handler issued them:
//! a broadcast sent before the sender joins the group does not reach it,
//! one sent after does. An operation for every proxy takes that path too
//! (`fanout::fan_out_via`): to the route on it, which relays it to every
//! proxy, or straight to the session's proxy, which applies it and hands
//! it on to the others.

use bytes::Bytes;
use serde_json::json;

use super::fanout::{Via, fan_out, fan_out_via, relay_to_proxies};
use super::login;
use super::table::Closed;
use super::users::BindOutcome;
use crate::handler::ApiFuture;
use crate::id::{NodeId, SessionId};
use crate::node::NodeState;
use crate::proto::session_op::Op;
use crate::proto::{Envelope, Kind, NodeType};
use crate::routing::LaneKey;
use crate::session::{SessionRequest, SessionStats};
use crate::status::Status;
use crate::topic::TopicMessage;

/// Handles an envelope carrying a `session_op` that is for this node (or,
/// with `to` empty, for every proxy).
pub(crate) fn receive(shared: &NodeState, envelope: Envelope) {
    if envelope.to.is_empty() && login::is_claim(&envelope) {
        for closed in login::order_claim(shared, envelope) {
            announce_closed(shared, &closed);
        }
        return;
    }
    if envelope.to.is_empty() && shared.node_type() == NodeType::Route {
        relay_to_proxies(shared, envelope);
        return;
    }
    if envelope.to.is_empty() && shared.sessions.is_none() {
        tracing::debug!(source = %String::from_utf8_lossy(&envelope.source), "session operation for proxies reached a {:?}; dropped", shared.node_type());
        return;
    }
    let result = apply(shared, &envelope);
    if envelope.kind() == Kind::Session && !envelope.to.is_empty() {
        // An operation for every proxy, sent here first because a handler
        // of one of our sessions issued it: applied, it goes on to the rest.
        if let Err(status) = result {
            tracing::debug!(source = %String::from_utf8_lossy(&envelope.source), error = %status, "session operation failed");
        }
        hand_on(shared, envelope);
        return;
    }
    if envelope.kind() == Kind::Request {
        let Ok(source) = NodeId::parse_bytes(&envelope.source) else { return };
        let response = shared.router.response(&envelope, result.map(|()| None));
        if let Err(err) = shared.send_to_node(&source, response) {
            tracing::debug!(%source, error = %err, "could not answer a session operation");
        }
    } else if let Err(status) = result {
        tracing::debug!(source = %String::from_utf8_lossy(&envelope.source), error = %status, "session operation failed");
    }
}

/// Applies an operation to this proxy's sessions.
fn apply(shared: &NodeState, envelope: &Envelope) -> Result<(), Status> {
    let sessions =
        shared.sessions.as_ref().ok_or_else(|| Status::bad_request("session operations go to proxies"))?;
    let op = envelope
        .session_op
        .as_ref()
        .and_then(|o| o.op.as_ref())
        .ok_or_else(|| Status::bad_request("empty session operation"))?;
    SessionStats::bump(&shared.session_stats.ops_applied);
    let local_seq = || -> Result<u64, Status> {
        match SessionId::parse_bytes(&envelope.session_id) {
            Ok(session) if session.proxy() == shared.id() => Ok(session.seq()),
            Ok(_) => Err(Status::bad_request("the session belongs to another proxy")),
            Err(err) => Err(Status::bad_request(err.to_string())),
        }
    };
    match op {
        Op::Bind(bind) => {
            let seq = local_seq()?;
            let uid = (!bind.uid.is_empty()).then_some(bind.uid.as_str());
            let login = uid.filter(|_| sessions.config().unique_login).map(|uid| {
                let authority = login::authority_for(shared, uid);
                let order = login::begin(shared, &authority, &sessions.id(seq));
                (authority, order)
            });
            let (authority, order) = login.unzip();
            let outcome = sessions.bind(seq, uid, order)?;
            after_bind(shared, outcome, authority, NodeId::parse_bytes(&envelope.source).ok());
        }
        Op::Bound(bound) => {
            for closed in sessions.ordered(&bound.uid, &login::notice_of(envelope, bound)) {
                announce_closed(shared, &closed);
            }
        }
        Op::Kick(kick) if kick.uid.is_empty() => {
            if let Some(closed) = sessions.kick(local_seq()?, &kick.reason)? {
                announce_closed(shared, &closed);
            }
        }
        Op::Kick(kick) => {
            for closed in sessions.kick_user(&kick.uid, &kick.reason) {
                announce_closed(shared, &closed);
            }
        }
        Op::SetData(set) => {
            sessions.set_data(local_seq()?, &set.key, (!set.remove).then_some(set.value.as_str()))?;
        }
        Op::Join(member) if member.uid.is_empty() => sessions.join(&member.group, local_seq()?)?,
        Op::Join(member) => {
            sessions.join_user(&member.group, &member.uid);
        }
        Op::Leave(member) if member.uid.is_empty() => sessions.leave(&member.group, local_seq()?)?,
        Op::Leave(member) => sessions.leave_user(&member.group, &member.uid),
        Op::Broadcast(broadcast) => {
            if envelope.source != shared.id().as_str() {
                SessionStats::bump(&shared.session_stats.broadcasts_received);
            }
            let except = match SessionId::parse(&broadcast.except_session) {
                Ok(session) if session.proxy() == shared.id() => Some(session.seq()),
                _ => None,
            };
            sessions.broadcast(&broadcast.group, envelope.command, &envelope.payload, except)?;
        }
        Op::UserPush(push) => {
            sessions.push_user(&push.uid, envelope.command, &envelope.payload)?;
        }
        Op::TopicPublish(publish) => {
            sessions.publish_local(&TopicMessage::from_wire(envelope.command, &envelope.payload, publish))?;
        }
        Op::TopicSubscribe(sub) => {
            sessions.subscribe(local_seq()?, &sub.topic)?;
        }
        Op::TopicUnsubscribe(sub) => sessions.unsubscribe(local_seq()?, &sub.topic)?,
        Op::Pin(pin) => {
            let node = NodeId::parse(&pin.node_id).map_err(|e| Status::bad_request(e.to_string()))?;
            let node_type = NodeType::try_from(pin.node_type)
                .map_err(|_| Status::bad_request(format!("unknown node type {}", pin.node_type)))?;
            sessions.pin(local_seq()?, node_type, node)?;
        }
    }
    Ok(())
}

/// After a bind: closes what unique login kicked, puts the binding in the
/// user's login order (unique login), and sends the bind notice.
fn after_bind(
    shared: &NodeState,
    outcome: BindOutcome,
    authority: Option<login::Authority>,
    requester: Option<NodeId>,
) {
    for closed in &outcome.closed {
        announce_closed(shared, closed);
    }
    let Some(sessions) = &shared.sessions else { return };
    let uid = outcome.uid.as_deref().map(str::to_owned);
    if let (Some(order), Some(authority), Some(uid)) = (&outcome.order, authority, &uid) {
        for closed in login::announce(shared, uid, &outcome.id, order, authority) {
            announce_closed(shared, &closed);
        }
    }
    let command = sessions.config().bind_command;
    let body = json!({
        "message_id": command,
        "session": outcome.id.to_string(),
        "uid": uid,
        "previous": outcome.previous.as_deref(),
    });
    let mut targets: Vec<NodeId> = outcome.served.iter().map(|(_, n)| n.clone()).collect();
    if let Some(requester) = requester
        && &requester != shared.id()
        && !targets.contains(&requester)
    {
        targets.push(requester);
    }
    for node in targets {
        let mut env =
            shared.router.envelope(Kind::Notify, command, Some(&outcome.id), Bytes::from(body.to_string()));
        env.to = node.to_wire();
        env.uid = uid.clone().unwrap_or_default();
        env.session_data.clone_from(&outcome.data);
        if let Err(err) = shared.send_to_node(&node, env) {
            tracing::warn!(session = %outcome.id, %node, error = %err, "bind notice not delivered");
        }
    }
}

/// Sends the close notice (`websocket.offline_command`) once to every node
/// that served the session, with its user, data and the reason.
pub(crate) fn announce_closed(shared: &NodeState, closed: &Closed) {
    let Some(command) = shared.config.websocket.as_ref().map(|ws| ws.offline_command) else { return };
    let body = json!({
        "message_id": command,
        "session": closed.id.to_string(),
        "uid": closed.uid.as_deref(),
        "reason": closed.reason,
    });
    let body = Bytes::from(body.to_string());
    for (_, node) in &closed.served {
        let mut env = shared.router.envelope(Kind::Notify, command, Some(&closed.id), body.clone());
        env.to = node.to_wire();
        env.uid = closed.uid.as_deref().unwrap_or_default().to_owned();
        env.session_data.clone_from(&closed.data);
        if let Err(err) = shared.send_to_node(node, env) {
            tracing::warn!(session = %closed.id, %node, error = %err, "close notice not delivered");
        }
    }
    tracing::debug!(session = %closed.id, reason = %closed.reason, "session closed");
}

/// Starts a session operation from this node: answered when it is about
/// one session, sent to every proxy otherwise.
pub(crate) fn call(shared: &NodeState, request: SessionRequest) -> ApiFuture<Result<(), Status>> {
    if let Err(status) = request.validate() {
        return Box::pin(std::future::ready(Err(status)));
    }
    let Some(session) = request.session().cloned() else {
        return Box::pin(std::future::ready(send(shared, request, None)));
    };
    let (op, command, body) = request.into_wire();
    let mut env = shared.router.envelope(Kind::Request, command, Some(&session), body);
    env.session_op = Some(op);
    env.to = session.proxy().to_wire();
    if session.proxy() == shared.id() {
        return Box::pin(std::future::ready(apply(shared, &env)));
    }
    let link = shared.router.link_for_node(session.proxy(), LaneKey::of(&env));
    let endpoint = shared.router.endpoint.clone();
    let deadline = shared.router.call_timeout;
    Box::pin(async move {
        let link = link.ok_or_else(|| {
            Status::unavailable(format!("no path to proxy {}", String::from_utf8_lossy(&env.to)))
        })?;
        let response = endpoint.call(&link, env, deadline).await.map_err(Status::from)?;
        crate::dispatch::decode_reply(&response).map(drop)
    })
}

/// Sends a user- or group-scoped operation to every proxy (applying it
/// here first on a proxy). `serving`: the session of the handler that
/// issues it, whose other effects it must keep its order with.
pub(crate) fn send(
    shared: &NodeState,
    request: SessionRequest,
    serving: Option<&SessionId>,
) -> Result<(), Status> {
    request.validate()?;
    let (op, command, body) = request.into_wire();
    let mut env = shared.router.envelope(Kind::Session, command, None, body);
    env.session_op = Some(op);
    // On the serving session's lane at every hop, to keep its order with
    // that session's pushes and joins.
    if let Some(serving) = serving {
        env.lane_key = LaneKey::of_session_id(serving).wire();
    }
    let lane = LaneKey::of(&env);
    let path =
        serving.filter(|s| s.proxy() != shared.id()).and_then(|s| fan_out_via(shared, s.proxy(), lane));
    // Straight to the session's proxy, this proxy gets it back from there
    // with the others; any other way, it is left out and applies it now.
    let local = match (&path, &shared.sessions) {
        (Some(Via::Proxy(_)), _) | (_, None) => Ok(()),
        (_, Some(_)) => apply(shared, &env),
    };
    let sent = match path {
        Some(via) => via.send(shared, env),
        None => fan_out(shared, env),
    };
    local.and(sent)
}

/// Hands an operation for every proxy, applied here, on to the others: as
/// if it started here, so that they all get it once and this proxy not
/// again.
fn hand_on(shared: &NodeState, mut envelope: Envelope) {
    envelope.to.clear();
    envelope.source = shared.router.wire_id.clone();
    if let Err(status) = fan_out(shared, envelope) {
        tracing::warn!(error = %status, "session operation not handed on to the other proxies");
    }
}
