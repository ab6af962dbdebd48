//! Order ids unique across service nodes: the seed's `work_id` idea.
//!
//! ```text
//!  63       22 21        10 9           0
//!  ┌──────────┬────────────┬─────────────┐
//!  │ ms since │ sequence   │ worker id   │
//!  │ 2024 (41)│ in ms (12) │ (10)        │
//!  └──────────┴────────────┴─────────────┘
//! ```
//!
//! Each service node has its own worker id (`app.betting.worker_id`), so two
//! nodes never make the same id. Within a node the time-and-sequence part
//! only grows: when 4096 ids are taken in one millisecond, or the clock
//! steps back, ids borrow from the next milliseconds instead of repeating.
//! On start the generator resumes after the highest id in the store, so a
//! restart never repeats an id either. Ids are sent to clients as decimal
//! strings, since they exceed the 2^53 that JavaScript numbers hold exactly.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::BetError;

/// Bits of the worker id.
const WORKER_BITS: u32 = 10;
/// Largest worker id.
pub const MAX_WORKER_ID: u16 = (1 << WORKER_BITS) - 1;
/// Bits of the per-millisecond sequence.
const SEQUENCE_BITS: u32 = 12;
/// 2024-01-01T00:00:00Z in Unix milliseconds.
const EPOCH_MS: u64 = 1_704_067_200_000;

/// Makes order ids for one worker.
#[derive(Debug)]
pub struct OrderIds {
    worker: u64,
    /// Time-and-sequence part of the last id handed out.
    last: AtomicU64,
}

impl OrderIds {
    /// A generator for `worker` that will only hand out ids above `after`
    /// (the highest id already stored, if any).
    ///
    /// # Errors
    /// [`BetError::Invalid`] when `worker` exceeds [`MAX_WORKER_ID`].
    pub fn new(worker: u16, after: Option<u64>) -> Result<OrderIds, BetError> {
        if worker > MAX_WORKER_ID {
            return Err(BetError::invalid("worker_id", format!("at most {MAX_WORKER_ID}")));
        }
        let last = after.map_or(0, |id| id >> WORKER_BITS);
        Ok(OrderIds { worker: u64::from(worker), last: AtomicU64::new(last) })
    }

    /// The worker id.
    pub fn worker(&self) -> u16 {
        self.worker as u16 // at most MAX_WORKER_ID by construction
    }

    /// The next id.
    pub fn next(&self) -> u64 {
        let now = now_ms().saturating_sub(EPOCH_MS) << SEQUENCE_BITS;
        let mut current = self.last.load(Ordering::Relaxed);
        loop {
            let next = now.max(current + 1);
            match self.last.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return (next << WORKER_BITS) | self.worker,
                Err(seen) => current = seen,
            }
        }
    }

    /// The worker id an order id was made by.
    pub fn worker_of(id: u64) -> u16 {
        (id & u64::from(MAX_WORKER_ID)) as u16
    }
}

/// Unix time in milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::Arc;

    use super::*;

    #[test]
    fn ids_of_one_worker_strictly_increase_and_carry_the_worker() {
        let ids = OrderIds::new(37, None).unwrap();
        let mut last = 0;
        for _ in 0..20_000 {
            let id = ids.next();
            assert!(id > last);
            assert_eq!(OrderIds::worker_of(id), 37);
            last = id;
        }
    }

    #[test]
    fn two_workers_running_at_once_never_collide() {
        let a = Arc::new(OrderIds::new(1, None).unwrap());
        let b = Arc::new(OrderIds::new(2, None).unwrap());
        let spawn = |ids: Arc<OrderIds>| {
            std::thread::spawn(move || (0..50_000).map(|_| ids.next()).collect::<Vec<_>>())
        };
        let (ta, tb, tc) = (spawn(Arc::clone(&a)), spawn(Arc::clone(&b)), spawn(Arc::clone(&a)));
        let mut all = HashSet::new();
        for id in ta.join().unwrap().into_iter().chain(tb.join().unwrap()).chain(tc.join().unwrap()) {
            assert!(all.insert(id), "duplicate id {id}");
        }
        assert_eq!(all.len(), 150_000);
    }

    #[test]
    fn a_restarted_generator_resumes_after_the_stored_ids() {
        // An id far in the future (as if the clock had stepped back since).
        let future = ((now_ms() - EPOCH_MS + 3_600_000) << SEQUENCE_BITS << WORKER_BITS) | 5;
        let ids = OrderIds::new(5, Some(future)).unwrap();
        assert!(ids.next() > future);
    }

    #[test]
    fn worker_ids_are_bounded() {
        assert!(OrderIds::new(MAX_WORKER_ID, None).is_ok());
        assert!(OrderIds::new(MAX_WORKER_ID + 1, None).is_err());
    }
}
