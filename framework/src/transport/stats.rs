//! Counters the transport keeps; the admin endpoint exports them.

use std::sync::atomic::{AtomicU64, Ordering};

/// Transport counters of one node. Cheap to bump from any task.
#[derive(Debug, Default)]
pub struct TransportStats {
    /// Handshakes refused because the peer could not prove the token.
    pub auth_failures: AtomicU64,
    /// Handshakes that failed for another reason (version, malformed, timeout).
    pub handshake_failures: AtomicU64,
    /// Inbound connections refused because the connection cap was reached.
    pub connections_refused: AtomicU64,
    /// Links established (both directions).
    pub links_established: AtomicU64,
    /// Links closed because the peer sent a frame that broke the protocol
    /// (bad length, failed authentication tag, undecodable envelope).
    pub protocol_errors: AtomicU64,
    /// Links declared dead after missing heartbeats.
    pub heartbeat_timeouts: AtomicU64,
    /// Outbound reconnect attempts after the first.
    pub reconnects: AtomicU64,
    /// Frames dropped because a link's send queue was full.
    pub queue_drops: AtomicU64,
    /// Responses that arrived after their call's deadline (or matched nothing).
    pub late_responses: AtomicU64,
    /// Messages dropped because a peer sent them in another node's name
    /// (see `transport/origin.rs`).
    pub forged_sources: AtomicU64,
    /// Calls that failed with a timeout.
    pub call_timeouts: AtomicU64,
    /// Frames written, and write syscalls used for them (coalescing ratio).
    pub frames_written: AtomicU64,
    /// Write calls issued by link writers.
    pub writes: AtomicU64,
}

impl TransportStats {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
