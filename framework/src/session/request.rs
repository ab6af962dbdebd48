//! What a handler asks of the session layer, and its wire form.

use bytes::Bytes;

use super::{check_group, check_key, check_uid, clip_reason};
use crate::id::{NodeId, SessionId};
use crate::proto::{self, NodeType, SessionOp, session_op::Op};
use crate::status::Status;
use crate::topic::{TopicMessage, check_topic};

/// Who a group operation or a kick is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member {
    /// One session, wherever its proxy is.
    Session(SessionId),
    /// Every session bound to this user id, on every proxy.
    User(String),
}

/// A change to proxy-held session state, as [`crate::Context`] builds it.
#[derive(Debug, Clone)]
pub(crate) enum SessionRequest {
    Bind {
        session: SessionId,
        uid: Option<String>,
    },
    Kick {
        target: Member,
        reason: String,
    },
    SetData {
        session: SessionId,
        key: String,
        value: Option<String>,
    },
    Join {
        group: String,
        member: Member,
    },
    Leave {
        group: String,
        member: Member,
    },
    Broadcast {
        group: String,
        command: i32,
        body: Bytes,
        except: Option<SessionId>,
    },
    PushUser {
        uid: String,
        command: i32,
        body: Bytes,
    },
    Subscribe {
        session: SessionId,
        topic: String,
    },
    Unsubscribe {
        session: SessionId,
        topic: String,
    },
    /// Pins `session` to `node` (of type `node_type`) at its proxy.
    Pin {
        session: SessionId,
        node_type: NodeType,
        node: NodeId,
    },
    /// `max_body`: the publishing node's `topics.max_message_bytes`.
    Publish {
        message: TopicMessage,
        max_body: usize,
    },
}

impl SessionRequest {
    /// The one session this is about: it then goes to that session's proxy
    /// and is answered. `None`: it goes to every proxy, unanswered.
    pub(crate) fn session(&self) -> Option<&SessionId> {
        match self {
            SessionRequest::Bind { session, .. }
            | SessionRequest::SetData { session, .. }
            | SessionRequest::Subscribe { session, .. }
            | SessionRequest::Unsubscribe { session, .. }
            | SessionRequest::Pin { session, .. } => Some(session),
            SessionRequest::Kick { target: Member::Session(s), .. }
            | SessionRequest::Join { member: Member::Session(s), .. }
            | SessionRequest::Leave { member: Member::Session(s), .. } => Some(s),
            _ => None,
        }
    }

    /// Checks names and sizes here, so a bad request fails at the caller
    /// with a clear status instead of being dropped at a proxy.
    ///
    /// # Errors
    /// `BAD_REQUEST` naming the problem.
    pub(crate) fn validate(&self) -> Result<(), Status> {
        let user = |m: &Member| match m {
            Member::User(uid) => check_uid(uid),
            Member::Session(_) => Ok(()),
        };
        let checked = match self {
            SessionRequest::Bind { uid: Some(uid), .. } | SessionRequest::PushUser { uid, .. } => {
                check_uid(uid)
            }
            SessionRequest::Bind { uid: None, .. } => Ok(()),
            SessionRequest::Pin { node_type, .. } => match node_type {
                NodeType::Proxy | NodeType::Unspecified => {
                    Err(format!("a session cannot be pinned to a {node_type:?} node"))
                }
                _ => Ok(()),
            },
            SessionRequest::Kick { target, .. } => user(target),
            SessionRequest::SetData { key, .. } => check_key(key).map_err(|e| e.to_string()),
            SessionRequest::Join { group, member } | SessionRequest::Leave { group, member } => {
                check_group(group).and_then(|()| user(member))
            }
            SessionRequest::Broadcast { group, .. } => check_group(group),
            SessionRequest::Subscribe { topic, .. } | SessionRequest::Unsubscribe { topic, .. } => {
                check_topic(topic)
            }
            SessionRequest::Publish { message, max_body } => {
                message.validate(*max_body).map_err(|e| e.to_string())
            }
        };
        checked.map_err(Status::bad_request)
    }

