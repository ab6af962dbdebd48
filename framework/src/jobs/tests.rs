//! Runners in paused time, several sharing one ledger as the nodes of a
//! cluster share their route's: each tick runs once, a stopped runner's
//! ticks go to the others, missed ticks are reported and caught up as the
//! policy says, and an overrunning run consumes the ticks it covers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Schedule;
use super::claim::LocalClaims;
use super::ledger::Ledger;
use super::runner::{self, Clock, Env};
use super::spec::{CatchUp, JobFn, JobSpec};
use super::status::{StatusBoard, Tally};
use crate::handler::Context;
use crate::id::NodeId;
use crate::proto::NodeType;
use crate::shutdown::Shutdown;

const STEP: Duration = Duration::from_secs(10);

struct Cluster {
    ledger: Arc<Mutex<Ledger>>,
    clock: Clock,
    shutdown: Shutdown,
    /// (scheduled tick ms, catch_up) of every run, on any node.
    runs: Arc<Mutex<Vec<(u128, bool)>>>,
}

impl Cluster {
    fn new() -> Cluster {
        // Half a step past a tick, so the first tick is half a step away.
        let wall = UNIX_EPOCH + Duration::from_secs(1_000_000) + STEP / 2;
        Cluster {
            ledger: Arc::default(),
            clock: Clock::Anchored { wall, at: Instant::now() },
            shutdown: Shutdown::new(),
            runs: Arc::default(),
        }
    }

    /// Starts a runner of `spec` as node `port`; cancel the token to stop it.
    fn node(&self, port: u16, spec: &JobSpec, run_for: Duration) -> (CancellationToken, StatusBoard) {
        let stop = CancellationToken::new();
        let board = StatusBoard::new(|_, _, _| {});
        board.declare(std::slice::from_ref(spec));
        let runs = Arc::clone(&self.runs);
        let handler: JobFn = Arc::new(move |run| {
            let runs = Arc::clone(&runs);
            Box::pin(async move {
                let ms = run.scheduled.duration_since(UNIX_EPOCH).unwrap().as_millis();
                runs.lock().unwrap().push((ms, run.catch_up));
                tokio::time::sleep(run_for).await;
                Ok(())
            })
        });
        let me = NodeId::of("127.0.0.1", port);
        let env = Env {
            claims: Arc::new(LocalClaims { ledger: Arc::clone(&self.ledger), me: me.clone() }),
            clock: self.clock,
            ctx: Context::detached(me, NodeType::Service, crate::handler::AppState::new(), None, 0),
            shutdown: self.shutdown.clone(),
            stop: stop.clone(),
            draining: Arc::new(|| false),
            board: board.clone(),
        };
        self.shutdown.spawn(runner::run(spec.clone(), handler, env));
        (stop, board)
    }

    fn runs(&self) -> Vec<(u128, bool)> {
        self.runs.lock().unwrap().clone()
    }
}

fn every(catch_up: CatchUp) -> JobSpec {
    JobSpec::new("sweep", Schedule::every(STEP).unwrap(), "sweep").catch_up(catch_up)
}

fn distinct_ticks(runs: &[(u128, bool)]) -> usize {
    let mut ticks: Vec<u128> = runs.iter().map(|r| r.0).collect();
    ticks.sort_unstable();
    ticks.dedup();
    ticks.len()
}

#[tokio::test(start_paused = true)]
async fn three_nodes_run_each_tick_once_and_the_survivors_take_over() {
    let c = Cluster::new();
    let spec = every(CatchUp::Skip);
    let (a, board_a) = c.node(1, &spec, Duration::ZERO);
    let (_b, board_b) = c.node(2, &spec, Duration::ZERO);
    let (_c, board_c) = c.node(3, &spec, Duration::ZERO);
    // Ticks at 0.5, 1.5, … 5.5 steps: six of them.
    tokio::time::sleep(STEP * 6).await;
    let runs = c.runs();
    assert_eq!(runs.len(), 6, "{runs:?}");
    assert_eq!(distinct_ticks(&runs), 6, "no tick ran twice");
    let ran = |b: &StatusBoard| b.tally("sweep", Tally::Ran);
    assert_eq!(ran(&board_a) + ran(&board_b) + ran(&board_c), 6);
    let elsewhere = |b: &StatusBoard| b.tally("sweep", Tally::Elsewhere);
    assert_eq!(elsewhere(&board_a) + elsewhere(&board_b) + elsewhere(&board_c), 12);
    // Node 1 stops: the others carry on, still once per tick.
    a.cancel();
    tokio::time::sleep(STEP * 4).await;
    let runs = c.runs();
    assert_eq!((runs.len(), distinct_ticks(&runs)), (10, 10), "{runs:?}");
    c.shutdown.trigger();
}

