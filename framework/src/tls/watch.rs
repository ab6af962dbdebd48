//! Checking the certificate files every `tls.reload_interval`.
//!
//! Polling, like the config watcher (`reload/watch.rs`), sees every way a
//! file is replaced: renames, Kubernetes secrets that swap a symlink,
//! network mounts. The files are a few kilobytes, so each check reads them
//! whole and compares a digest; a half-written pair fails its checks, is
//! reported, and the next check sees the complete one.

use std::sync::Arc;
use std::time::Duration;

use super::store::{CertStore, Refresh};
use crate::shutdown::Shutdown;

/// Checks the files until `shutdown`, logging each swap and each refusal.
pub(super) async fn run(store: Arc<CertStore>, every: Duration, shutdown: Shutdown) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        match store.refresh().await {
            Refresh::Unchanged => {}
            Refresh::Swapped => tracing::info!("tls: new certificate served to new connections"),
            Refresh::Refused(err) => {
                tracing::warn!(error = %err, "tls: certificate files not reloaded; the previous certificate is still served");
            }
        }
    }
}
