//! What a client hands its subscribers: pushes and connection events.

use std::time::Duration;

use serde_json::Value;

/// A frame the proxy sent that answered no request.
#[derive(Debug, Clone, PartialEq)]
pub struct Push {
    /// Its command id.
    pub command: i32,
    /// The header's version field: the push's number once the session uses
    /// resume (1, 2, 3, … without gaps or repeats), else 0.
    pub version: i32,
    /// The JSON body (a string for a non-JSON body, null for an empty one).
    pub body: Value,
}

/// What happens to the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Connected (after the encryption hello, if any, and the resume
    /// exchange). After a loss (`reconnected`), the session is the old one
    /// when `resumed`, its missed pushes following; otherwise it is a new
    /// session: log in again.
    Connected {
        /// Whether this follows a lost connection.
        reconnected: bool,
        /// Whether the old session was taken back (always false on the
        /// first connection, and without resume).
        resumed: bool,
    },
    /// The connection ended.
    Disconnected {
        /// Why.
        reason: String,
        /// Whether the client will try again.
        will_reconnect: bool,
    },
    /// Trying again after a delay.
    Reconnecting {
        /// 1 for the first retry.
        attempt: u32,
        /// The delay before it.
        delay: Duration,
    },
}
