//! Session features beyond obespoir, as pure data: no sockets here.
//!
//! * `data`: the bounded key → JSON map a session carries ([`DataError`]).
//! * `replay`: numbered pushes kept for a client that may resume.
//! * `token`: resume tokens.
//! * `index`: user id → sessions and group → sessions on one proxy, and the
//!   order of two logins of one user.
//! * `request`: what a handler asks of the session layer ([`Member`]).
//! * `stats`: [`SessionStats`].
//!
//! The proxy that holds a session owns all of its state (`node/sessions.rs`);
//! other nodes change it with session operations (`node/session_ops.rs`).
//! `docs/sessions.md` describes the features and the client protocol.

mod data;
mod index;
mod replay;
mod request;
mod stats;
mod token;

pub use data::DataError;
pub(crate) use data::{SessionData, check_key};
pub(crate) use index::{GroupIndex, LoginStamp, UserIndex, check_group, check_uid, clip_reason, now_millis};
pub(crate) use replay::ReplayBuffer;
pub use request::Member;
pub(crate) use request::SessionRequest;
pub use stats::SessionStats;
pub(crate) use token::{ResumeSecret, parse as parse_token};
