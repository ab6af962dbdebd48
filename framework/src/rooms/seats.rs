//! [`Seats`]: who a room keeps a place for, by user, beside its members.
//!
//! A match reserves a seat for each player it put together; the player
//! claims it by joining within the reservation window, or the seat is
//! freed (a no-show). A member whose connection drops is *away*: the seat
//! waits the reconnection window for the same user, then is freed, and the
//! game fills it or plays on. Seats go by user id, not session: the
//! reconnecting client may come back with a new session (a new login
//! after its resume window ran out), and a second login of the same user
//! takes the seat over from the first, which the game then removes
//! ([`Claimed::Replaced`]). Time is given, never read, as in [`Room`].
//!
//! [`Room`]: super::Room

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use super::error::RoomError;
use crate::id::SessionId;

/// One user's seat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seat {
    /// Held for a player a match placed here, until they come.
    Reserved {
        /// When the reservation lapses.
        until: Instant,
    },
    /// Taken by the user's session.
    Taken {
        /// The session in the seat.
        session: SessionId,
    },
    /// The user's session dropped; the seat waits for the user.
    Away {
        /// The session that dropped.
        session: SessionId,
        /// When the seat is given up.
        until: Instant,
    },
}

/// How a claim went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// The reserved seat is taken (or this session already held it).
    Seated,
    /// An away user is back within the window.
    Returned,
    /// A second session of the user took the seat over from `old`, which
    /// the game removes from the room (and may tell).
    Replaced {
        /// The session that held the seat.
        old: SessionId,
    },
}

/// Why a seat was freed by time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeatLapse {
    /// Reserved, and the player never came.
    NoShow,
    /// Away past the reconnection window.
    Gone,
}

/// A room's seats, by user id; at most `capacity` of them.
#[derive(Debug, Clone)]
pub struct Seats {
    by_uid: HashMap<String, Seat>,
    capacity: usize,
}

impl Seats {
    /// No seats yet; at most `capacity` (the room's size).
    pub fn new(capacity: usize) -> Seats {
        Seats { by_uid: HashMap::new(), capacity }
    }

    /// Reserves a seat for `uid` until `until`. Reserving again extends a
    /// reservation and leaves a taken or away seat as it is.
    ///
    /// # Errors
    /// [`RoomError::Full`] when every seat is someone else's.
    pub fn reserve(&mut self, uid: &str, until: Instant) -> Result<(), RoomError> {
        match self.by_uid.get_mut(uid) {
            Some(Seat::Reserved { until: old }) => *old = (*old).max(until),
            Some(_) => {}
            None => {
                if self.by_uid.len() >= self.capacity {
                    return Err(RoomError::Full { capacity: self.capacity });
                }
                self.by_uid.insert(uid.to_owned(), Seat::Reserved { until });
            }
        }
        Ok(())
    }

    /// `session`, logged in as `uid`, takes the user's seat.
    ///
    /// # Errors
    /// [`RoomError::NoSeat`] when the user has none (never reserved,
    /// released, or lapsed and already freed), [`RoomError::SeatLapsed`]
    /// when its window ended before `now` (the seat is freed).
    pub fn claim(&mut self, uid: &str, session: SessionId, now: Instant) -> Result<Claimed, RoomError> {
        let seat = self.by_uid.get_mut(uid).ok_or(RoomError::NoSeat)?;
        let lapsed = match seat {
            Seat::Reserved { until } | Seat::Away { until, .. } => now >= *until,
            Seat::Taken { .. } => false,
        };
        if lapsed {
            self.by_uid.remove(uid);
            return Err(RoomError::SeatLapsed);
        }
        let claimed = match seat {
            Seat::Reserved { .. } => Claimed::Seated,
            Seat::Taken { session: held } if *held == session => return Ok(Claimed::Seated),
            Seat::Taken { session: held } => Claimed::Replaced { old: held.clone() },
            // The same session resumed, or the user logged in again.
            Seat::Away { .. } => Claimed::Returned,
        };
        *seat = Seat::Taken { session };
        Ok(claimed)
    }

    /// The session in `uid`'s seat dropped: the seat waits `window` for
    /// the user. Returns `false` when `session` holds no seat here (it was
    /// replaced, or never sat). A zero window frees the seat at once.
    pub fn away(&mut self, session: &SessionId, now: Instant, window: Duration) -> bool {
        let Some((uid, seat)) = self
            .by_uid
            .iter_mut()
            .find(|(_, s)| matches!(s, Seat::Taken { session: held } if held == session))
        else {
            return false;
        };
        if window.is_zero() {
            let uid = uid.clone();
            self.by_uid.remove(&uid);
        } else {
            *seat = Seat::Away { session: session.clone(), until: now + window };
        }
        true
    }

    /// Frees `uid`'s seat (the player left, or was kicked): a later claim
    /// is refused.
    pub fn release(&mut self, uid: &str) -> Option<Seat> {
        self.by_uid.remove(uid)
    }

    /// Frees the seats whose window ended by `now`, with why.
    pub fn expire(&mut self, now: Instant) -> Vec<(String, SeatLapse)> {
        let mut lapsed = Vec::new();
        self.by_uid.retain(|uid, seat| {
            let why = match seat {
                Seat::Reserved { until } if now >= *until => SeatLapse::NoShow,
                Seat::Away { until, .. } if now >= *until => SeatLapse::Gone,
                _ => return true,
            };
            lapsed.push((uid.clone(), why));
            false
        });
        lapsed.sort_by(|a, b| a.0.cmp(&b.0));
        lapsed
    }

    /// When the next seat lapses, if any waits.
    pub fn deadline(&self) -> Option<Instant> {
        self.by_uid
            .values()
            .filter_map(|s| match s {
                Seat::Reserved { until } | Seat::Away { until, .. } => Some(*until),
                Seat::Taken { .. } => None,
            })
            .min()
    }

    /// `uid`'s seat.
    pub fn get(&self, uid: &str) -> Option<&Seat> {
        self.by_uid.get(uid)
    }

    /// Seats held, reserved or away.
    pub fn len(&self) -> usize {
        self.by_uid.len()
    }

    /// No seat at all.
    pub fn is_empty(&self) -> bool {
        self.by_uid.is_empty()
    }
}
