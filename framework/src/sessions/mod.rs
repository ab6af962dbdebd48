//! A proxy's client sessions, and the session operations between nodes
//! (the pure parts: `crate::session`; the protocol: `docs/sessions.md`).
//!
//! * `record`: what the proxy keeps for one session, and queueing a frame
//!   for it.
//! * `table`: [`Sessions`], every session of one proxy: opening, pins,
//!   pushes, closing.
//! * `users`: binding users, unique login's kicks, pushes to a user.
//! * `resume`: detaching a lost session and resuming it with its missed
//!   pushes.
//! * `groups`: group membership and broadcasts on one proxy.
//! * `ops`: session operations from other nodes (bind, kick, data, groups,
//!   pushes to users) and the close notice.
//! * `topics`: topic subscriptions of the proxy's sessions, snapshots,
//!   and delivery conflated for slow connections.
//! * `publish`: publishing to a topic from any node, and producers'
//!   publish calls.
//! * `fanout`: handing an operation to every proxy.
//! * `login`: unique login's claims and notices between proxies and the
//!   user's authority.

mod fanout;
mod groups;
mod login;
mod ops;
mod publish;
mod record;
mod resume;
mod table;
mod topics;
mod users;

pub(crate) use ops::{announce_closed, call as session_call, receive as receive_op, send as session_send};
pub use publish::publish_envelope;
pub(crate) use publish::{
    answer_call as answer_publish_call, is_publish_call, publish, refused as publish_refused,
};
pub(crate) use record::{Outbound, Stop};
pub(crate) use resume::{Ending, resume_reply};
pub(crate) use table::{OpenSession, RequestInfo, Sessions};
pub use topics::TopicGauges;
