//! A node's rooms, by id: bounded in number, reaped when disposed, and
//! drained or ended together with their node. Pure state like [`Room`]:
//! the caller gives the time and acts on what comes back (tells members,
//! leaves groups).

use std::collections::HashMap;
use std::sync::Arc;

use tokio::time::Instant;

use super::error::{RoomError, RoomSettingsError};
use super::id::RoomId;
use super::phase::DisposeReason;
use super::room::{Drained, Ended, Room};
use super::settings::RoomSettings;
use super::stats::RoomStats;

/// The most rooms a node may be configured to hold.
pub const MAX_ROOMS_PER_NODE: usize = 100_000;

/// A room that ended, by id.
pub type EndedRoom = (RoomId, Ended);

/// The rooms of one node.
#[derive(Debug)]
pub struct Rooms<I> {
    rooms: HashMap<RoomId, Room<I>>,
    max_rooms: usize,
    draining: bool,
    stats: Arc<RoomStats>,
}

impl<I> Rooms<I> {
    /// A node's rooms, at most `max_rooms` (1..=[`MAX_ROOMS_PER_NODE`]).
    ///
    /// # Errors
    /// [`RoomSettingsError::OutOfRange`] out of bounds.
    pub fn new(max_rooms: usize) -> Result<Rooms<I>, RoomSettingsError> {
        if !(1..=MAX_ROOMS_PER_NODE).contains(&max_rooms) {
            return Err(RoomSettingsError::OutOfRange {
                field: "max_rooms",
                value: max_rooms,
                min: 1,
                max: MAX_ROOMS_PER_NODE,
            });
        }
        Ok(Rooms { rooms: HashMap::new(), max_rooms, draining: false, stats: Arc::default() })
    }

    /// The counters of this node's rooms.
    pub fn stats(&self) -> &Arc<RoomStats> {
        &self.stats
    }

    /// Rooms held now (a room disposed since the last [`Rooms::poll`]
    /// included).
    pub fn len(&self) -> usize {
        self.rooms.len()
    }

    /// Whether no room is held.
    pub fn is_empty(&self) -> bool {
        self.rooms.is_empty()
    }

    /// Whether the node drains ([`Rooms::drain`] was called).
    pub fn is_draining(&self) -> bool {
        self.draining
    }

    /// Makes room `id` at `now`.
    ///
    /// # Errors
    /// [`RoomError::NodeDraining`], [`RoomError::Exists`],
    /// [`RoomError::TooManyRooms`].
    pub fn create(
        &mut self,
        id: RoomId,
        settings: RoomSettings,
        now: Instant,
    ) -> Result<&mut Room<I>, RoomError> {
        if self.draining {
            return Err(RoomError::NodeDraining);
        }
        if self.rooms.contains_key(&id) {
            return Err(RoomError::Exists { id: id.to_string() });
        }
        if self.rooms.len() >= self.max_rooms {
            tracing::warn!(max_rooms = self.max_rooms, room = %id, "room refused: node holds its maximum");
            return Err(RoomError::TooManyRooms { max: self.max_rooms });
        }
        let room = Room::new(id.clone(), settings, now, self.stats.clone());
        Ok(self.rooms.entry(id).or_insert(room))
    }

    /// Room `id`, if held (it may be disposed and not reaped yet).
    pub fn get(&self, id: &RoomId) -> Option<&Room<I>> {
        self.rooms.get(id)
    }

    /// Room `id`, to change it.
    ///
    /// # Errors
    /// [`RoomError::NoSuchRoom`].
    pub fn room(&mut self, id: &RoomId) -> Result<&mut Room<I>, RoomError> {
        self.rooms.get_mut(id).ok_or_else(|| RoomError::NoSuchRoom { id: id.to_string() })
    }

    /// The ids of the rooms held.
    pub fn ids(&self) -> impl Iterator<Item = &RoomId> {
        self.rooms.keys()
    }

    /// When the next room needs [`Rooms::poll`].
    pub fn deadline(&self) -> Option<Instant> {
        self.rooms.values().filter_map(Room::deadline).min()
    }

    /// Applies every room's timeouts due at `now` and forgets disposed
    /// rooms (whatever disposed them); returns the rooms the timeouts
    /// ended, with the members to tell.
    pub fn poll(&mut self, now: Instant) -> Vec<EndedRoom> {
        let ended: Vec<EndedRoom> =
            self.rooms.iter_mut().filter_map(|(id, room)| room.poll(now).map(|e| (id.clone(), e))).collect();
        self.rooms.retain(|_, room| !room.is_disposed());
        ended
    }

    /// The node starts draining: no room is made from now on, and every
    /// room applies its drain policy. Returns the rooms that ended (their
    /// members to be told); the others finish.
    pub fn drain(&mut self) -> Vec<EndedRoom> {
        self.draining = true;
        let ended: Vec<EndedRoom> = self
            .rooms
            .iter_mut()
            .filter_map(|(id, room)| match room.drain() {
                Drained::Disposed(Some(ended)) => Some((id.clone(), ended)),
                Drained::Disposed(None) | Drained::Finishing => None,
            })
            .collect();
        self.rooms.retain(|_, room| !room.is_disposed());
        tracing::info!(
            ended = ended.len(),
            finishing = self.rooms.len(),
            "node draining: rooms applied their policy"
        );
        ended
    }

    /// Ends every room for `reason` (the node stops, or the drain's grace
    /// period is over); returns them with the members to tell.
    pub fn end_all(&mut self, reason: DisposeReason) -> Vec<EndedRoom> {
        let ended =
            self.rooms.drain().filter_map(|(id, mut room)| room.dispose(reason).map(|e| (id, e))).collect();
        self.draining = true;
        ended
    }
}
