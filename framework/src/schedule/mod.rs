//! Scheduled jobs: run a job once at a given time, keyed so that it can be
//! replaced or cancelled.
//!
//! A [`Scheduler`] is a value tied to a [`Shutdown`], never a global: when
//! shutdown triggers, timers that have not fired are dropped and jobs
//! already running are waited for like any other tracked task. Timers live
//! in memory only. An application that needs its schedule to survive a
//! restart keeps the schedule in its own store and re-arms it when it
//! starts (the betting example re-arms every match's kickoff).
//!
//! Every timer is one tokio task sleeping until its deadline, so the
//! scheduler works with paused time in tests (`tokio::time::pause`,
//! `advance`) and costs nothing between deadlines.

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::shutdown::Shutdown;

/// Default bound on pending timers: far more than an application arms on
/// purpose, small enough that a bug arming timers in a loop is caught.
pub const DEFAULT_MAX_TIMERS: usize = 100_000;

/// Where delays too long for an `Instant` are clamped to: about 30 years.
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// Why a job was not scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// The scheduler already holds its maximum number of pending timers.
    #[error("too many pending timers (at most {0})")]
    Full(usize),
    /// Shutdown has been triggered; nothing new runs.
    #[error("the scheduler is shut down")]
    Stopped,
}

/// One pending timer: its generation tells a firing timer whether it is
/// still the one registered under its key (it may have been replaced).
struct Timer {
    generation: u64,
    cancel: CancellationToken,
}

struct Inner<K> {
    shutdown: Shutdown,
    timers: Mutex<HashMap<K, Timer>>,
    generation: AtomicU64,
    max_timers: usize,
}

impl<K> Inner<K> {
    fn timers(&self) -> MutexGuard<'_, HashMap<K, Timer>> {
        // A panic while holding this lock leaves the map consistent (every
        // operation is a single insert or remove), so a poisoned lock is safe to reuse.
        self.timers.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Runs jobs at given times, one pending job per key.
///
/// Scheduling a key that is already pending replaces its job. Cheap to
/// clone; clones share the timers.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// use std::time::Duration;
/// use espoir::{Scheduler, Shutdown};
///
/// let shutdown = Shutdown::new();
/// let scheduler = Scheduler::new(&shutdown);
/// let (tx, rx) = tokio::sync::oneshot::channel();
/// scheduler.after("kickoff:7", Duration::from_secs(60), move || async move {
///     let _ = tx.send("betting stopped");
/// }).unwrap();
/// assert_eq!(rx.await.unwrap(), "betting stopped");
/// # }
/// ```
pub struct Scheduler<K> {
    inner: Arc<Inner<K>>,
}

impl<K> Clone for Scheduler<K> {
    fn clone(&self) -> Self {
        Scheduler { inner: Arc::clone(&self.inner) }
    }
}

impl<K> fmt::Debug for Scheduler<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scheduler")
            .field("pending", &self.inner.timers().len())
            .field("max_timers", &self.inner.max_timers)
            .finish()
    }
}

impl<K> Scheduler<K>
where
    K: Hash + Eq + Clone + fmt::Debug + Send + 'static,
{
    /// A scheduler whose timers stop when `shutdown` triggers, holding at
    /// most [`DEFAULT_MAX_TIMERS`] pending timers.
    pub fn new(shutdown: &Shutdown) -> Self {
        Scheduler::with_capacity(shutdown, DEFAULT_MAX_TIMERS)
    }

    /// As [`Scheduler::new`], with a bound on pending timers.
    pub fn with_capacity(shutdown: &Shutdown, max_timers: usize) -> Self {
        Scheduler {
            inner: Arc::new(Inner {
                shutdown: shutdown.clone(),
                timers: Mutex::new(HashMap::new()),
                generation: AtomicU64::new(0),
                max_timers,
            }),
        }
    }

    /// Runs `job` at `when` (at once if `when` has passed), replacing any
    /// job pending under `key`.
    ///
    /// # Errors
    /// [`ScheduleError::Stopped`] after shutdown, [`ScheduleError::Full`]
    /// when a new key would exceed the bound.
    pub fn at<F, Fut>(&self, key: K, when: Instant, job: F) -> Result<(), ScheduleError>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let inner = &self.inner;
        if inner.shutdown.is_triggered() {
            return Err(ScheduleError::Stopped);
        }
        let generation = inner.generation.fetch_add(1, Ordering::Relaxed);
        let cancel = inner.shutdown.token().child_token();
        {
            let mut timers = inner.timers();
            if !timers.contains_key(&key) && timers.len() >= inner.max_timers {
                return Err(ScheduleError::Full(inner.max_timers));
            }
            if let Some(old) = timers.insert(key.clone(), Timer { generation, cancel: cancel.clone() }) {
                old.cancel.cancel();
            }
        }
        let weak = Arc::downgrade(inner);
        inner.shutdown.spawn(async move {
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep_until(when) => {}
            }
            // Fire only if still registered: a replacement or a cancel that
            // raced with the deadline wins.
            let Some(inner) = weak.upgrade() else { return };
            {
                let mut timers = inner.timers();
                match timers.get(&key) {
                    Some(timer) if timer.generation == generation => {
                        timers.remove(&key);
                    }
                    _ => return,
                }
            }
            drop(inner);
            tracing::debug!(?key, "scheduled job firing");
            job().await;
        });
        Ok(())
    }

    /// Runs `job` after `delay`; see [`Scheduler::at`].
    ///
    /// # Errors
    /// As [`Scheduler::at`].
    pub fn after<F, Fut>(&self, key: K, delay: Duration, job: F) -> Result<(), ScheduleError>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        // A delay past what an Instant can hold means "never, in practice":
        // clamp it instead of panicking on overflow.
        let now = Instant::now();
        let when = now.checked_add(delay).unwrap_or_else(|| now + FAR_FUTURE);
        self.at(key, when, job)
    }

    /// Runs `job` at a wall-clock time (a match's start time, say). The
    /// delay is measured against the system clock once, now; a time in the
    /// past runs the job at once.
    ///
    /// # Errors
    /// As [`Scheduler::at`].
    pub fn at_system_time<F, Fut>(&self, key: K, when: SystemTime, job: F) -> Result<(), ScheduleError>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let delay = when.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO);
        self.after(key, delay, job)
    }

    /// Cancels the job pending under `key`. True if there was one.
    pub fn cancel(&self, key: &K) -> bool {
        match self.inner.timers().remove(key) {
            Some(timer) => {
                timer.cancel.cancel();
                true
            }
            None => false,
        }
    }

    /// Whether a job is pending under `key`.
    pub fn is_pending(&self, key: &K) -> bool {
        self.inner.timers().contains_key(key)
    }

    /// How many jobs are pending.
    pub fn len(&self) -> usize {
        self.inner.timers().len()
    }

    /// True when no job is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
