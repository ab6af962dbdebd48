//! The signals that stop a server process.

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM: what a binary with
/// its own `main` awaits before draining its nodes (as `node` and `up` do).
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            // No SIGTERM handler can be installed: Ctrl-C still works.
            let _ = ctrl_c.await;
            return;
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
