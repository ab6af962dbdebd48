//! What a job is: a name, a schedule, the handler it runs and what it does
//! about ticks nobody ran. And what a handler gets when it runs.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use super::schedule::Schedule;
use crate::handler::Context;
use crate::shutdown::Shutdown;

/// Default bound of [`CatchUp::All`]: runs for missed ticks at one time.
pub const DEFAULT_CATCH_UP_MAX: usize = 10;

/// What a job does about ticks that no node ran (no node of its type was
/// alive, or none could reach a route). They are always reported (log,
/// the `espoir_job_ticks_total{outcome="missed"}` metric, `/jobs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CatchUp {
    /// Run none of them; the next tick runs as usual. The default, as with
    /// cron: a report every minute should not run sixty times after an hour
    /// of outage.
    #[default]
    Skip,
    /// Run once for all of them (for the latest), then the current tick:
    /// APScheduler's `coalesce`.
    Once,
    /// Run once per missed tick, oldest first, at most this many (the
    /// latest ones; older ones are reported as skipped), then the current
    /// tick.
    All(usize),
}

/// A job handler's outcome: `Err` is logged and counted as failed.
pub type JobResult = Result<(), String>;

/// The future a job handler returns.
pub type JobFuture = Pin<Box<dyn Future<Output = JobResult> + Send>>;

/// A job handler: what runs at a tick. Registered by name on the node
/// ([`NodeBuilder::job_handler`](crate::NodeBuilder::job_handler)).
pub(crate) type JobFn = Arc<dyn Fn(JobRun) -> JobFuture + Send + Sync>;

/// Job handlers by name.
#[derive(Clone, Default)]
pub(crate) struct JobHandlers(pub(crate) BTreeMap<String, JobFn>);

impl fmt::Debug for JobHandlers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// A recurring job: declared in code ([`NodeBuilder::job`](crate::NodeBuilder::job))
/// or in the node's config (`"jobs": [...]`, which wins for a name declared
/// in both).
#[derive(Debug, Clone, PartialEq)]
pub struct JobSpec {
    /// The job's name, unique in the cluster: nodes that declare the same
    /// name share its ticks (each tick runs on one of them).
    pub name: String,
    /// When it runs.
    pub schedule: Schedule,
    /// The name of the job handler it runs.
    pub handler: String,
    /// What it does about missed ticks.
    pub catch_up: CatchUp,
}

impl JobSpec {
    /// Job `name` running handler `handler` on `schedule`, skipping missed
    /// ticks.
    pub fn new(name: impl Into<String>, schedule: Schedule, handler: impl Into<String>) -> JobSpec {
        JobSpec { name: name.into(), schedule, handler: handler.into(), catch_up: CatchUp::Skip }
    }

    /// With a catch-up policy.
    #[must_use]
    pub fn catch_up(mut self, policy: CatchUp) -> JobSpec {
        self.catch_up = policy;
        self
    }
}

/// One run of a job, handed to its handler.
#[derive(Debug, Clone)]
pub struct JobRun {
    /// The job's name.
    pub job: String,
    /// The tick this run is for (its scheduled time, not when it started).
    pub scheduled: SystemTime,
    /// True for a run that catches up a missed tick.
    pub catch_up: bool,
    /// On the current tick's run: ticks before it that nobody ran.
    pub missed: u64,
    /// The node, as handlers see it: push, broadcast, call other nodes.
    pub ctx: Context,
    /// The node's shutdown: a long run should stop when it triggers (the
    /// node waits for it up to its grace period).
    pub shutdown: Shutdown,
}
