//! What a node reports of its jobs (`GET /jobs`, metrics): per job, its
//! schedule, next tick, last run and counts of what became of its ticks.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::schedule::to_ms;
use super::spec::JobSpec;

/// What became of ticks (the `outcome` label of `espoir_job_ticks_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tally {
    /// Run here, successfully.
    Ran,
    /// Run here; the handler failed.
    Failed,
    /// Claimed by another node (or consumed by an overrunning run).
    Elsewhere,
    /// Not enough routes answered the claim.
    Unclaimed,
    /// Found, on a granted claim, to have been run by no node.
    Missed,
}

impl Tally {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Tally::Ran => "ran",
            Tally::Failed => "failed",
            Tally::Elsewhere => "elsewhere",
            Tally::Unclaimed => "unclaimed",
            Tally::Missed => "missed",
        }
    }
}

#[derive(Debug, Default)]
struct JobStatus {
    schedule: String,
    handler: String,
    catch_up: String,
    next: Option<SystemTime>,
    running: Option<SystemTime>,
    last: Option<(SystemTime, Duration, Option<String>)>,
    last_missed: Option<(u64, Option<SystemTime>, SystemTime)>,
    counts: BTreeMap<&'static str, u64>,
}

type Sink = Arc<dyn Fn(&str, Tally, u64) + Send + Sync>;

/// The node's jobs as `/jobs` shows them. Cheap to clone.
#[derive(Clone)]
pub(crate) struct StatusBoard {
    jobs: Arc<Mutex<BTreeMap<String, JobStatus>>>,
    sink: Sink,
}

impl StatusBoard {
    /// A board that also reports every count to `sink` (the metrics).
    pub(crate) fn new(sink: impl Fn(&str, Tally, u64) + Send + Sync + 'static) -> StatusBoard {
        StatusBoard { jobs: Arc::default(), sink: Arc::new(sink) }
    }

    fn with(&self, job: &str, f: impl FnOnce(&mut JobStatus)) {
        let mut jobs = self.jobs.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(status) = jobs.get_mut(job) {
            f(status);
        }
    }

    /// The job set is now `specs`: their counts carry over by name.
    pub(crate) fn declare(&self, specs: &[JobSpec]) {
        let mut jobs = self.jobs.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut old = std::mem::take(&mut *jobs);
        for spec in specs {
            let mut status = old.remove(&spec.name).unwrap_or_default();
            status.schedule = spec.schedule.describe();
            status.handler.clone_from(&spec.handler);
            status.catch_up = format!("{:?}", spec.catch_up).to_lowercase();
            status.next = None;
            jobs.insert(spec.name.clone(), status);
        }
    }

    pub(crate) fn next(&self, job: &str, at: Option<SystemTime>) {
        self.with(job, |s| s.next = at);
    }

    pub(crate) fn started(&self, job: &str, scheduled: SystemTime) {
        self.with(job, |s| s.running = Some(scheduled));
    }

    pub(crate) fn finished(&self, job: &str, scheduled: SystemTime, took: Duration, error: Option<String>) {
        self.with(job, |s| {
            s.running = None;
            s.last = Some((scheduled, took, error));
        });
    }

    pub(crate) fn missed(&self, job: &str, count: u64, since: Option<SystemTime>, found_at: SystemTime) {
        self.with(job, |s| s.last_missed = Some((count, since, found_at)));
    }

    pub(crate) fn count(&self, job: &str, tally: Tally, n: u64) {
        self.with(job, |s| *s.counts.entry(tally.label()).or_default() += n);
        (self.sink)(job, tally, n);
    }

    /// A job's count of `tally` (tests).
    #[cfg(test)]
    pub(crate) fn tally(&self, job: &str, tally: Tally) -> u64 {
        let jobs = self.jobs.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        jobs.get(job).and_then(|s| s.counts.get(tally.label()).copied()).unwrap_or(0)
    }

    /// Every job, as JSON.
    pub(crate) fn snapshot(&self) -> Vec<Value> {
        let jobs = self.jobs.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        jobs.iter()
            .map(|(name, s)| {
                json!({
                    "name": name,
                    "schedule": s.schedule,
                    "handler": s.handler,
                    "catch_up": s.catch_up,
                    "next_tick_ms": s.next.map(to_ms),
                    "running_tick_ms": s.running.map(to_ms),
                    "last_run": s.last.as_ref().map(|(tick, took, err)| json!({
                        "tick_ms": to_ms(*tick), "took_ms": took.as_millis() as u64, "error": err,
                    })),
                    "last_missed": s.last_missed.as_ref().map(|(count, since, at)| json!({
                        "count": count, "after_tick_ms": since.map(to_ms), "found_at_tick_ms": to_ms(*at),
                    })),
                    "ticks": s.counts,
                })
            })
            .collect()
    }
}
