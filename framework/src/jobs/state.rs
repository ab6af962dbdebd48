//! A node's jobs: the handlers its code registered, the jobs declared in
//! code, the set running now (from code and config), the claim ledger a
//! route keeps, and the status board. Starting and replacing the set.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};

use tokio_util::sync::CancellationToken;

use super::claim::RouteClaims;
use super::ledger::Ledger;
use super::runner::{self, Clock, Env};
use super::spec::{JobHandlers, JobSpec};
use super::status::StatusBoard;
use crate::config::NodeConfig;
use crate::handler::Context;
use crate::node::NodeState;

/// A node's jobs; see the module docs.
pub(crate) struct JobsState {
    node: Weak<NodeState>,
    /// Routes: the ticks granted to the nodes linked here. Others: their
    /// own, when they list no route.
    pub(crate) ledger: Arc<Mutex<Ledger>>,
    handlers: JobHandlers,
    code: Vec<JobSpec>,
    current: Mutex<Option<(Vec<JobSpec>, CancellationToken)>>,
    pub(crate) board: StatusBoard,
}

impl JobsState {
    pub(crate) fn new(node: &Weak<NodeState>, handlers: JobHandlers, code: Vec<JobSpec>) -> JobsState {
        let weak = node.clone();
        let board = StatusBoard::new(move |job, tally, n| {
            if let Some(shared) = weak.upgrade() {
                shared.metrics.job_ticks(job, tally.label(), n);
            }
        });
        JobsState {
            node: node.clone(),
            ledger: Arc::default(),
            handlers,
            code,
            current: Mutex::new(None),
            board,
        }
    }

    /// The jobs `config` and the code declare together (config wins for a
    /// name in both), each naming a registered handler.
    ///
    /// # Errors
    /// Which job names which missing handler, or a config entry's problem.
    pub(crate) fn effective(&self, config: &NodeConfig) -> Result<Vec<JobSpec>, String> {
        effective(&self.handlers, &self.code, config)
    }

    /// Starts the job set of the node's config.
    pub(crate) fn start(&self, config: &NodeConfig) {
        match self.effective(config) {
            Ok(specs) => self.replace(specs),
            Err(err) => tracing::error!(error = %err, "jobs not started"),
        }
    }

    /// A reload brought `config`: applies its job set if it differs and is
    /// complete, else keeps the running one. Says what happened, if
    /// anything changed or was refused.
    pub(crate) fn reconfigure(&self, config: &NodeConfig) -> Option<String> {
        let specs = match self.effective(config) {
            Ok(specs) => specs,
            Err(err) => {
                let message = format!("jobs kept unchanged: {err}");
                tracing::warn!("{message}");
                return Some(message);
            }
        };
        let same = self.lock_current().as_ref().is_some_and(|(old, _)| *old == specs);
        if same {
            return None;
        }
        let message = format!("jobs replaced: now {}", names(&specs));
        tracing::info!("{message}");
        self.replace(specs);
        Some(message)
    }

    fn lock_current(&self) -> std::sync::MutexGuard<'_, Option<(Vec<JobSpec>, CancellationToken)>> {
        self.current.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Stops the running set (a run in progress finishes) and starts `specs`.
    fn replace(&self, specs: Vec<JobSpec>) {
        let Some(shared) = self.node.upgrade() else { return };
        let stop = shared.shutdown.token().child_token();
        if let Some((_, old)) = self.lock_current().replace((specs.clone(), stop.clone())) {
            old.cancel();
        }
        self.board.declare(&specs);
        if specs.is_empty() {
            return;
        }
        let node = Arc::downgrade(&shared);
        let env = Env {
            claims: Arc::new(RouteClaims { node: node.clone() }),
            clock: Clock::System,
            ctx: Context::new(Arc::clone(&shared) as Arc<dyn crate::handler::NodeApi>, None, 0),
            shutdown: shared.shutdown.clone(),
            stop,
            draining: Arc::new(move || node.upgrade().is_none_or(|s| s.cluster.drain.is_draining())),
            board: self.board.clone(),
        };
        tracing::info!(jobs = %names(&specs), "jobs started");
        for spec in specs {
            let Some(handler) = self.handlers.0.get(&spec.handler).cloned() else { continue };
            shared.shutdown.spawn(runner::run(spec, handler, env.clone()));
        }
    }
}

fn names(specs: &[JobSpec]) -> String {
    let all: Vec<String> = specs.iter().map(|s| format!("{} ({})", s.name, s.schedule.describe())).collect();
    if all.is_empty() { "none".to_owned() } else { all.join(", ") }
}

/// See [`JobsState::effective`].
pub(crate) fn effective(
    handlers: &JobHandlers,
    code: &[JobSpec],
    config: &NodeConfig,
) -> Result<Vec<JobSpec>, String> {
    let mut all: BTreeMap<String, JobSpec> = code.iter().map(|s| (s.name.clone(), s.clone())).collect();
    for (i, entry) in config.jobs.iter().enumerate() {
        let spec = entry.spec().map_err(|(field, reason)| format!("jobs[{i}].{field}: {reason}"))?;
        all.insert(spec.name.clone(), spec);
    }
    for spec in all.values() {
        if !handlers.0.contains_key(&spec.handler) {
            let known: Vec<&str> = handlers.0.keys().map(String::as_str).collect();
            return Err(format!(
                "job {:?} names job handler {:?}, which this node does not have (it has: {})",
                spec.name,
                spec.handler,
                if known.is_empty() { "none".to_owned() } else { known.join(", ") }
            ));
        }
    }
    Ok(all.into_values().collect())
}
