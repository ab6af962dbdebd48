//! Bytes of pushes waiting to be written to one client
//! (`websocket.limits.send_queue_bytes`), and to all clients of a proxy.
//!
//! `websocket.send_queue` bounds the frames queued per client; frames can
//! be up to `websocket.max_frame` long, so that alone would let one slow
//! client hold `send_queue × max_frame` bytes (256 MiB by default). The
//! budget bounds the bytes too: a push that would pass it disconnects the
//! client, as a full frame queue does.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// One connection's queued bytes, shared by the session table (which
/// queues pushes) and the connection task (which writes them).
#[derive(Debug)]
pub(crate) struct SendBudget {
    limit: usize,
    queued: AtomicUsize,
    /// The proxy's total over all connections (the
    /// `espoir_client_buffered_bytes` gauge).
    total: Arc<AtomicUsize>,
}

impl SendBudget {
    pub(crate) fn new(limit: usize, total: Arc<AtomicUsize>) -> SendBudget {
        SendBudget { limit, queued: AtomicUsize::new(0), total }
    }

    /// Reserves `len` bytes for a push; false if they do not fit.
    pub(crate) fn reserve(&self, len: usize) -> bool {
        let fits = self
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
                queued.checked_add(len).filter(|&after| after <= self.limit)
            })
            .is_ok();
        if fits {
            self.total.fetch_add(len, Ordering::Relaxed);
        }
        fits
    }

    /// Gives back `len` reserved bytes: the push was written, or dropped.
    pub(crate) fn release(&self, len: usize) {
        // Never more than was reserved: a release follows its reserve.
        let released = self
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| Some(queued.saturating_sub(len)))
            .map_or(0, |before| before.min(len));
        self.total.fetch_sub(released, Ordering::Relaxed);
    }

    /// Bytes queued now.
    #[cfg(test)]
    pub(crate) fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }
}

impl Drop for SendBudget {
    /// Pushes still queued when the connection ends are dropped with the
    /// queue: take them off the proxy's total.
    fn drop(&mut self) {
        self.total.fetch_sub(*self.queued.get_mut(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_past_the_limit_do_not_fit_and_the_total_follows() {
        let total = Arc::new(AtomicUsize::new(0));
        let a = SendBudget::new(100, Arc::clone(&total));
        let b = SendBudget::new(100, Arc::clone(&total));
        assert!(a.reserve(60));
        assert!(!a.reserve(41), "60 + 41 passes 100");
        assert!(a.reserve(40));
        assert!(b.reserve(100));
        assert_eq!(total.load(Ordering::Relaxed), 200);
        a.release(60);
        assert_eq!((a.queued(), total.load(Ordering::Relaxed)), (40, 140));
        drop(b);
        assert_eq!(total.load(Ordering::Relaxed), 40, "a closed connection's queue leaves the total");
        a.release(1000);
        assert_eq!(total.load(Ordering::Relaxed), 0, "never releases more than was reserved");
    }
}
