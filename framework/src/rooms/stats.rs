//! Counters over a node's rooms, for `/metrics` and tests.

use std::sync::atomic::{AtomicU64, Ordering};

/// How a node's rooms have fared. Shared by every room of a node.
#[derive(Debug, Default)]
pub struct RoomStats {
    pub(super) created: AtomicU64,
    pub(super) disposed: AtomicU64,
    pub(super) joins: AtomicU64,
    pub(super) leaves: AtomicU64,
    pub(super) ticks: AtomicU64,
    pub(super) inputs_dropped: AtomicU64,
}

impl RoomStats {
    /// Rooms made so far.
    pub fn created(&self) -> u64 {
        self.created.load(Ordering::Relaxed)
    }

    /// Rooms disposed so far, whatever the reason.
    pub fn disposed(&self) -> u64 {
        self.disposed.load(Ordering::Relaxed)
    }

    /// Rooms alive now.
    pub fn open(&self) -> u64 {
        self.created().saturating_sub(self.disposed())
    }

    /// Members who joined (a repeated join of a member is not counted).
    pub fn joins(&self) -> u64 {
        self.joins.load(Ordering::Relaxed)
    }

    /// Members who left (not counting those a disposal let go).
    pub fn leaves(&self) -> u64 {
        self.leaves.load(Ordering::Relaxed)
    }

    /// Ticks run by every room.
    pub fn ticks(&self) -> u64 {
        self.ticks.load(Ordering::Relaxed)
    }

    /// Inputs refused because their room's queue was full: a room whose
    /// tick cannot keep up, or a member flooding it.
    pub fn inputs_dropped(&self) -> u64 {
        self.inputs_dropped.load(Ordering::Relaxed)
    }

    /// The counters as `/metrics` names them: name, help, value.
    pub(crate) fn metrics(&self) -> [(&'static str, &'static str, u64); 6] {
        [
            ("rooms_created", "Rooms made on this node", self.created()),
            ("rooms_disposed", "Rooms disposed on this node, whatever the reason", self.disposed()),
            ("room_joins", "Members who joined a room", self.joins()),
            ("room_leaves", "Members who left a room", self.leaves()),
            ("room_ticks", "Ticks run by this node's rooms", self.ticks()),
            (
                "room_inputs_dropped",
                "Inputs refused because their room's input queue was full",
                self.inputs_dropped(),
            ),
        ]
    }

    pub(super) fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}
