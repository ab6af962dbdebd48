//! Declaring recurring jobs on a node being built (see `jobs/`).

use std::future::Future;
use std::sync::Arc;

use super::NodeBuilder;
use crate::jobs::{JobResult, JobRun, JobSpec};

impl NodeBuilder {
    /// Registers job handler `name`: what a job naming it runs at each tick
    /// it is granted. Jobs name handlers in code ([`NodeBuilder::job`]) and
    /// in config (`"jobs": [{"handler": name, ...}]`). A later registration
    /// of a name replaces the earlier one.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use espoir::{JobSpec, Node, NodeConfig, Schedule};
    /// # fn build(config: NodeConfig) -> Result<(), Box<dyn std::error::Error>> {
    /// let node = Node::builder(config)
    ///     .job_handler("cleanup", |run| async move {
    ///         tracing::info!(tick = ?run.scheduled, missed = run.missed, "cleaning up");
    ///         Ok(())
    ///     })
    ///     .job(JobSpec::new("cleanup", Schedule::every(Duration::from_secs(60))?, "cleanup"));
    /// # let _ = node; Ok(()) }
    /// ```
    pub fn job_handler<F, Fut>(mut self, name: impl Into<String>, handler: F) -> Self
    where
        F: Fn(JobRun) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = JobResult> + Send + 'static,
    {
        let handler = Arc::new(move |run| Box::pin(handler(run)) as crate::jobs::JobFuture);
        self.job_handlers.0.insert(name.into(), handler);
        self
    }

    /// Declares a recurring job. A job of the same name in the node's
    /// config replaces this one (operators retune schedules without a
    /// build). The node refuses to start when a job names a handler it does
    /// not have.
    pub fn job(mut self, spec: JobSpec) -> Self {
        self.jobs.retain(|s| s.name != spec.name);
        self.jobs.push(spec);
        self
    }
}
