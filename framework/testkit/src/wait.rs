//! The one way a test waits for something: poll a condition until it holds,
//! with a deadline only a broken build ever reaches.

use std::time::Duration;

use std::time::Instant;

use tokio::time::sleep;

/// How long a test waits for something that should happen. Only a broken
/// build ever waits this long, so it is generous: a CPU-starved CI machine
/// must not turn a slow success into a failure.
pub const WAIT: Duration = Duration::from_secs(30);

/// How often [`wait_until`] asks again.
const POLL: Duration = Duration::from_millis(10);

/// Polls `cond` until it holds.
///
/// The deadline is wall-clock time, so it also holds in a test that paused
/// tokio's clock (there, each poll's sleep advances the paused clock).
///
/// The condition is an async closure, so it may await (an HTTP call, a
/// lock); a plain check is written `async || x.is_done()`.
///
/// # Panics
/// After [`WAIT`], naming `what`: "timed out waiting until {what}".
pub async fn wait_until(what: &str, mut cond: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        sleep(POLL).await;
    }
}
