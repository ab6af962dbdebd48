//! Matchmaking (issue 21, item 2): tickets wait in a pool until the
//! game's criteria put enough of them together for a room.
//!
//! Like `rooms/`, this folder is state without I/O: time is given (`now`),
//! never read, and the pool says nothing about nodes or sockets. What a
//! match becomes (a room on a node, seats reserved for its players) is the
//! caller's business.
//!
//! Layout:
//!
//! * `ticket`: [`Ticket`], one party (one player or several who join
//!   together) with the game's properties, and its [`TicketId`].
//! * `criteria`: [`Criteria`], the game's rule for who may play whom, given
//!   how long the older ticket has waited: widening over time is code the
//!   game writes, not a query language.
//! * `settings`: [`MatchSettings`] (players per match, how long a ticket
//!   may wait, how long to wait for a full match, pool bounds), checked
//!   when made.
//! * `pool`: [`Matchmaker`], the pool: add, cancel, and `poll`, which
//!   forms matches oldest ticket first and expires tickets that waited too
//!   long.
//! * `error`: [`MatchError`].
//!
//! Every count is bounded: tickets by [`MatchSettings::max_tickets`] (at
//! most [`MAX_TICKETS`]), a party by the match size, and the candidates one
//! ticket is compared with per poll by [`MatchSettings::scan`].

mod criteria;
mod error;
mod pool;
mod settings;
mod ticket;

#[cfg(test)]
mod pool_tests;

pub use criteria::Criteria;
pub use error::MatchError;
pub use pool::{Match, Matchmaker, Polled};
pub use settings::{MAX_SCAN, MAX_TICKETS, MatchSettings};
pub use ticket::{Ticket, TicketId};
