//! Counters of session features on one node.

use std::sync::atomic::{AtomicU64, Ordering};

/// Session counters of one node: what it sent, relayed and delivered.
/// Cheap to bump from any task; read them with [`SessionStats::get`].
#[derive(Debug, Default)]
pub struct SessionStats {
    /// Session operations sent to every proxy by this node: one per link
    /// used (a node that goes through a route counts one).
    pub fanouts_sent: AtomicU64,
    /// Operations for every proxy relayed by this route, one per proxy.
    pub fanouts_relayed: AtomicU64,
    /// Session operations this proxy applied (from any node, or its own).
    pub ops_applied: AtomicU64,
    /// Group broadcasts this proxy received from other nodes.
    pub broadcasts_received: AtomicU64,
    /// Frames queued for group members by broadcasts.
    pub broadcast_frames: AtomicU64,
    /// Frames queued for users' sessions by pushes to a user id.
    pub user_push_frames: AtomicU64,
    /// Sessions kicked (by a kick, or by a newer login with unique login).
    pub kicks: AtomicU64,
    /// Sessions kept after their connection was lost, awaiting resume.
    pub detached: AtomicU64,
    /// Sessions resumed by a reconnecting client.
    pub resumed: AtomicU64,
    /// Resume attempts refused (unknown token, expired, missed pushes).
    pub resume_refused: AtomicU64,
    /// Detached sessions closed because their grace period ended.
    pub expired: AtomicU64,
    /// Clients disconnected because a push (to the session, its user or a
    /// group) did not fit their send queue: one per disconnection.
    pub slow_disconnects: AtomicU64,
}

impl SessionStats {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
