//! The drain side of [`Context`]: long-lived work (a room, a match) learns
//! that its node drains, and may hold the drain while it finishes or hands
//! over. See `docs/operations.md` (draining) and `docs/rooms.md`.

use crate::cluster::SessionsHold;

use super::context::Context;

/// Holds its node's drain while alive: a draining node stops once every
/// hold is dropped and its handlers have finished, or when its grace
/// period is over, whichever comes first. Counted in the node's work in
/// flight (`GET /status`).
#[derive(Debug)]
#[must_use = "the drain is held only while the guard lives"]
pub struct DrainHold {
    _token: Option<SessionsHold>,
}

impl Context {
    /// True once this node started draining.
    pub fn is_draining(&self) -> bool {
        self.node.drain_signal().is_cancelled()
    }

    /// Resolves once this node starts draining, at once if it has. A
    /// [`Context::detached`] never drains.
    pub async fn draining(&self) {
        self.node.drain_signal().cancelled_owned().await;
    }

    /// Makes this node's drain wait for the returned guard (within the
    /// drain's grace period): for work that must finish or hand over
    /// before the node stops, such as telling a room's members that it
    /// ends. Take it before the drain starts; one taken after the drain
    /// finished waiting holds nothing.
    pub fn hold_drain(&self) -> DrainHold {
        DrainHold { _token: self.node.hold_drain() }
    }
}
