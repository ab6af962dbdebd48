//! A proxy's client sessions, and the session operations between nodes
//! (the pure parts: `crate::session`; the protocol: `docs/sessions.md`).
//!
//! * `table`: [`Sessions`], every session of one proxy: its connection,
//!   user, data, groups, pins and push queue.
//! * `resume`: detaching a lost session and resuming it with its missed
//!   pushes.
//! * `groups`: group membership and broadcasts on one proxy.
//! * `ops`: session operations from other nodes (bind, kick, data, groups,
//!   pushes to users) and the close notice.
//! * `fanout`: handing an operation to every proxy.
//! * `login`: unique login's claims and notices between proxies and the
//!   user's authority.

mod fanout;
mod groups;
mod login;
mod ops;
mod resume;
mod table;

pub(crate) use ops::{announce_closed, call as session_call, receive as receive_op, send as session_send};
pub(crate) use resume::{Ending, resume_reply};
pub(crate) use table::{OpenSession, Outbound, RequestInfo, Sessions, Stop};
