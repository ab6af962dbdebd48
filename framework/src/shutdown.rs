//! Graceful shutdown as a value: a cancellation token plus a task tracker.
//!
//! Every long-running piece of espoir takes a [`Shutdown`] (or a child of
//! one) instead of reaching for a global, so a test can run several nodes in
//! one process and stop each one on its own.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument as _;

/// Signals tasks to stop and waits for them, within a grace period.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
    tracker: TaskTracker,
}

impl Shutdown {
    /// A fresh, untriggered shutdown.
    pub fn new() -> Self {
        Shutdown::default()
    }

    /// A shutdown that triggers when this one does (or on its own), whose
    /// tasks are tracked separately: stopping a child does not stop the parent.
    pub fn child(&self) -> Self {
        Shutdown { token: self.token.child_token(), tracker: TaskTracker::new() }
    }

    /// A child for one component (a node) that can stop on its own, while
    /// [`Shutdown::finish`] on `self` still waits for the child's tasks: the
    /// wait is itself a task of `self`. `espoir up` gives each node one, so
    /// draining a node stops it without stopping the cluster.
    pub fn scope(&self) -> Self {
        let child = self.child();
        let scope = child.clone();
        self.spawn(async move {
            scope.cancelled().await;
            scope.tracker.close();
            scope.tracker.wait().await;
        });
        child
    }

    /// The cancellation token, for `select!` in loops.
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }

    /// Resolves once shutdown is triggered.
    pub async fn cancelled(&self) {
        self.token.cancelled().await;
    }

    /// True once shutdown is triggered.
    pub fn is_triggered(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Triggers shutdown without waiting.
    pub fn trigger(&self) {
        self.token.cancel();
    }

    /// Spawns a task that [`Shutdown::finish`] waits for. The task runs in
    /// the caller's current span (a node's tasks log in the node's span).
    pub fn spawn<F>(&self, task: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.tracker.spawn(task.in_current_span())
    }

    /// Triggers shutdown and waits up to `grace` for every tracked task.
    /// Returns false if some were still running when the grace period ended.
    pub async fn finish(&self, grace: Duration) -> bool {
        self.token.cancel();
        self.tracker.close();
        let done = tokio::time::timeout(grace, self.tracker.wait()).await.is_ok();
        if !done {
            tracing::warn!(
                still_running = self.tracker.len(),
                ?grace,
                "graceful shutdown did not complete within the grace period"
            );
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn finish_waits_for_tasks_that_honour_cancellation() {
        let sd = Shutdown::new();
        let token = sd.token().clone();
        let task = sd.spawn(async move {
            token.cancelled().await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            7
        });
        assert!(sd.finish(Duration::from_secs(1)).await);
        assert_eq!(task.await.unwrap(), 7);
    }

    #[tokio::test(start_paused = true)]
    async fn finish_gives_up_after_the_grace_period() {
        let sd = Shutdown::new();
        sd.spawn(tokio::time::sleep(Duration::from_secs(3600)));
        assert!(!sd.finish(Duration::from_secs(2)).await);
    }

    #[tokio::test(start_paused = true)]
    async fn a_scope_stops_alone_and_its_parent_waits_for_its_tasks() {
        let parent = Shutdown::new();
        let scope = parent.scope();
        let token = scope.token().clone();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&done);
        scope.spawn(async move {
            token.cancelled().await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        let sibling = parent.scope();
        assert!(scope.finish(Duration::from_secs(1)).await);
        assert!(!sibling.is_triggered() && !parent.is_triggered(), "a scope stops alone");
        let again = parent.scope();
        let token = again.token().clone();
        let late = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&late);
        again.spawn(async move {
            token.cancelled().await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        assert!(parent.finish(Duration::from_secs(1)).await);
        assert!(done.load(std::sync::atomic::Ordering::SeqCst));
        assert!(late.load(std::sync::atomic::Ordering::SeqCst), "the parent waited for the scope's task");
    }

    #[tokio::test]
    async fn a_child_stops_with_its_parent_but_not_the_reverse() {
        let parent = Shutdown::new();
        let child = parent.child();
        child.trigger();
        assert!(!parent.is_triggered());
        let child2 = parent.child();
        parent.trigger();
        assert!(child2.is_triggered());
    }
}
