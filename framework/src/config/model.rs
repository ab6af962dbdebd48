//! The typed node configuration.
//!
//! Field names are obespoir's, so its config files load unchanged. Keys
//! Espoir adds are marked *Espoir extension*; each has a default, so a file
//! written for obespoir never needs them. Every section rejects keys it does
//! not know, which catches typos that obespoir silently ignored.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::fields;
use crate::codec::{DEFAULT_MAX_CLIENT_FRAME, DEFAULT_MAX_RPC_FRAME};
use crate::proto::NodeType;
use crate::secure::Token;

/// One node's configuration file.
///
/// Obtain it through [`NodeConfig::load`] or [`NodeConfig::from_json5_str`],
/// which also validate it; see `docs/config.md` for every key.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Node name, for logs and log file names. Must be unique in a cluster.
    pub name: String,
    /// Address the node's listeners bind to and peers dial. With `rpc.port`
    /// it makes the node id, so it must be the literal address the other
    /// nodes list in their `remote_ports`.
    pub host: String,
    /// The node's role, obespoir's `type`: `"proxy"`, `"route"` or
    /// `"service"`.
    #[serde(rename = "type", deserialize_with = "fields::node_type")]
    pub role: NodeType,
    /// Log verbosity. Default `info`.
    #[serde(default)]
    pub log_level: LogLevel,
    /// Directory for log files. Default: none.
    #[serde(default)]
    pub log_dir: Option<PathBuf>,
    /// The handler groups this node serves: names of groups registered in
    /// the node binary. obespoir's single module path is accepted as a
    /// one-element list. Default: none.
    #[serde(default, deserialize_with = "fields::one_or_many")]
    pub api_path: Vec<String>,
    /// Where cluster membership is kept (obespoir's `available_way`).
    /// Default [`Storage::Local`].
    #[serde(default)]
    pub available_way: Storage,
    /// MongoDB connection string; required when `available_way` is
    /// `"mongo"`. Redacted from `Debug` output since it usually carries a
    /// password.
    #[serde(default)]
    pub mongo_uri: Option<String>,
    /// The HTTP admin listener; `None` when absent.
    #[serde(default)]
    pub http: Option<HttpConfig>,
    /// The RPC listener and its links. Required for every role: its port is
    /// part of the node id.
    pub rpc: RpcConfig,
    /// The client-facing websocket listener. Required on a proxy.
    #[serde(default)]
    pub websocket: Option<WebsocketConfig>,
    /// Peers this node dials and keeps linked. Several entries of one type
    /// are normal (several services behind one route).
    #[serde(default)]
    pub remote_ports: Vec<RemotePort>,
    /// *Espoir extension.* Longest a handler may run before the request
    /// fails with a timeout status. Default 10 s, the same as
    /// `rpc.call_timeout`, so a caller does not give up on a handler that
    /// is still allowed to run.
    #[serde(default = "defaults::handler_timeout", deserialize_with = "fields::seconds")]
    pub handler_timeout: Duration,
    /// *Espoir extension.* Bounds on concurrent handler executions, per
    /// node and per command; past them requests are refused with 429.
    #[serde(default)]
    pub handlers: super::HandlerLimits,
    /// *Espoir extension.* Re-read this file when it changes and apply the
    /// new config if it is valid. Default `false`: obespoir never reloads
    /// by itself, and an edit half-saved by an editor should not reach a
    /// running node unless asked for.
    #[serde(default)]
    pub watch: bool,
    /// *Espoir extension.* Settings of the node's applications, by
    /// application name (`"app": {"betting": {...}}`). Opaque to the
    /// framework: each handler group reads and validates its own entry
    /// (through [`NodeBuilder::config`](crate::NodeBuilder::config)).
    /// Default: empty.
    #[serde(default)]
    pub app: BTreeMap<String, serde_json::Value>,
}

