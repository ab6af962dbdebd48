//! A ticket: one party waiting for a match.

use std::fmt;
use std::time::Duration;

use tokio::time::Instant;

use crate::rooms::RoomMember;

/// A ticket's id, unique within its [`Matchmaker`](super::Matchmaker); a
/// later ticket has a larger id, so ids order tickets by age.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TicketId(pub(super) u64);

impl TicketId {
    /// The number, for logs and replies.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TicketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ticket-{}", self.0)
    }
}

/// One party (a player alone, or several who play together) waiting for a
/// match, with the game's properties `P` (a rating, a mode, a region…).
#[derive(Debug, Clone)]
pub struct Ticket<P> {
    pub(super) id: TicketId,
    pub(super) players: Vec<RoomMember>,
    pub(super) properties: P,
    pub(super) since: Instant,
}

impl<P> Ticket<P> {
    /// Its id.
    pub fn id(&self) -> TicketId {
        self.id
    }

    /// The party, in the order given; never empty.
    pub fn players(&self) -> &[RoomMember] {
        &self.players
    }

    /// How many seats it takes.
    pub fn size(&self) -> usize {
        self.players.len()
    }

    /// The game's properties.
    pub fn properties(&self) -> &P {
        &self.properties
    }

    /// When it joined the pool.
    pub fn since(&self) -> Instant {
        self.since
    }

    /// How long it has waited at `now`.
    pub fn waited(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.since)
    }
}
