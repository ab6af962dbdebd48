//! Applying config changes by themselves (`watch: true`, on by default
//! under `espoir up`).
//!
//! The watcher polls the node's [`ConfigSource`](super::apply::ConfigSource)
//! rather than subscribing to file-system events. Polling a small file
//! twice a second costs nothing, and it sees every way a file changes:
//! editors that save by renaming a temporary file, Kubernetes ConfigMaps
//! that swap a symlink, network mounts that send no events, and non-file
//! sources (MongoDB) alike. Event watchers miss some of these.
//!
//! Debounce: a change is applied once two polls in a row read the same
//! thing, so a file caught half-saved is never applied, and an invalid edit
//! is reported once, not on every poll. Applying goes through the one
//! reload path ([`super::apply::reload`]).

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::apply;
use crate::config::NodeConfig;
use crate::node::NodeState;
use crate::shutdown::Shutdown;

/// How often the source is read.
pub(crate) const WATCH_INTERVAL: Duration = Duration::from_millis(500);

/// What one poll read: a config, or the error's text.
type Reading = Result<NodeConfig, String>;

/// What the watcher should do after a poll.
#[derive(Debug, PartialEq)]
enum Step {
    /// Nothing new, or not yet stable.
    Wait,
    /// A stable, new, valid reading: reload.
    Apply,
    /// A stable, new, invalid reading: report it once.
    Report(String),
}

/// The debounce rule, pure: act on a reading once it was read twice in a
/// row and differs from the last one acted on.
#[derive(Debug)]
struct Debounce {
    previous: Option<Reading>,
    acted_on: Option<Reading>,
}

impl Debounce {
    fn new(running: NodeConfig) -> Self {
        Debounce { previous: None, acted_on: Some(Ok(running)) }
    }

    fn poll(&mut self, reading: Reading) -> Step {
        let stable = self.previous.as_ref() == Some(&reading);
        self.previous = Some(reading.clone());
        if !stable || self.acted_on.as_ref() == Some(&reading) {
            return Step::Wait;
        }
        let step = match &reading {
            Ok(_) => Step::Apply,
            Err(text) => Step::Report(text.clone()),
        };
        self.acted_on = Some(reading);
        step
    }
}

/// Polls the node's source until shutdown, reloading on stable changes.
pub(crate) async fn watch(node: Weak<NodeState>, shutdown: Shutdown, interval: Duration) {
    let Some(shared) = node.upgrade() else { return };
    let Some(source) = shared.reload.source().cloned() else {
        tracing::warn!("watch is on but the node has no config source; nothing to watch");
        return;
    };
    if let Some(changes) = source.changes(&shutdown) {
        drop(shared);
        return follow(node, shutdown, changes).await;
    }
    tracing::info!(source = %source.describe(), ?interval, "watching the config source for changes");
    let mut debounce = Debounce::new(NodeConfig::clone(&shared.router.live_config()));
    drop(shared);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
        let reading = source.load().await.map_err(|e| e.to_string());
        let Some(shared) = node.upgrade() else { return };
        match debounce.poll(reading) {
            Step::Wait => {}
            Step::Apply => {
                // Logged and counted by `reload` itself.
                let _ = apply::reload(&shared).await;
            }
            Step::Report(error) => {
                shared.metrics.reload("invalid");
                tracing::warn!(source = %source.describe(), %error,
                    "config source changed but is not valid; the running config is kept");
            }
        }
    }
}

/// Re-reads the source each time it signals a change. No debounce: such
/// sources (MongoDB) change a document atomically, never half-saved.
async fn follow(node: Weak<NodeState>, shutdown: Shutdown, mut changes: tokio::sync::mpsc::Receiver<()>) {
    tracing::info!("following the config source's change notifications");
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            signal = changes.recv() => if signal.is_none() { return },
        }
        let Some(shared) = node.upgrade() else { return };
        // Logged and counted by `reload` itself; an invalid document is
        // refused there and the running config kept.
        let _ = apply::reload(&shared).await;
    }
}

/// Starts the watcher of a node.
pub(crate) fn spawn(shared: &Arc<NodeState>, interval: Duration) {
    let shutdown = shared.shutdown.clone();
    shared.shutdown.spawn(watch(Arc::downgrade(shared), shutdown, interval));
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn config(port: u16) -> NodeConfig {
        let text = format!(
            r#"{{"name": "s", "type": "service", "host": "127.0.0.1",
                "rpc": {{"port": {port}, "token": "helloworldiloveyou~1234567890123"}}}}"#
        );
        NodeConfig::from_json5_str(&text, Path::new("s.json5")).unwrap()
    }

    #[test]
    fn the_running_config_read_back_does_nothing() {
        let mut d = Debounce::new(config(1));
        assert_eq!(d.poll(Ok(config(1))), Step::Wait);
        assert_eq!(d.poll(Ok(config(1))), Step::Wait);
    }

    #[test]
    fn a_change_is_applied_once_it_is_read_twice_in_a_row() {
        let mut d = Debounce::new(config(1));
        assert_eq!(d.poll(Ok(config(2))), Step::Wait, "maybe half-saved");
        assert_eq!(d.poll(Ok(config(2))), Step::Apply);
        assert_eq!(d.poll(Ok(config(2))), Step::Wait, "applied once");
    }

    #[test]
    fn a_flapping_source_is_never_applied() {
        let mut d = Debounce::new(config(1));
        for _ in 0..3 {
            assert_eq!(d.poll(Ok(config(2))), Step::Wait);
            assert_eq!(d.poll(Err("half".into())), Step::Wait);
        }
    }

    #[test]
    fn an_invalid_edit_is_reported_once_then_a_fix_applies() {
        let mut d = Debounce::new(config(1));
        d.poll(Err("bad".into()));
        assert_eq!(d.poll(Err("bad".into())), Step::Report("bad".into()));
        assert_eq!(d.poll(Err("bad".into())), Step::Wait);
        d.poll(Ok(config(1)));
        assert_eq!(d.poll(Ok(config(1))), Step::Apply, "going back to a valid file reloads");
    }
}
