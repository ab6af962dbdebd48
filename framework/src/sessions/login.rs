//! Unique login across proxies: the claim a binding proxy sends to its
//! user's authority, and the stamped notice the authority sends to every
//! proxy. The order itself, and why it needs no clocks, is
//! `session/login.rs`.

use bytes::Bytes;

use super::fanout::fan_out;
use super::table::Closed;
use crate::id::{NodeId, SessionId};
use crate::node::NodeState;
use crate::proto::session_op::Op;
use crate::proto::{self, Envelope, Kind, NodeType, SessionOp};
use crate::session::{LoginNotice, LoginOrder, login_authority, now_micros};
use crate::transport::Link;

/// Who orders a user's logins, seen from this node.
pub(crate) enum Authority {
    Here,
    There(Link),
}

/// The authority for `uid`: one of the linked routes (they relay to every
/// proxy), or with none, one of the linked proxies and this node.
pub(crate) fn authority_for(shared: &NodeState, uid: &str) -> Authority {
    let links = shared.router.endpoint.links();
    let of_type = |t: NodeType| -> Vec<NodeId> {
        let mut ids: Vec<NodeId> = links
            .iter()
            .filter(|l| l.peer_type() == t && !l.is_closed())
            .map(|l| l.peer_id().clone())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    let mut candidates = of_type(NodeType::Route);
    if candidates.is_empty() {
        candidates = of_type(NodeType::Proxy);
        candidates.push(shared.id().clone());
    }
    let picked = login_authority(uid, candidates.iter().map(NodeId::as_str));
    match picked.and_then(|id| NodeId::parse(id).ok()).filter(|id| id != shared.id()) {
        Some(id) => shared.router.endpoint.link(&id).map_or(Authority::Here, Authority::There),
        None => Authority::Here,
    }
}

/// Where a new binding of `session` starts in the login order.
pub(crate) fn begin(shared: &NodeState, authority: &Authority, session: &SessionId) -> LoginOrder {
    match authority {
        Authority::Here => {
            LoginOrder::Ordered { stamp: shared.login_clock.next(), session: session.to_string() }
        }
        Authority::There(link) => {
            LoginOrder::Pending { authority: link.peer_id().to_string(), claimed: now_micros() }
        }
    }
}

/// After a bind: sends the claim to the authority, or, as the authority,
/// the stamped notice to every proxy. Returns the local sessions closed if
/// the authority could not be reached and this proxy ordered it itself.
pub(crate) fn announce(
    shared: &NodeState,
    uid: &str,
    session: &SessionId,
    order: &LoginOrder,
    authority: Authority,
) -> Vec<Closed> {
    let stamp = match (authority, order) {
        (Authority::Here, LoginOrder::Ordered { stamp, .. }) => *stamp,
        (Authority::There(link), _) => {
            let claim = bound(shared, uid, session, 0, "");
            match link.send(claim) {
                Ok(()) => return Vec::new(),
                Err(err) => {
                    // Ordered here instead: clock-based against the
                    // authority's own stamps, but never left pending.
                    tracing::warn!(peer = %link.peer_id(), %uid, error = %err, "login authority unreachable; ordering the login here");
                    let notice = notice(shared, session);
                    let closed =
                        shared.sessions.as_ref().map(|s| s.ordered(uid, &notice)).unwrap_or_default();
                    send_notice(shared, bound(shared, uid, session, notice.stamp, shared.id().as_str()));
                    return closed;
                }
            }
        }
        (Authority::Here, LoginOrder::Pending { .. }) => return Vec::new(),
    };
    send_notice(shared, bound(shared, uid, session, stamp, shared.id().as_str()));
    Vec::new()
}

/// Whether `env` is a claim for this node to order.
pub(crate) fn is_claim(env: &Envelope) -> bool {
    matches!(env.session_op.as_ref().and_then(|o| o.op.as_ref()), Some(Op::Bound(b)) if b.stamp == 0)
}

/// A claim reached this node as its user's authority: stamps it in the
/// order claims arrive, applies it to this proxy's sessions (if a proxy)
/// and sends it to every proxy, the claimant included.
pub(crate) fn order_claim(shared: &NodeState, mut env: Envelope) -> Vec<Closed> {
    let stamp = shared.login_clock.next();
    let Some(Op::Bound(bound)) = env.session_op.as_mut().and_then(|o| o.op.as_mut()) else {
        return Vec::new();
    };
    bound.stamp = stamp;
    bound.authority = shared.id().to_string();
    let uid = bound.uid.clone();
    // From here on the notice is the authority's: relays skip only it.
    env.source = shared.router.wire_id.clone();
    let notice = LoginNotice {
        session: String::from_utf8_lossy(&env.session_id).into_owned(),
        stamp,
        authority: shared.id().to_string(),
    };
    let closed = shared.sessions.as_ref().map(|s| s.ordered(&uid, &notice)).unwrap_or_default();
    send_notice(shared, env);
    closed
}

/// A stamped notice: the binding it names is ordered.
pub(crate) fn notice_of(env: &Envelope, bound: &proto::Bound) -> LoginNotice {
    LoginNotice {
        session: String::from_utf8_lossy(&env.session_id).into_owned(),
        stamp: bound.stamp,
        authority: bound.authority.clone(),
    }
}

fn notice(shared: &NodeState, session: &SessionId) -> LoginNotice {
    LoginNotice {
        session: session.to_string(),
        stamp: shared.login_clock.next(),
        authority: shared.id().to_string(),
    }
}

fn bound(shared: &NodeState, uid: &str, session: &SessionId, stamp: u64, authority: &str) -> Envelope {
    let op = proto::Bound { uid: uid.to_owned(), stamp, authority: authority.to_owned() };
    let mut env = shared.router.envelope(Kind::Session, 0, Some(session), Bytes::new());
    env.session_op = Some(SessionOp { op: Some(Op::Bound(op)) });
    env
}

fn send_notice(shared: &NodeState, env: Envelope) {
    if let Err(status) = fan_out(shared, env) {
        tracing::warn!(error = %status, "unique login notice not sent to other proxies");
    }
}
