//! Node-wide running totals for the operations console's JSON snapshot
//! (`GET /console/api/snapshot`): what the labelled Prometheus families
//! count, summed over their labels, plus a fixed-bucket histogram of
//! handler times. Plain relaxed atomics, bumped beside the families; the
//! console turns differences between two snapshots into rates.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

/// Upper bounds of the handler-time buckets, in microseconds: 0.5 ms
/// doubling to ~16 s, the same bounds as `espoir_handler_duration_seconds`.
/// Slower runs land in a last, unbounded bucket.
pub(crate) const HANDLER_BUCKETS_US: [u64; 16] = [
    500, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 512_000, 1_024_000, 2_048_000,
    4_096_000, 8_192_000, 16_384_000,
];

/// The running totals of one node.
#[derive(Debug, Default)]
pub(crate) struct Totals {
    received: [AtomicU64; 2],
    sent: [AtomicU64; 2],
    errors: AtomicU64,
    handled: AtomicU64,
    handler_micros: AtomicU64,
    handler_buckets: [AtomicU64; HANDLER_BUCKETS_US.len() + 1],
}

/// The totals at one moment, as the console reads them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct TotalsSnapshot {
    /// Messages received from clients.
    pub(crate) client_received: u64,
    /// Messages sent to clients (replies and pushes).
    pub(crate) client_sent: u64,
    /// Messages received on RPC links.
    pub(crate) rpc_received: u64,
    /// Messages sent on RPC links.
    pub(crate) rpc_sent: u64,
    /// Requests that ended in an error status.
    pub(crate) errors: u64,
    /// Local handler runs.
    pub(crate) handled: u64,
    /// Their total time, in microseconds.
    pub(crate) handler_micros: u64,
    /// Runs per bucket of [`HANDLER_BUCKETS_US`] (and one past the last).
    pub(crate) handler_buckets: Vec<u64>,
    /// The buckets' upper bounds, in microseconds.
    pub(crate) handler_bounds_us: &'static [u64],
}

/// Index of a side in the totals' pairs: clients, then RPC links.
fn side(client: bool) -> usize {
    usize::from(!client)
}

impl Totals {
    /// A message came in, from a client (`client`) or a link.
    pub(crate) fn received(&self, client: bool) {
        self.received[side(client)].fetch_add(1, Ordering::Relaxed);
    }

    /// A message went out, to a client (`client`) or on a link.
    pub(crate) fn sent(&self, client: bool) {
        self.sent[side(client)].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn handled(&self, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.handled.fetch_add(1, Ordering::Relaxed);
        self.handler_micros.fetch_add(micros, Ordering::Relaxed);
        let bucket = HANDLER_BUCKETS_US.partition_point(|&bound| bound < micros);
        self.handler_buckets[bucket].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> TotalsSnapshot {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        TotalsSnapshot {
            client_received: get(&self.received[0]),
            client_sent: get(&self.sent[0]),
            rpc_received: get(&self.received[1]),
            rpc_sent: get(&self.sent[1]),
            errors: get(&self.errors),
            handled: get(&self.handled),
            handler_micros: get(&self.handler_micros),
            handler_buckets: self.handler_buckets.iter().map(get).collect(),
            handler_bounds_us: &HANDLER_BUCKETS_US,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_sum_the_sides_and_bucket_handler_times() {
        let t = Totals::default();
        t.received(true);
        t.received(false);
        t.received(false);
        t.sent(true);
        t.error();
        t.handled(Duration::from_micros(500));
        t.handled(Duration::from_millis(3));
        t.handled(Duration::from_secs(60));
        let s = t.snapshot();
        assert_eq!((s.client_received, s.rpc_received, s.client_sent, s.rpc_sent), (1, 2, 1, 0));
        assert_eq!((s.errors, s.handled), (1, 3));
        assert_eq!(s.handler_micros, 500 + 3_000 + 60_000_000);
        // 0.5 ms is at most the first bound; 3 ms falls under 4 ms; a
        // minute is past the last bound.
        assert_eq!(s.handler_buckets[0], 1);
        assert_eq!(s.handler_buckets[3], 1);
        assert_eq!(s.handler_buckets[HANDLER_BUCKETS_US.len()], 1);
        assert_eq!(s.handler_buckets.iter().sum::<u64>(), 3);
    }
}