impl fmt::Debug for NodeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeConfig")
            .field("name", &self.name)
            .field("host", &self.host)
            .field("role", &self.role)
            .field("log_level", &self.log_level)
            .field("log_dir", &self.log_dir)
            .field("api_path", &self.api_path)
            .field("available_way", &self.available_way)
            .field("mongo_uri", &self.mongo_uri.as_ref().map(|_| "<redacted>"))
            .field("http", &self.http)
            .field("rpc", &self.rpc)
            .field("websocket", &self.websocket)
            .field("remote_ports", &self.remote_ports)
            .field("handler_timeout", &self.handler_timeout)
            .field("handlers", &self.handlers)
            .field("watch", &self.watch)
            .field("app", &self.app.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Log verbosity. Parsed case-insensitively; `warning` means `warn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LogLevel {
    /// Everything, including per-message traces.
    Debug,
    /// Lifecycle events. The default.
    #[default]
    Info,
    /// Recoverable problems.
    Warn,
    /// Failures only.
    Error,
}

impl LogLevel {
    /// The level as a `tracing` level.
    pub fn as_tracing(self) -> tracing::Level {
        match self {
            LogLevel::Debug => tracing::Level::DEBUG,
            LogLevel::Info => tracing::Level::INFO,
            LogLevel::Warn => tracing::Level::WARN,
            LogLevel::Error => tracing::Level::ERROR,
        }
    }

    /// The level's lowercase name, as accepted in a filter directive.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

impl<'de> Deserialize<'de> for LogLevel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        match text.to_ascii_lowercase().as_str() {
            "debug" => Ok(LogLevel::Debug),
            "info" => Ok(LogLevel::Info),
            "warn" | "warning" => Ok(LogLevel::Warn),
            "error" => Ok(LogLevel::Error),
            _ => Err(serde::de::Error::invalid_value(
                serde::de::Unexpected::Str(&text),
                &r#"one of "debug", "info", "warn", "warning", "error""#,
            )),
        }
    }
}

/// Where cluster membership is kept (obespoir's `available_way`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Storage {
    /// In the node's config file. The default.
    #[default]
    Local,
    /// In MongoDB, at `mongo_uri`.
    Mongo,
}

/// The HTTP admin listener (`http`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Listening port; 0 (the default) means not opened.
    #[serde(default)]
    pub port: u16,
    /// Shared secret of the admin interface; obespoir never reads it. At
    /// least 16 bytes when given.
    #[serde(default, deserialize_with = "fields::opt_token")]
    pub token: Option<Token>,
    /// obespoir's `encode` (0 or 1). Default 0.
    #[serde(default, rename = "encode", deserialize_with = "fields::encode")]
    pub encrypt: bool,
    /// *Espoir extension.* A directory whose files the HTTP listener
    /// serves (paths no endpoint claims). Default `None`: nothing is served
    /// from disk unless asked. [`NodeConfig::load`] makes a relative path
    /// start at the config file's folder.
    #[serde(default)]
    pub static_dir: Option<PathBuf>,
    /// *Espoir extension.* Web origins (`"http://host:port"`, or `"*"`)
    /// whose pages may call this port's endpoints from script (CORS).
    /// Default empty: only pages served by this port itself. Endpoints that
    /// check a bearer token stay safe with `"*"`: a foreign page never
    /// holds the token, and no cookie is involved.
    #[serde(default)]
    pub cors_origins: Vec<String>,
}

/// The RPC listener and the links to other nodes (`rpc`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RpcConfig {
    /// Listening port; with `host` it makes the node id. Required, non-zero.
    pub port: u16,
    /// The token peers must prove to link to this node. Required, at
    /// least 16 bytes.
    #[serde(deserialize_with = "fields::token")]
    pub token: Token,
    /// obespoir's `encode`: 1 requires inbound links to be encrypted.
    /// Default 0.
    #[serde(default, rename = "encode", deserialize_with = "fields::encode")]
    pub encrypt: bool,
    /// obespoir's `rpc.type`. Accepted for compatibility and ignored, as
    /// obespoir ignores it (its demo route says `"game"`); the role is the
    /// top-level `type`.
    #[serde(default, rename = "type")]
    pub legacy_type: Option<String>,
    /// First delay before redialing a lost peer, in seconds. Doubles per
    /// failure (with jitter) up to `max_backoff`. Default 5 s.
    #[serde(default = "defaults::reconnect_time", deserialize_with = "fields::seconds")]
    pub reconnect_time: Duration,
    /// Where messages without an explicit destination go, by command id.
    #[serde(default)]
    pub route: RouteRules,
    /// *Espoir extension.* Largest RPC payload in bytes. Default 4 MiB:
    /// room for a maximal client frame plus the envelope, while one peer
    /// cannot make a node buffer more.
    #[serde(default = "defaults::rpc_max_frame")]
    pub max_frame: usize,
    /// *Espoir extension.* A heartbeat is sent after this long without
    /// other traffic. Default 1 s.
    #[serde(default = "defaults::heartbeat_interval", deserialize_with = "fields::seconds")]
    pub heartbeat_interval: Duration,
    /// *Espoir extension.* A link that received nothing for this long is
    /// dead, even if TCP never reports it. Default 5 s: several missed
    /// heartbeats.
    #[serde(default = "defaults::dead_after", deserialize_with = "fields::seconds")]
    pub dead_after: Duration,
    /// *Espoir extension.* Deadline for a link's authentication handshake.
    /// Default 5 s.
    #[serde(default = "defaults::handshake_timeout", deserialize_with = "fields::seconds")]
    pub handshake_timeout: Duration,
    /// *Espoir extension.* How long a call waits for its response. Default
    /// 10 s.
    #[serde(default = "defaults::call_timeout", deserialize_with = "fields::seconds")]
    pub call_timeout: Duration,
    /// *Espoir extension.* Most inbound links at once. Default 1024: a
    /// cluster has tens of nodes, so this only stops floods.
    #[serde(default = "defaults::rpc_max_connections")]
    pub max_connections: usize,
    /// *Espoir extension.* Longest delay between redials. Default 30 s.
    #[serde(default = "defaults::max_backoff", deserialize_with = "fields::seconds")]
    pub max_backoff: Duration,
    /// *Espoir extension.* Hops a forwarded message may take before it is
    /// dropped; stops forwarding loops obespoir allowed. Default 8, far more
    /// than proxy → route → service → route → proxy needs.
    #[serde(default = "defaults::hop_limit")]
    pub hop_limit: u32,
}

/// `rpc.route`: which node type handles each command id.
///
/// `special` is checked before `range`. Ids matching nothing go to a route
/// (handled locally on a route). Ranges may not overlap and an id may not be
/// special for two types, so the order of entries never matters.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteRules {
    /// Node type → inclusive `[lo, hi]` id ranges.
    #[serde(default, deserialize_with = "fields::type_map")]
    pub range: BTreeMap<NodeType, Vec<IdRange>>,
    /// Node type → individual ids; these beat `range`.
    #[serde(default, deserialize_with = "fields::type_map")]
    pub special: BTreeMap<NodeType, Vec<i32>>,
}

/// An inclusive range of command ids, written `[lo, hi]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdRange {
    /// Lowest id in the range.
    pub lo: i32,
    /// Highest id in the range.
    pub hi: i32,
}

impl IdRange {
    /// The ids `lo..=hi`.
    pub fn new(lo: i32, hi: i32) -> Self {
        IdRange { lo, hi }
    }

    /// Whether `id` is in the range.
    pub fn contains(&self, id: i32) -> bool {
        self.lo <= id && id <= self.hi
    }
}

impl fmt::Display for IdRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {}]", self.lo, self.hi)
    }
}

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
    pub sessions: super::SessionsConfig,
    /// *Espoir extension.* Per-client limits: connections per source IP,
    /// message and byte rates, queued push bytes, handshake and write
    /// deadlines.
    #[serde(default)]
    pub limits: super::ClientLimits,
    /// *Espoir extension.* Web pages (origins) allowed to connect; a
    /// browser handshake from any other is refused with 403. Empty (the
    /// default): any origin.
    #[serde(default)]
    pub allowed_origins: super::AllowedOrigins,
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
            sessions: super::SessionsConfig::default(),
            limits: super::ClientLimits::default(),
            allowed_origins: super::AllowedOrigins::default(),
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

