//! Draining: stop taking new work, finish what is in flight, tell the
//! cluster, then stop.
//!
//! Started by `POST /drain`, by [`crate::RunningNode::drain`], and by
//! `espoir node`/`espoir up` on SIGTERM or Ctrl-C. While a node drains:
//!
//! * it announces itself as draining on every link, so peers and routes
//!   stop choosing it for balanced messages and new pins at once;
//! * a proxy accepts no new clients; each connected client gets the answers
//!   to the frames it already sent, then a `1001 going away` close;
//! * a service or route refuses new requests with `503` (a proxy retries a
//!   refused request once on another node: the handler never ran) and lets
//!   running handlers finish; while a handler holds the drain (a finishing
//!   room), it still takes the requests of the sessions pinned to it;
//! * once nothing is in flight, or the grace period is over, the node stops
//!   and its links close; routes then announce it gone.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tokio_util::task::task_tracker::{TaskTrackerToken, TrackedFuture};

use super::membership;
use crate::node::NodeState;

/// The drain state of one node.
#[derive(Debug, Default)]
pub(crate) struct DrainState {
    /// Cancelled when draining starts.
    started: CancellationToken,
    /// In-flight work: handler runs and client connections. Draining waits
    /// for it to empty.
    work: TaskTracker,
    /// Set when a drain ended with work still in flight: a later drain of
    /// the stopped node (the command line's, after `POST /drain`) reports
    /// it instead of finding nothing left and calling the drain clean.
    cut_short: AtomicBool,
    /// Live handler holds (see [`DrainState::hold_for_sessions`]).
    session_holds: Arc<AtomicUsize>,
}

/// A handler's hold on its node's drain; releases it when dropped.
#[derive(Debug)]
pub(crate) struct SessionsHold {
    _work: TaskTrackerToken,
    holds: Arc<AtomicUsize>,
}

impl Drop for SessionsHold {
    fn drop(&mut self) {
        self.holds.fetch_sub(1, Ordering::SeqCst);
    }
}

impl DrainState {
    /// True once draining started.
    pub(crate) fn is_draining(&self) -> bool {
        self.started.is_cancelled()
    }

    /// Resolves when draining starts.
    pub(crate) async fn started(&self) {
        self.started.cancelled().await;
    }

    /// Counts `work` as in flight until it completes.
    pub(crate) fn track<F: Future>(&self, work: F) -> TrackedFuture<F> {
        self.work.track_future(work)
    }

    /// Cancelled when draining starts: for long-lived work (a room) to
    /// watch.
    pub(crate) fn signal(&self) -> CancellationToken {
        self.started.clone()
    }

    /// Counts as work in flight until dropped: a drain waits for it
    /// (within its grace period).
    pub(crate) fn hold(&self) -> TaskTrackerToken {
        self.work.token()
    }

    /// A handler's hold ([`crate::DrainHold`]): work in flight, as
    /// [`DrainState::hold`], and while any lives a draining node still
    /// takes the requests of the sessions pinned to it (a finishing room's
    /// members).
    pub(crate) fn hold_for_sessions(&self) -> SessionsHold {
        self.session_holds.fetch_add(1, Ordering::SeqCst);
        SessionsHold { _work: self.work.token(), holds: Arc::clone(&self.session_holds) }
    }

    /// Whether a handler holds the drain ([`DrainState::hold_for_sessions`]).
    pub(crate) fn held_for_sessions(&self) -> bool {
        self.session_holds.load(Ordering::SeqCst) > 0
    }

    /// Units of work in flight.
    pub(crate) fn in_flight(&self) -> usize {
        self.work.len()
    }
}

/// Drains `shared` and stops it. True when in-flight work finished within
/// `grace`. Calling it again while a drain runs waits the same way; once a
/// drain was cut short, every later one answers false too.
pub(crate) async fn drain(shared: &Arc<NodeState>, grace: Duration) -> bool {
    let started = tokio::time::Instant::now();
    if !shared.cluster.drain.started.is_cancelled() {
        shared.cluster.drain.started.cancel();
        tracing::info!(node = %shared.id(), name = %shared.config.name, in_flight = shared.cluster.drain.in_flight(), ?grace,
            "draining: no new sessions or requests; finishing in-flight work");
        membership::announce_all(shared);
    }
    shared.cluster.drain.work.close();
    let finished = tokio::time::timeout(grace, shared.cluster.drain.work.wait()).await.is_ok();
    if finished {
        tracing::info!(node = %shared.id(), elapsed = ?started.elapsed(), "drained; stopping");
    } else {
        tracing::warn!(node = %shared.id(), still_running = shared.cluster.drain.in_flight(), ?grace,
            "drain grace period over; stopping with work still in flight");
    }
    // What is left (links, listeners) stops promptly on cancellation.
    let rest = grace.saturating_sub(started.elapsed()).max(Duration::from_secs(1));
    let stopped = shared.shutdown.finish(rest).await;
    let drain = &shared.cluster.drain;
    if !(finished && stopped) {
        drain.cut_short.store(true, Ordering::Relaxed);
    }
    !drain.cut_short.load(Ordering::Relaxed)
}
