//! One job's loop: sleep until its next tick, claim it, run it (with the
//! catch-up its policy asks for), release it; until the job set is replaced
//! or the node stops. A node stops claiming once it drains; a run in
//! progress finishes (the node waits for it up to its grace period) and is
//! released, or, if the node dies, the route releases it.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::claim::{Claims, Outcome};
use super::schedule::{from_ms, to_ms};
use super::spec::{CatchUp, JobFn, JobRun, JobSpec};
use super::status::{StatusBoard, Tally};
use crate::handler::Context;
use crate::shutdown::Shutdown;

/// Wall-clock time as the runner reads it. Production reads the system
/// clock; tests anchor it to tokio's clock so paused time drives it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Clock {
    System,
    #[cfg(test)]
    Anchored {
        wall: SystemTime,
        at: Instant,
    },
}

impl Clock {
    pub(crate) fn now(self) -> SystemTime {
        match self {
            Clock::System => SystemTime::now(),
            #[cfg(test)]
            Clock::Anchored { wall, at } => wall + at.elapsed(),
        }
    }
}

/// What every runner of a node shares.
#[derive(Clone)]
pub(crate) struct Env {
    pub(crate) claims: Arc<dyn Claims>,
    pub(crate) clock: Clock,
    pub(crate) ctx: Context,
    pub(crate) shutdown: Shutdown,
    /// Cancelled when the job set is replaced (reload) or the node stops.
    pub(crate) stop: CancellationToken,
    pub(crate) draining: Arc<dyn Fn() -> bool + Send + Sync>,
    pub(crate) board: StatusBoard,
}

/// Runs `spec` with `handler` until `env.stop` or shutdown.
pub(crate) async fn run(spec: JobSpec, handler: JobFn, env: Env) {
    let mut after = env.clock.now();
    loop {
        let Some(tick) = spec.schedule.next_after(after) else {
            tracing::info!(job = %spec.name, "the schedule has no more ticks; job ends");
            env.board.next(&spec.name, None);
            return;
        };
        env.board.next(&spec.name, Some(tick));
        let wait = tick.duration_since(env.clock.now()).unwrap_or(Duration::ZERO);
        tokio::select! {
            () = env.stop.cancelled() => return,
            () = env.shutdown.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
        if (env.draining)() {
            tracing::info!(job = %spec.name, "node draining; no more job ticks claimed here");
            return;
        }
        let tick_ms = to_ms(tick);
        match env.claims.claim(&spec.name, tick_ms).await {
            Outcome::Granted { previous } => {
                run_granted(&spec, &handler, &env, tick, previous).await;
                env.claims.release(&spec.name, tick_ms).await;
            }
            Outcome::Elsewhere(reason) => {
                tracing::debug!(job = %spec.name, tick_ms, %reason, "job tick not ours");
                env.board.count(&spec.name, Tally::Elsewhere, 1);
            }
            Outcome::Unclaimed(reason) => {
                tracing::warn!(job = %spec.name, tick_ms, %reason, "job tick could not be claimed; not run here");
                env.board.count(&spec.name, Tally::Unclaimed, 1);
            }
        }
        // A run longer than the interval skips the ticks it covered here;
        // the next claim reports them as missed if no node ran them.
        after = tick.max(env.clock.now());
    }
}

/// Runs a granted tick, after the missed ticks its policy catches up.
async fn run_granted(spec: &JobSpec, handler: &JobFn, env: &Env, tick: SystemTime, previous: Option<i64>) {
    let keep = match spec.catch_up {
        CatchUp::Skip => 0,
        CatchUp::Once => 1,
        CatchUp::All(max) => max,
    };
    let (catch_up, missed) = match previous {
        Some(prev) => spec.schedule.ticks_between(from_ms(prev), tick, keep),
        None => (Vec::new(), 0),
    };
    if missed > 0 {
        tracing::warn!(job = %spec.name, missed, catching_up = catch_up.len(), policy = ?spec.catch_up,
            last_run_ms = previous, "job ticks were missed: no node ran them");
        env.board.count(&spec.name, Tally::Missed, missed);
        env.board.missed(&spec.name, missed, previous.map(from_ms), tick);
    }
    for scheduled in catch_up {
        if env.shutdown.is_triggered() {
            return;
        }
        once(spec, handler, env, scheduled, true, 0).await;
    }
    once(spec, handler, env, tick, false, missed).await;
}

async fn once(
    spec: &JobSpec,
    handler: &JobFn,
    env: &Env,
    scheduled: SystemTime,
    catch_up: bool,
    missed: u64,
) {
    let run = JobRun {
        job: spec.name.clone(),
        scheduled,
        catch_up,
        missed,
        ctx: env.ctx.clone(),
        shutdown: env.shutdown.clone(),
    };
    let started = Instant::now();
    env.board.started(&spec.name, scheduled);
    // A panicking handler fails its run, not the job.
    let result = futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(handler(run))).await;
    let outcome = match result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(err),
        Err(_) => Err("the job handler panicked".to_owned()),
    };
    let elapsed = started.elapsed();
    match &outcome {
        Ok(()) => {
            tracing::debug!(job = %spec.name, catch_up, ?elapsed, "job ran");
            env.board.count(&spec.name, Tally::Ran, 1);
        }
        Err(err) => {
            tracing::error!(job = %spec.name, catch_up, ?elapsed, error = %err, "job failed");
            env.board.count(&spec.name, Tally::Failed, 1);
        }
    }
    env.board.finished(&spec.name, scheduled, elapsed, outcome.err());
}