#[tokio::test(start_paused = true)]
async fn missed_ticks_are_reported_and_caught_up_by_policy() {
    for (policy, catch_ups) in
        [(CatchUp::Skip, 0), (CatchUp::Once, 1), (CatchUp::All(3), 3), (CatchUp::All(10), 5)]
    {
        let c = Cluster::new();
        let spec = every(policy);
        let (a, _) = c.node(1, &spec, Duration::ZERO);
        tokio::time::sleep(STEP * 2).await;
        a.cancel();
        // Five ticks pass with no node alive.
        tokio::time::sleep(STEP * 5).await;
        let (_b, board) = c.node(2, &spec, Duration::ZERO);
        tokio::time::sleep(STEP).await;
        let runs = c.runs();
        let caught: Vec<_> = runs.iter().filter(|r| r.1).collect();
        assert_eq!(caught.len(), catch_ups, "{policy:?}: {runs:?}");
        assert_eq!(board.tally("sweep", Tally::Missed), 5, "{policy:?}");
        assert_eq!(runs.len(), 3 + catch_ups, "two before, catch-ups, the current tick: {runs:?}");
        // Catch-ups are the latest missed ticks, oldest first, before the current one.
        let latest: Vec<u128> = runs.iter().map(|r| r.0).collect();
        assert!(latest.windows(2).all(|w| w[0] < w[1]), "{latest:?}");
        c.shutdown.trigger();
    }
}

#[tokio::test(start_paused = true)]
async fn an_overrunning_run_consumes_the_ticks_it_covers_on_every_node() {
    let c = Cluster::new();
    let spec = every(CatchUp::Skip);
    // Each run lasts 2.5 steps: of ticks 0.5 … 9.5, one in three runs.
    let (_a, board_a) = c.node(1, &spec, STEP * 5 / 2);
    let (_b, board_b) = c.node(2, &spec, STEP * 5 / 2);
    tokio::time::sleep(STEP * 10).await;
    let runs = c.runs();
    assert_eq!(distinct_ticks(&runs), runs.len(), "no tick twice: {runs:?}");
    assert!((3..=4).contains(&runs.len()), "{runs:?}");
    let missed = board_a.tally("sweep", Tally::Missed) + board_b.tally("sweep", Tally::Missed);
    assert_eq!(missed, 0, "consumed ticks are not missed ones");
    c.shutdown.trigger();
}

#[tokio::test(start_paused = true)]
async fn a_failing_or_panicking_handler_fails_its_run_not_the_job() {
    let c = Cluster::new();
    let spec = every(CatchUp::Skip);
    let count = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&count);
    let handler: JobFn = Arc::new(move |_| {
        let n = counted.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            match n {
                0 => Err("feed unreachable".to_owned()),
                1 => panic!("bug"),
                _ => Ok(()),
            }
        })
    });
    let board = StatusBoard::new(|_, _, _| {});
    board.declare(std::slice::from_ref(&spec));
    let me = NodeId::of("127.0.0.1", 9);
    let env = Env {
        claims: Arc::new(LocalClaims { ledger: Arc::clone(&c.ledger), me: me.clone() }),
        clock: c.clock,
        ctx: Context::detached(me, NodeType::Service, crate::handler::AppState::new(), None, 0),
        shutdown: c.shutdown.clone(),
        stop: CancellationToken::new(),
        draining: Arc::new(|| false),
        board: board.clone(),
    };
    c.shutdown.spawn(runner::run(spec, handler, env));
    tokio::time::sleep(STEP * 3).await;
    assert_eq!(count.load(Ordering::SeqCst), 3);
    assert_eq!((board.tally("sweep", Tally::Failed), board.tally("sweep", Tally::Ran)), (2, 1));
    let snapshot = board.snapshot();
    assert_eq!(snapshot[0]["ticks"]["failed"], 2);
    let _ = SystemTime::now();
    c.shutdown.trigger();
}
