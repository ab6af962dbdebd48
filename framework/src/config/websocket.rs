//! The `websocket` section: the client-facing listener of a proxy.

use std::time::Duration;

use serde::Deserialize;

use super::fields;
use super::limits::ClientLimits;
use super::origins::AllowedOrigins;
use super::rpc::IdRange;
use super::sessions::SessionsConfig;
use crate::secure::Token;

/// The client-facing websocket listener (`websocket`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebsocketConfig {
    /// Listening port; 0 (the default) means not opened.
    #[serde(default)]
    pub port: u16,
    /// Shared secret for clients; obespoir never reads it. At least 16
    /// bytes when given.
    #[serde(default, deserialize_with = "fields::opt_token")]
    pub token: Option<Token>,
    /// obespoir's `encode` (0 or 1). Default 0.
    #[serde(default, rename = "encode", deserialize_with = "fields::encode")]
    pub encrypt: bool,
    /// A client that sends nothing for this long is disconnected, in
    /// seconds. Default 300 s, obespoir's built-in value.
    #[serde(default = "defaults::ws_timeout", deserialize_with = "fields::seconds")]
    pub timeout: Duration,
    /// Command ids that need no session affinity.
    #[serde(default)]
    pub no_state: NoStateRules,
    /// *Espoir extension.* Largest client frame in bytes, header included.
    /// Default 1 MiB, the bound obespoir's websocket library put on one
    /// message.
    #[serde(default = "defaults::ws_max_frame")]
    pub max_frame: usize,
    /// *Espoir extension.* Most clients at once. Default 100 000.
    #[serde(default = "defaults::ws_max_connections")]
    pub max_connections: usize,
    /// *Espoir extension.* Command id of the notice sent into the cluster
    /// when a client disconnects. Default 999, obespoir's `CLIENT_OFFLINE`.
    #[serde(default = "defaults::offline_command")]
    pub offline_command: i32,
    /// *Espoir extension.* Command id clients send as a heartbeat. Default
    /// 10000, the id of obespoir's demo `HeartBeatHandler`.
    #[serde(default = "defaults::heartbeat_command")]
    pub heartbeat_command: i32,
    /// *Espoir extension.* Frames that may wait to be written to one
    /// client. A client that falls further behind is disconnected instead
    /// of growing memory. Default 256.
    #[serde(default = "defaults::ws_send_queue")]
    pub send_queue: usize,
    /// *Espoir extension.* User binding, unique login, kicks, session
    /// data, groups and resume (`docs/sessions.md`).
    #[serde(default)]
    pub sessions: SessionsConfig,
    /// *Espoir extension.* Per-client limits: connections per source IP,
    /// message and byte rates, queued push bytes, handshake and write
    /// deadlines.
    #[serde(default)]
    pub limits: ClientLimits,
    /// *Espoir extension.* Web pages (origins) allowed to connect; a
    /// browser handshake from any other is refused with 403. Empty (the
    /// default): any origin.
    #[serde(default)]
    pub allowed_origins: AllowedOrigins,
}

impl Default for WebsocketConfig {
    fn default() -> Self {
        WebsocketConfig {
            port: 0,
            token: None,
            encrypt: false,
            timeout: defaults::ws_timeout(),
            no_state: NoStateRules::default(),
            max_frame: defaults::ws_max_frame(),
            max_connections: defaults::ws_max_connections(),
            offline_command: defaults::offline_command(),
            heartbeat_command: defaults::heartbeat_command(),
            send_queue: defaults::ws_send_queue(),
            sessions: SessionsConfig::default(),
            limits: ClientLimits::default(),
            allowed_origins: AllowedOrigins::default(),
        }
    }
}

/// `websocket.no_state`: commands any instance may handle, so the proxy
/// need not pin them to the instance that served the session before.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoStateRules {
    /// Inclusive `[lo, hi]` ranges of stateless ids; may not overlap.
    #[serde(default)]
    pub range: Vec<IdRange>,
    /// Individual stateless ids. Written flat (`[110119]`, as in the
    /// README) or as lists (`[[110119]]`, as obespoir requires).
    #[serde(default, deserialize_with = "fields::flat_ids")]
    pub special: Vec<i32>,
}

/// Default values, shared by serde and the `Default` impls.
mod defaults {
    use std::time::Duration;

    use crate::codec::DEFAULT_MAX_CLIENT_FRAME;

    pub(super) fn ws_timeout() -> Duration {
        Duration::from_secs(300)
    }
    pub(super) fn ws_max_frame() -> usize {
        DEFAULT_MAX_CLIENT_FRAME
    }
    pub(super) fn ws_max_connections() -> usize {
        100_000
    }
    pub(super) fn offline_command() -> i32 {
        999
    }
    pub(super) fn heartbeat_command() -> i32 {
        10_000
    }
    pub(super) fn ws_send_queue() -> usize {
        256
    }
}
