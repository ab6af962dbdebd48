//! How a pool forms matches, bounded when made.

use std::time::Duration;

use super::error::MatchError;
use crate::rooms::MAX_ROOM_MEMBERS;

/// Most tickets a pool may be set to hold.
pub const MAX_TICKETS: usize = 1_000_000;
/// Most younger tickets a pool may be set to compare one ticket with per
/// poll.
pub const MAX_SCAN: usize = 100_000;

/// How a [`Matchmaker`](super::Matchmaker) forms matches.
///
/// ```
/// use std::time::Duration;
/// use espoir::matchmaking::MatchSettings;
///
/// let settings = MatchSettings::new(2, 4)?        // 2 to 4 players a match
///     .fill_wait(Duration::from_secs(5))          // wait up to 5 s for 4
///     .max_wait(Duration::from_secs(60))          // then the ticket expires
///     .max_tickets(10_000)?;
/// # Ok::<(), espoir::matchmaking::MatchError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchSettings {
    pub(super) min_players: usize,
    pub(super) max_players: usize,
    pub(super) fill_wait: Duration,
    pub(super) max_wait: Duration,
    pub(super) max_tickets: usize,
    pub(super) scan: usize,
}

impl MatchSettings {
    /// Matches of `min_players..=max_players` players (at most
    /// [`MAX_ROOM_MEMBERS`]). Defaults: no wait for a fuller match, tickets
    /// expire after 60 s, 10 000 tickets, 1 000 compared per ticket and
    /// poll.
    ///
    /// # Errors
    /// [`MatchError::OutOfRange`] unless `1 <= min_players <= max_players
    /// <= MAX_ROOM_MEMBERS`.
    pub fn new(min_players: usize, max_players: usize) -> Result<MatchSettings, MatchError> {
        check("max_players", max_players, 1, MAX_ROOM_MEMBERS)?;
        check("min_players", min_players, 1, max_players)?;
        Ok(MatchSettings {
            min_players,
            max_players,
            fill_wait: Duration::ZERO,
            max_wait: Duration::from_secs(60),
            max_tickets: 10_000,
            scan: 1_000,
        })
    }

    /// A match smaller than `max_players` forms only once its oldest
    /// ticket has waited this long: players get full matches when the pool
    /// has them, and a smaller one rather than a long wait when it does
    /// not.
    #[must_use]
    pub fn fill_wait(mut self, wait: Duration) -> MatchSettings {
        self.fill_wait = wait;
        self
    }

    /// A ticket still unmatched after this long leaves the pool
    /// ([`Polled::expired`](super::Polled)), so a player is told rather than
    /// kept waiting forever.
    #[must_use]
    pub fn max_wait(mut self, wait: Duration) -> MatchSettings {
        self.max_wait = wait;
        self
    }

    /// Most tickets waiting at once; a ticket past it is refused
    /// ([`MatchError::Full`]).
    ///
    /// # Errors
    /// [`MatchError::OutOfRange`] outside `1..=MAX_TICKETS`.
    pub fn max_tickets(mut self, max: usize) -> Result<MatchSettings, MatchError> {
        self.max_tickets = check("max_tickets", max, 1, MAX_TICKETS)?;
        Ok(self)
    }

    /// Most younger tickets one ticket is compared with per poll: bounds a
    /// poll's work at `tickets × scan` criteria calls whatever the pool's
    /// size.
    ///
    /// # Errors
    /// [`MatchError::OutOfRange`] outside `1..=MAX_SCAN`.
    pub fn scan(mut self, scan: usize) -> Result<MatchSettings, MatchError> {
        self.scan = check("scan", scan, 1, MAX_SCAN)?;
        Ok(self)
    }

    /// Players in the smallest match.
    pub fn min_players(&self) -> usize {
        self.min_players
    }

    /// Players in the largest match.
    pub fn max_players(&self) -> usize {
        self.max_players
    }
}

fn check(field: &'static str, value: usize, min: usize, max: usize) -> Result<usize, MatchError> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(MatchError::OutOfRange { field, value, min, max })
    }
}
