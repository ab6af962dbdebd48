//! Session features beyond obespoir, as pure data: no sockets here.
//!
//! * `data`: the bounded key → JSON map a session carries ([`DataError`]).
//! * `replay`: numbered pushes kept for a client that may resume.
//! * `token`: resume tokens.
//! * `index`: user id → sessions and group → sessions on one proxy.
//! * `login`: the order of one user's logins across proxies, for unique
//!   login ([`LoginOrder`], decided by one authority per user).
//! * `request`: what a handler asks of the session layer ([`Member`]).
//! * `stats`: [`SessionStats`].
//!
//! The proxy that holds a session owns all of its state (`node/sessions.rs`);
//! other nodes change it with session operations (`node/session_ops.rs`).
//! `docs/sessions.md` describes the features and the client protocol.

mod data;
mod index;
mod login;
mod replay;
mod request;
mod stats;
mod token;

pub use data::DataError;
pub(crate) use data::{SessionData, check_key};
pub(crate) use index::{GroupIndex, UserIndex, check_group, check_uid, clip_reason};
pub(crate) use login::{LoginClock, LoginNotice, LoginOrder, authority as login_authority, now_micros};
pub(crate) use replay::ReplayBuffer;
pub use request::Member;
pub(crate) use request::SessionRequest;
pub use stats::SessionStats;
pub(crate) use token::{ResumeSecret, parse as parse_token};
