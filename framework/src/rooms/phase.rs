//! Where a room is in its life, and why it ended.

use std::fmt;

/// A room's lifecycle:
///
/// ```text
///            join/leave                last leave, empty timeout,
///   ──► Open ──────────► Open ───────► lifetime, dispose() ─────► Disposed
///         │                                                          ▲
///         │ node drains (FinishThenDispose)         last leave,      │
///         └──────────────────────────────► Finishing ───────────────┤
///         │ node drains (NotifyAndDispose)          timeouts         │
///         └──────────────────────────────────────────────────────────┘
/// ```
///
/// `Disposed` is final: nothing joins, leaves or ticks afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomPhase {
    /// Taking members.
    Open,
    /// Its node drains: the room runs on for its members, takes no one new.
    Finishing,
    /// Ended, for the reason given.
    Disposed(DisposeReason),
}

/// Why a room was disposed. Members who were still in it are told this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisposeReason {
    /// Its last member left (with no empty timeout).
    Empty,
    /// It stayed empty for its whole empty timeout.
    EmptyTimeout,
    /// It reached its maximum lifetime.
    Lifetime,
    /// Its node drained (and the policy or the last leave ended it).
    Drained,
    /// The game ended it (`dispose`).
    Closed,
    /// Its node shut down or died.
    NodeGone,
}

impl DisposeReason {
    /// The reason as a short word, for logs, metrics and clients.
    pub fn as_str(self) -> &'static str {
        match self {
            DisposeReason::Empty => "empty",
            DisposeReason::EmptyTimeout => "empty timeout",
            DisposeReason::Lifetime => "lifetime",
            DisposeReason::Drained => "drained",
            DisposeReason::Closed => "closed",
            DisposeReason::NodeGone => "node gone",
        }
    }
}

impl fmt::Display for DisposeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
