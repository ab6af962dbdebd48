use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;
use tokio::time::advance;

use super::*;

/// Lets spawned timer tasks observe an `advance`.
async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

fn sender_job(
    tx: &mpsc::UnboundedSender<&'static str>,
    what: &'static str,
) -> impl FnOnce() -> std::future::Ready<()> + Send + 'static {
    let tx = tx.clone();
    move || {
        let _ = tx.send(what);
        std::future::ready(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_job_runs_at_its_deadline_and_not_before() {
    let shutdown = Shutdown::new();
    let scheduler = Scheduler::new(&shutdown);
    let (tx, mut rx) = mpsc::unbounded_channel();
    scheduler.after(1, Duration::from_secs(60), sender_job(&tx, "fired")).unwrap();
    assert!(scheduler.is_pending(&1));

    advance(Duration::from_secs(59)).await;
    settle().await;
    assert!(rx.try_recv().is_err(), "fired early");

    advance(Duration::from_secs(2)).await;
    settle().await;
    assert_eq!(rx.try_recv(), Ok("fired"));
    assert!(scheduler.is_empty(), "a fired timer is forgotten");
}

#[tokio::test(start_paused = true)]
async fn scheduling_a_pending_key_replaces_its_job() {
    let shutdown = Shutdown::new();
    let scheduler = Scheduler::new(&shutdown);
    let (tx, mut rx) = mpsc::unbounded_channel();
    scheduler.after("k", Duration::from_secs(10), sender_job(&tx, "old")).unwrap();
    scheduler.after("k", Duration::from_secs(20), sender_job(&tx, "new")).unwrap();
    assert_eq!(scheduler.len(), 1);

    advance(Duration::from_secs(15)).await;
    settle().await;
    assert!(rx.try_recv().is_err(), "the replaced job must not run");
    advance(Duration::from_secs(10)).await;
    settle().await;
    assert_eq!(rx.try_recv(), Ok("new"));
    assert!(rx.try_recv().is_err());
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_job_never_runs() {
    let shutdown = Shutdown::new();
    let scheduler = Scheduler::new(&shutdown);
    let (tx, mut rx) = mpsc::unbounded_channel();
    scheduler.after(7u64, Duration::from_secs(5), sender_job(&tx, "x")).unwrap();
    assert!(scheduler.cancel(&7));
    assert!(!scheduler.cancel(&7), "nothing left to cancel");
    advance(Duration::from_secs(60)).await;
    settle().await;
    assert!(rx.try_recv().is_err());
}

#[tokio::test(start_paused = true)]
async fn a_deadline_in_the_past_runs_at_once() {
    let shutdown = Shutdown::new();
    let scheduler = Scheduler::new(&shutdown);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let past = SystemTime::now() - Duration::from_secs(3600);
    scheduler.at_system_time("late", past, sender_job(&tx, "late")).unwrap();
    settle().await;
    assert_eq!(rx.try_recv(), Ok("late"));
}

#[tokio::test(start_paused = true)]
async fn wall_clock_deadlines_become_delays() {
    let shutdown = Shutdown::new();
    let scheduler = Scheduler::new(&shutdown);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let when = SystemTime::now() + Duration::from_secs(120);
    scheduler.at_system_time("kickoff", when, sender_job(&tx, "kickoff")).unwrap();
    advance(Duration::from_secs(100)).await;
    settle().await;
    assert!(rx.try_recv().is_err());
    advance(Duration::from_secs(25)).await;
    settle().await;
    assert_eq!(rx.try_recv(), Ok("kickoff"));
}

#[tokio::test(start_paused = true)]
async fn shutdown_drops_pending_timers_and_refuses_new_ones() {
    let shutdown = Shutdown::new();
    let scheduler = Scheduler::new(&shutdown);
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&runs);
    scheduler
        .after(1, Duration::from_secs(5), move || async move {
            counted.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    assert!(shutdown.finish(Duration::from_secs(1)).await, "timer tasks end on shutdown");
    advance(Duration::from_secs(60)).await;
    settle().await;
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    let refused = scheduler.after(2, Duration::ZERO, || async {});
    assert_eq!(refused, Err(ScheduleError::Stopped));
}

#[tokio::test(start_paused = true)]
async fn shutdown_waits_for_a_running_job() {
    let shutdown = Shutdown::new();
    let scheduler = Scheduler::new(&shutdown);
    let done = Arc::new(AtomicUsize::new(0));
    let flag = Arc::clone(&done);
    scheduler
        .after(1, Duration::ZERO, move || async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            flag.store(1, Ordering::SeqCst);
        })
        .unwrap();
    settle().await;
    assert!(shutdown.finish(Duration::from_secs(5)).await);
    assert_eq!(done.load(Ordering::SeqCst), 1, "the running job completed before finish returned");
}

#[tokio::test(start_paused = true)]
async fn the_number_of_pending_timers_is_bounded() {
    let shutdown = Shutdown::new();
    let scheduler = Scheduler::with_capacity(&shutdown, 2);
    scheduler.after(1, Duration::from_secs(5), || async {}).unwrap();
    scheduler.after(2, Duration::from_secs(5), || async {}).unwrap();
    assert_eq!(scheduler.after(3, Duration::from_secs(5), || async {}), Err(ScheduleError::Full(2)));
    // Replacing an existing key is always allowed.
    scheduler.after(2, Duration::from_secs(9), || async {}).unwrap();
    assert_eq!(scheduler.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn an_absurdly_distant_deadline_is_clamped_not_a_panic() {
    let shutdown = Shutdown::new();
    let scheduler = Scheduler::new(&shutdown);
    scheduler.after(1, Duration::from_secs(u64::MAX), || async {}).unwrap();
    let far = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::MAX / 4);
    scheduler.at_system_time(2, far, || async {}).unwrap();
    assert_eq!(scheduler.len(), 2);
}