    /// The operation, the push command and the push body to put in an
    /// envelope.
    pub(crate) fn into_wire(self) -> (SessionOp, i32, Bytes) {
        let uid_of = |m: Member| match m {
            Member::User(uid) => uid,
            Member::Session(_) => String::new(),
        };
        let (op, command, body) = match self {
            SessionRequest::Bind { uid, .. } => {
                (Op::Bind(proto::Bind { uid: uid.unwrap_or_default() }), 0, Bytes::new())
            }
            SessionRequest::Kick { target, reason } => {
                (Op::Kick(proto::Kick { uid: uid_of(target), reason: clip_reason(&reason) }), 0, Bytes::new())
            }
            SessionRequest::SetData { key, value, .. } => {
                let remove = value.is_none();
                (
                    Op::SetData(proto::SetData { key, value: value.unwrap_or_default(), remove }),
                    0,
                    Bytes::new(),
                )
            }
            SessionRequest::Join { group, member } => {
                (Op::Join(proto::GroupMember { group, uid: uid_of(member) }), 0, Bytes::new())
            }
            SessionRequest::Leave { group, member } => {
                (Op::Leave(proto::GroupMember { group, uid: uid_of(member) }), 0, Bytes::new())
            }
            SessionRequest::Broadcast { group, command, body, except } => {
                let except_session = except.map(|s| s.to_string()).unwrap_or_default();
                (Op::Broadcast(proto::Broadcast { group, except_session }), command, body)
            }
            SessionRequest::PushUser { uid, command, body } => {
                (Op::UserPush(proto::UserPush { uid }), command, body)
            }
            SessionRequest::Subscribe { topic, .. } => {
                (Op::TopicSubscribe(proto::TopicSubscription { topic }), 0, Bytes::new())
            }
            SessionRequest::Unsubscribe { topic, .. } => {
                (Op::TopicUnsubscribe(proto::TopicSubscription { topic }), 0, Bytes::new())
            }
            SessionRequest::Pin { node_type, node, .. } => (
                Op::Pin(proto::SessionPin { node_id: node.to_string(), node_type: node_type as i32 }),
                0,
                Bytes::new(),
            ),
            SessionRequest::Publish { message, .. } => {
                let TopicMessage { topic, key, command, body } = message;
                (Op::TopicPublish(proto::TopicPublish { topic, key: key.unwrap_or_default() }), command, body)
            }
        };
        (SessionOp { op: Some(op) }, command, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::NodeId;

    fn session() -> SessionId {
        SessionId::new(NodeId::of("127.0.0.1", 1), 1)
    }

    #[test]
    fn session_scoped_requests_name_their_session_and_user_scoped_ones_do_not() {
        let bind = SessionRequest::Bind { session: session(), uid: Some("u".into()) };
        assert_eq!(bind.session(), Some(&session()));
        let kick = SessionRequest::Kick { target: Member::User("u".into()), reason: "r".into() };
        assert_eq!(kick.session(), None);
        let join = SessionRequest::Join { group: "g".into(), member: Member::Session(session()) };
        assert_eq!(join.session(), Some(&session()));
        let (op, _, _) = kick.into_wire();
        assert_eq!(op.op, Some(Op::Kick(proto::Kick { uid: "u".into(), reason: "r".into() })));
    }

    #[test]
    fn bad_names_fail_at_the_caller() {
        let bad = [
            SessionRequest::Bind { session: session(), uid: Some(String::new()) },
            SessionRequest::PushUser { uid: "x".repeat(500), command: 1, body: Bytes::new() },
            SessionRequest::SetData { session: session(), key: String::new(), value: None },
            SessionRequest::Join { group: String::new(), member: Member::Session(session()) },
            SessionRequest::Leave { group: "g".into(), member: Member::User(String::new()) },
            SessionRequest::Broadcast {
                group: "g".repeat(200),
                command: 1,
                body: Bytes::new(),
                except: None,
            },
        ];
        for request in bad {
            assert_eq!(request.validate().unwrap_err().code(), crate::Code::BAD_REQUEST, "{request:?}");
        }
        assert!(SessionRequest::Bind { session: session(), uid: None }.validate().is_ok());
    }
}
