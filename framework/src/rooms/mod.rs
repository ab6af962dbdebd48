//! Rooms: matches with members, a lifecycle and an optional fixed-tick
//! loop, each pinned to one service node (issue 21, item 1).
//!
//! This folder is (but for `ticker`) the room's state without I/O: what a room is, who is in
//! it, where it is in its life and what waits for its next tick. Time is
//! given (`now`), never read, and a room says when it next needs to be
//! looked at ([`Room::deadline`]), so the node's timers and the tests
//! drive the same code.
//!
//! Layout:
//!
//! * `id`: [`RoomId`], checked, and the name of the group its members
//!   are in (`room:{id}`), so broadcasts to a room reuse groups: one
//!   message per proxy.
//! * `settings`: [`RoomSettings`] (size, [`TickRate`] 1–60 Hz,
//!   [`PushMode`], empty timeout, lifetime, input capacity,
//!   [`DrainPolicy`]), bounded when made.
//! * `phase`: [`RoomPhase`] (open, finishing, disposed) and
//!   [`DisposeReason`].
//! * `room`: [`Room`], the state machine: join, leave, submit an input,
//!   tick, timeouts, drain, dispose.
//! * `seats`: [`Seats`], the places a room keeps by user: reserved for a
//!   match's players until they come, taken, or away for a reconnection
//!   window; a second login takes its user's seat over.
//! * `registry`: [`Rooms`], a node's rooms by id, bounded in number,
//!   reaped when disposed, drained or ended together.
//! * `ticker`: the fixed-rate loop of a ticking room ([`run_tick_loop`]
//!   over a [`RoomGame`]): the one part here with a timer.
//! * `inputs`: the bounded input queue between ticks ([`Input`]).
//! * `stats`: [`RoomStats`], counters shared by a node's rooms (inputs
//!   dropped on a full queue among them).
//! * `error`: [`RoomError`] and [`RoomSettingsError`].
//!
//! Every count is bounded: rooms by [`MAX_ROOMS_PER_NODE`], members by
//! [`MAX_ROOM_MEMBERS`], queued inputs by [`MAX_INPUT_CAPACITY`], ids by
//! [`MAX_ROOM_ID_LEN`] bytes.

mod error;
mod id;
mod inputs;
mod phase;
mod registry;
mod room;
mod seats;
mod settings;
mod stats;
mod ticker;

#[cfg(test)]
mod registry_tests;
#[cfg(test)]
mod room_tests;
#[cfg(test)]
mod seats_tests;
#[cfg(test)]
mod ticker_tests;

pub use error::{RoomError, RoomSettingsError};
pub use id::{MAX_ROOM_ID_LEN, RoomId};
pub use inputs::Input;
pub use phase::{DisposeReason, RoomPhase};
pub use registry::{EndedRoom, MAX_ROOMS_PER_NODE, Rooms};
pub use room::{Drained, Ended, Joined, Left, Room, RoomMember, Tick};
pub use seats::{Claimed, Seat, SeatLapse, Seats};
pub use settings::{DrainPolicy, MAX_INPUT_CAPACITY, MAX_ROOM_MEMBERS, PushMode, RoomSettings, TickRate};
pub use stats::RoomStats;
pub use ticker::{RoomGame, TickLoopEnd, run_tick_loop};
