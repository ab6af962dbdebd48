//! What can go wrong with a room, as types: a game maps these to its
//! clients' statuses (or lets `From<RoomError> for Status` do it).

use thiserror::Error;

use super::phase::DisposeReason;
use crate::status::{Code, Status};

/// Refused room settings: which field and why.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RoomSettingsError {
    /// A room id that is empty, too long or has a character outside
    /// `[A-Za-z0-9_.:-]` (ids travel in group names and logs).
    #[error("room id {id:?}: {reason}")]
    BadId {
        /// The id refused.
        id: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A tick rate outside 1..=60 Hz.
    #[error("tick rate {hz} Hz is outside 1..=60 Hz")]
    TickRate {
        /// The rate asked for.
        hz: u32,
    },
    /// A count that must be within bounds (`max_members`, `input_capacity`).
    #[error("{field} = {value} is outside {min}..={max}")]
    OutOfRange {
        /// The setting.
        field: &'static str,
        /// The value refused.
        value: usize,
        /// The least allowed.
        min: usize,
        /// The most allowed.
        max: usize,
    },
}

/// A room operation refused by the room's state.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RoomError {
    /// The room already holds `capacity` members.
    #[error("the room is full ({capacity} members)")]
    Full {
        /// The room's member limit.
        capacity: usize,
    },
    /// The room is finishing (its node drains): members stay, no one joins.
    #[error("the room is finishing and takes no new members")]
    Finishing,
    /// The room was disposed; a client should find or make another.
    #[error("the room was disposed ({reason})")]
    Disposed {
        /// Why it was disposed.
        reason: DisposeReason,
    },
    /// The session is not a member of the room.
    #[error("not a member of the room")]
    NotMember,
    /// No room with that id on this node (it may be on another, or gone).
    #[error("no room {id:?} on this node")]
    NoSuchRoom {
        /// The id asked for.
        id: String,
    },
    /// The node already holds as many rooms as it may.
    #[error("this node holds its maximum of {max} rooms")]
    TooManyRooms {
        /// The node's room limit.
        max: usize,
    },
    /// A room with that id already exists on this node.
    #[error("room {id:?} already exists")]
    Exists {
        /// The id asked for.
        id: String,
    },
    /// The node is draining: rooms run out, no new one starts here.
    #[error("this node is draining and makes no new rooms")]
    NodeDraining,
    /// The user has no seat in the room (never reserved, released, or
    /// lapsed and freed).
    #[error("no seat in the room for this user")]
    NoSeat,
    /// The user's seat lapsed (reservation or reconnection window) and
    /// was freed.
    #[error("the seat's window ended; it was freed")]
    SeatLapsed,
    /// The room's input queue is full until its next tick takes it.
    #[error("the room's input queue is full ({capacity} inputs)")]
    InputQueueFull {
        /// The queue's capacity.
        capacity: usize,
    },
}

impl From<RoomError> for Status {
    /// Full rooms, full queues and full nodes are `OVERLOADED` (try later
    /// or elsewhere), a draining node `UNAVAILABLE` (as its other
    /// refusals), a room that is gone or finishing `NOT_FOUND`, the rest
    /// `BAD_REQUEST`. A missing or lapsed seat is `NOT_FOUND` too: the
    /// player looks for another match.
    fn from(err: RoomError) -> Status {
        let code = match err {
            RoomError::Full { .. } | RoomError::InputQueueFull { .. } | RoomError::TooManyRooms { .. } => {
                Code::OVERLOADED
            }
            RoomError::NodeDraining => Code::UNAVAILABLE,
            RoomError::Disposed { .. }
            | RoomError::NoSuchRoom { .. }
            | RoomError::Finishing
            | RoomError::NoSeat
            | RoomError::SeatLapsed => Code::NOT_FOUND,
            RoomError::NotMember | RoomError::Exists { .. } => Code::BAD_REQUEST,
        };
        Status::new(code, err.to_string())
    }
}

impl From<RoomSettingsError> for Status {
    /// `BAD_REQUEST`: settings a handler makes usually come from its
    /// client (a room id, a size it chose).
    fn from(err: RoomSettingsError) -> Status {
        Status::bad_request(err.to_string())
    }
}
