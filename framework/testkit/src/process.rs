//! Helpers for tests that run other processes (a `mongod`, `espoir node`
//! binaries, configs/local on real ports): free ports to write into their
//! configuration, and the tail of their logs for a failure message.

use std::net::TcpListener;
use std::path::Path;

/// A free loopback port.
///
/// Bind-and-release: another process may take it before the one the test
/// starts binds it. That race is small and acceptable in tests; whatever
/// loses it fails loudly at start, and callers that can (configs/local,
/// crash clusters) pick again.
pub fn free_port() -> u16 {
    free_ports(1)[0]
}

/// `n` distinct free loopback ports (see [`free_port`] for the race).
pub fn free_ports(n: usize) -> Vec<u16> {
    // Hold them all until every one is picked, so none repeats.
    let held: Vec<TcpListener> =
        (0..n).map(|_| TcpListener::bind("127.0.0.1:0").expect("a free port")).collect();
    held.iter().map(|l| l.local_addr().expect("a bound address").port()).collect()
}

/// The last `lines` lines of the text file at `path` (empty when it cannot
/// be read), oldest first.
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The value of `var`, naming a test dependency that `.ci/run` provisions
/// (`what` says which). Missing, the test skips (`None`, saying why on
/// stderr) — except under `CI=true`, where it fails.
///
/// # Panics
/// When `var` is unset under `CI=true`.
pub fn test_dependency(var: &str, what: &str) -> Option<String> {
    if let Ok(value) = std::env::var(var) {
        return Some(value);
    }
    let why = format!("{what} is not available: set {var} (.ci/run provisions it)");
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{why} (CI=true: not skipping)");
    eprintln!("skipping: {why}");
    None
}
