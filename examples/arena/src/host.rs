//! The service's state: the matchmaking pool, the rooms and their seats,
//! and who is logged in here.
//!
//! Locks are taken in one order, `tables` before `rooms`, and none is held
//! across an `await`; the pool's lock is never held with another.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use espoir::matchmaking::{MatchSettings, Matchmaker, Ticket};
use espoir::{RoomId, Rooms, Seats, SessionId};

use crate::board::Dir;
use crate::settings::Settings;

/// A move, as queued in the room: who sent it (their user id, so a player
/// who comes back with a new session is the same player) and where to.
#[derive(Debug, Clone)]
pub struct Steer {
    /// The player's user id.
    pub uid: String,
    /// The direction.
    pub dir: Dir,
}

/// What the service keeps per room beside the framework's `Room`: the
/// seats, by user.
#[derive(Debug)]
pub(crate) struct Table {
    pub(crate) seats: Seats,
    /// The match's players, in the order matched.
    pub(crate) players: Vec<String>,
}

/// The arena service's shared state.
pub struct Host {
    pub(crate) settings: Settings,
    pub(crate) pool: Mutex<Matchmaker<String>>,
    pub(crate) tables: Mutex<HashMap<RoomId, Table>>,
    pub(crate) rooms: Arc<Mutex<Rooms<Steer>>>,
    /// The session each user logged in with here, for parties: a player
    /// names friends by user id. Emptied by the close notice.
    pub(crate) online: Mutex<HashMap<String, SessionId>>,
    next_room: AtomicU64,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host").field("settings", &self.settings).finish_non_exhaustive()
    }
}

/// Players of a match must ask for the same mode; nothing widens with
/// time but the match's size, through `fill_wait`.
fn same_mode(a: &Ticket<String>, b: &Ticket<String>, _waited: std::time::Duration) -> bool {
    a.properties() == b.properties()
}

impl Host {
    /// The state for `settings` (already validated).
    ///
    /// # Errors
    /// A setting the framework refuses.
    pub fn new(settings: Settings) -> Result<Host, String> {
        let matching = MatchSettings::new(settings.min_players, settings.max_players)
            .map_err(|e| e.to_string())?
            .fill_wait(Settings::ms(settings.fill_wait_ms))
            .max_wait(Settings::ms(settings.max_wait_ms));
        let rooms = Rooms::new(settings.max_rooms).map_err(|e| e.to_string())?;
        Ok(Host {
            pool: Mutex::new(Matchmaker::new(matching, same_mode)),
            tables: Mutex::new(HashMap::new()),
            rooms: Arc::new(Mutex::new(rooms)),
            online: Mutex::new(HashMap::new()),
            next_room: AtomicU64::new(1),
            settings,
        })
    }

    /// A fresh room number.
    pub(crate) fn next_room(&self) -> u64 {
        self.next_room.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn pool(&self) -> MutexGuard<'_, Matchmaker<String>> {
        self.pool.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn tables(&self) -> MutexGuard<'_, HashMap<RoomId, Table>> {
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn rooms(&self) -> MutexGuard<'_, Rooms<Steer>> {
        self.rooms.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn online(&self) -> MutexGuard<'_, HashMap<String, SessionId>> {
        self.online.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Rooms open now (for tests and logs).
    pub fn open_rooms(&self) -> usize {
        self.tables().len()
    }
}