/// A peer to dial (one `remote_ports` entry).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemotePort {
    /// The peer's `host`, exactly as the peer's own config writes it.
    pub host: String,
    /// The peer's `rpc.port`.
    pub port: u16,
    /// The peer's `rpc.token`. At least 16 bytes.
    #[serde(deserialize_with = "fields::token")]
    pub token: Token,
    /// obespoir's `encode`: 1 asks for an encrypted link. Default 0.
    #[serde(default, rename = "encode", deserialize_with = "fields::encode")]
    pub encrypt: bool,
    /// The peer's role.
    #[serde(rename = "type", deserialize_with = "fields::node_type")]
    pub node_type: NodeType,
}

/// Default values, shared by serde and the `Default` impls.
pub(crate) mod defaults {
    use std::time::Duration;

    use super::{DEFAULT_MAX_CLIENT_FRAME, DEFAULT_MAX_RPC_FRAME};

    pub(crate) fn handler_timeout() -> Duration {
        Duration::from_secs(10)
    }
    pub(crate) fn reconnect_time() -> Duration {
        Duration::from_secs(5)
    }
    pub(crate) fn rpc_max_frame() -> usize {
        DEFAULT_MAX_RPC_FRAME
    }
    pub(crate) fn heartbeat_interval() -> Duration {
        Duration::from_secs(1)
    }
    pub(crate) fn dead_after() -> Duration {
        Duration::from_secs(5)
    }
    pub(crate) fn handshake_timeout() -> Duration {
        Duration::from_secs(5)
    }
    pub(crate) fn call_timeout() -> Duration {
        Duration::from_secs(10)
    }
    pub(crate) fn rpc_max_connections() -> usize {
        1024
    }
    pub(crate) fn max_backoff() -> Duration {
        Duration::from_secs(30)
    }
    pub(crate) fn hop_limit() -> u32 {
        8
    }
    pub(crate) fn ws_timeout() -> Duration {
        Duration::from_secs(300)
    }
    pub(crate) fn ws_max_frame() -> usize {
        DEFAULT_MAX_CLIENT_FRAME
    }
    pub(crate) fn ws_max_connections() -> usize {
        100_000
    }
    pub(crate) fn offline_command() -> i32 {
        999
    }
    pub(crate) fn heartbeat_command() -> i32 {
        10_000
    }
    pub(crate) fn ws_send_queue() -> usize {
        256
    }
}
