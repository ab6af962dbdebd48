//! Giving a node being built the counters of the game's rooms, so that
//! `/metrics` shows them (see `rooms/`).

use std::sync::Arc;

use super::NodeBuilder;
use crate::rooms::RoomStats;

impl NodeBuilder {
    /// Exports `stats` (a [`Rooms`](crate::Rooms)' counters) on this
    /// node's `/metrics`: rooms made, disposed and open, joins, leaves,
    /// ticks and inputs dropped on full queues. Several registrations add
    /// up (a game with two kinds of rooms); the same counters given twice
    /// count once.
    ///
    /// ```
    /// # use std::sync::{Arc, Mutex};
    /// # use espoir::{Node, NodeConfig, Rooms};
    /// # fn build(config: NodeConfig) -> Result<(), Box<dyn std::error::Error>> {
    /// let rooms: Rooms<String> = Rooms::new(1000)?;
    /// let node = Node::builder(config).room_stats(Arc::clone(rooms.stats())).state(Arc::new(Mutex::new(rooms)));
    /// # let _ = node; Ok(()) }
    /// ```
    pub fn room_stats(mut self, stats: Arc<RoomStats>) -> Self {
        let mut all = self.state.get::<RoomCounters>().map(|known| known.0.clone()).unwrap_or_default();
        if !all.iter().any(|known| Arc::ptr_eq(known, &stats)) {
            all.push(stats);
        }
        self.state.insert(RoomCounters(all));
        self
    }
}

/// The room counters a node was given, kept in its shared state under a
/// type only the crate can name (no game's state can collide with it).
pub(crate) struct RoomCounters(pub(crate) Vec<Arc<RoomStats>>);
