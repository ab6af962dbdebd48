//! Why a ticket or the pool's settings were refused.

use thiserror::Error;

use crate::id::SessionId;
use crate::status::{Code, Status};

/// A ticket refused, or settings out of bounds.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MatchError {
    /// A ticket with no player.
    #[error("a ticket needs at least one player")]
    EmptyParty,
    /// A party larger than a match.
    #[error("a party of {size} does not fit a match of at most {max} players")]
    PartyTooLarge {
        /// The party's size.
        size: usize,
        /// `max_players`.
        max: usize,
    },
    /// A player already waits in the pool (alone or in another party), or
    /// twice in one party.
    #[error("session {0} already waits for a match")]
    AlreadyQueued(SessionId),
    /// The pool holds `max_tickets` tickets.
    #[error("the matchmaking pool is full ({max} tickets)")]
    Full {
        /// `max_tickets`.
        max: usize,
    },
    /// A setting outside its bounds.
    #[error("matchmaking setting {field} = {value} is outside {min}..={max}")]
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

impl From<MatchError> for Status {
    fn from(err: MatchError) -> Status {
        let code = match err {
            MatchError::Full { .. } => Code::OVERLOADED,
            MatchError::AlreadyQueued(_) => Code::CONFLICT,
            _ => Code::BAD_REQUEST,
        };
        Status::new(code, err.to_string())
    }
}
