//! Recurring jobs: `every(interval)` or cron schedules, declared in code
//! and in config, each tick run **once across the cluster** by one of the
//! nodes that declare the job. See `docs/handlers.md` (Jobs) and
//! `docs/operations.md` (Jobs) for the guarantee and how to observe it.
//!
//! * `schedule`: when ticks fall ([`Schedule`]); pure.
//! * `spec`: a job ([`JobSpec`]), its catch-up policy ([`CatchUp`]) and
//!   what its handler gets ([`JobRun`]).
//! * `ledger`: the claim table routes keep (a tick granted once, later
//!   ticks only, none while the previous one still runs); pure.
//! * `claim`: a node claiming ticks from a majority of its routes, and a
//!   route answering claims.
//! * `runner`: one job's loop (sleep, claim, run, release).
//! * `status`: what `/jobs` and the metrics show.
//! * `state`: a node's jobs, started and replaced on reload.
//!
//! Keyed one-shot timers in memory are [`Scheduler`](crate::Scheduler)
//! (`schedule/`); these jobs are built on the clock directly, because each
//! tick must be claimed before it runs.

mod claim;
mod ledger;
mod runner;
mod schedule;
mod spec;
mod state;
mod status;
#[cfg(test)]
mod tests;

pub(crate) use claim::{on_claim, peer_lost};
pub use schedule::{MIN_INTERVAL, Schedule, ScheduleSpecError};
pub(crate) use spec::JobHandlers;
pub use spec::{CatchUp, DEFAULT_CATCH_UP_MAX, JobFuture, JobResult, JobRun, JobSpec};
pub(crate) use state::{JobsState, effective};
