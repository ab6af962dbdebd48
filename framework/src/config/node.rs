//! The typed node configuration: the top-level keys of a node's file, its
//! small `http` section, and what the whole becomes (transport settings,
//! lookup tables). The `rpc` and `websocket` sections have files of their
//! own.
//!
//! Field names are obespoir's, so its config files load unchanged. Keys
//! Espoir adds are marked *Espoir extension*; each has a default, so a file
//! written for obespoir never needs them. Every section rejects keys it does
//! not know, which catches typos that obespoir silently ignored.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::fields;
use super::limits::HandlerLimits;
use super::logs::LogsConfig;
use super::rpc::{RemotePort, RpcConfig};
use super::tls::TlsConfig;
use super::topics::TopicsConfig;
use super::traces::TracesConfig;
use super::websocket::WebsocketConfig;
use crate::id::NodeId;
use crate::proto::NodeType;
use crate::routing::{RouteTable, StateTable, TableError};
use crate::secure::Token;
use crate::transport::{EndpointConfig, LinkSettings, ListenerSettings, PeerSpec};

/// One node's configuration file.
///
/// Obtain it through [`NodeConfig::load`] or [`NodeConfig::from_json5_str`],
/// which also validate it; see `docs/config.md` for every key.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Node name, for logs and log file names. Must be unique in a cluster.
    pub name: String,
    /// The address peers dial and the node announces, obespoir's `host`.
    /// With `rpc.port` it makes the node id, so it must be the literal
    /// address the other nodes list in their `remote_ports`. The listeners
    /// bind it too, unless `bind` says otherwise. May be read from the
    /// environment (`{"env": "POD_IP"}`), for addresses known only where
    /// the node runs.
    #[serde(deserialize_with = "super::secret::value")]
    pub host: String,
    /// The node's role, obespoir's `type`: `"proxy"`, `"route"` or
    /// `"service"`.
    #[serde(rename = "type", deserialize_with = "fields::node_type")]
    pub role: NodeType,
    /// *Espoir extension.* The local address the listeners (rpc, websocket,
    /// http) bind, when it differs from `host`: `"0.0.0.0"` in a container
    /// or behind NAT, where `host` is the address others reach. Default
    /// `None`: bind `host`, as obespoir does. Not part of the node id, so
    /// several nodes may all bind `0.0.0.0` and keep distinct ids.
    #[serde(default)]
    pub bind: Option<IpAddr>,
    /// Log verbosity. Default `info`.
    #[serde(default)]
    pub log_level: LogLevel,
    /// Directory for log files. Default: none.
    #[serde(default)]
    pub log_dir: Option<PathBuf>,
    /// *Espoir extension.* Format and rotation of the log (`logs`).
    #[serde(default)]
    pub logs: LogsConfig,
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
    /// password; may be read from the environment or a file
    /// (`{"env": …}`, `{"file": …}`).
    #[serde(default, deserialize_with = "super::secret::opt_value")]
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
    /// *Espoir extension.* TLS on the client-facing ports (`wss://`,
    /// HTTPS); `None` (the default) serves them in clear.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
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
    pub handlers: HandlerLimits,
    /// *Espoir extension.* Re-read this file when it changes and apply the
    /// new config if it is valid. Default `false`: obespoir never reloads
    /// by itself, and an edit half-saved by an editor should not reach a
    /// running node unless asked for.
    #[serde(default)]
    pub watch: bool,
    /// *Espoir extension.* Distributed traces exported over OTLP; `None`
    /// (the default): this node records no spans.
    #[serde(default)]
    pub traces: Option<TracesConfig>,
    /// *Espoir extension.* Settings of the node's applications, by
    /// application name (`"app": {"betting": {...}}`). Opaque to the
    /// framework: each handler group reads and validates its own entry
    /// (through [`NodeBuilder::config`](crate::NodeBuilder::config)).
    /// Default: empty.
    #[serde(default)]
    pub app: BTreeMap<String, serde_json::Value>,
    /// *Espoir extension.* Topics: bounds, snapshots and conflation
    /// (`docs/realtime.md`). Default: every bound at its default.
    #[serde(default)]
    pub topics: TopicsConfig,
    /// *Espoir extension.* Recurring jobs (`config/jobs.rs`). Default: none.
    #[serde(default)]
    pub jobs: Vec<super::jobs::JobConfig>,
}

impl fmt::Debug for NodeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeConfig")
            .field("name", &self.name)
            .field("host", &self.host)
            .field("bind", &self.bind)
            .field("role", &self.role)
            .field("log_level", &self.log_level)
            .field("log_dir", &self.log_dir)
            .field("logs", &self.logs)
            .field("api_path", &self.api_path)
            .field("available_way", &self.available_way)
            .field("mongo_uri", &self.mongo_uri.as_ref().map(|_| "<redacted>"))
            .field("http", &self.http)
            .field("rpc", &self.rpc)
            .field("websocket", &self.websocket)
            .field("tls", &self.tls)
            .field("remote_ports", &self.remote_ports)
            .field("handler_timeout", &self.handler_timeout)
            .field("handlers", &self.handlers)
            .field("watch", &self.watch)
            .field("traces", &self.traces)
            .field("app", &self.app.keys().collect::<Vec<_>>())
            .field("topics", &self.topics)
            .field("jobs", &self.jobs)
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

impl NodeConfig {
    /// The application's section `app.<name>` as `T`, or `T::default()`
    /// when the config has none: how an application reads its settings
    /// (then validates them).
    ///
    /// # Errors
    /// The section does not deserialize as `T` (a wrong type, an unknown
    /// key when `T` denies them); the message names the field.
    pub fn app_section<T: serde::de::DeserializeOwned + Default>(
        &self,
        name: &str,
    ) -> Result<T, serde_json::Error> {
        match self.app.get(name) {
            Some(value) => T::deserialize(value),
            None => Ok(T::default()),
        }
    }

    /// This node's id: md5 of `"{host}_{rpc.port}"`. `host` is the
    /// announced address, not `bind`: it is what peers list and dial, so
    /// they know the id before linking, and it differs between nodes that
    /// all bind `0.0.0.0`.
    pub fn node_id(&self) -> NodeId {
        NodeId::of(&self.host, self.rpc.port)
    }

    /// The address the listeners bind: `bind`, or `host` when unset.
    pub fn bind_host(&self) -> String {
        self.bind.map_or_else(|| self.host.clone(), |ip| ip.to_string())
    }

    /// This node's role (the top-level `type`).
    pub fn node_type(&self) -> NodeType {
        self.role
    }

    /// Per-link transport settings from `rpc`; the settings config does not
    /// cover keep their defaults.
    pub fn rpc_link_settings(&self) -> LinkSettings {
        LinkSettings {
            max_frame: self.rpc.max_frame,
            heartbeat_interval: self.rpc.heartbeat_interval,
            dead_after: self.rpc.dead_after,
            handshake_timeout: self.rpc.handshake_timeout,
            ..LinkSettings::default()
        }
    }

    /// RPC listener settings from `rpc`.
    pub fn rpc_listener_settings(&self) -> ListenerSettings {
        ListenerSettings { max_connections: self.rpc.max_connections }
    }

    /// Everything the RPC endpoint needs: identity, token, encryption and
    /// settings.
    pub fn endpoint_config(&self) -> EndpointConfig {
        let mut config = EndpointConfig::new(self.node_id(), self.role, self.rpc.token.clone());
        config.encrypt = self.rpc.encrypt;
        config.link = self.rpc_link_settings();
        config.listener = self.rpc_listener_settings();
        if let Some(lanes) = self.rpc.lanes {
            config.lanes = lanes;
        }
        config
    }

    /// One dial spec per `remote_ports` entry, in config order.
    pub fn peer_specs(&self) -> Vec<PeerSpec> {
        self.remote_ports.iter().map(|peer| peer.peer_spec(&self.rpc)).collect()
    }

    /// `rpc.route` as a lookup table for this node.
    ///
    /// # Errors
    /// Only if the rules were changed after validation into conflicting
    /// ones; a loaded config always has a table.
    pub fn route_table(&self) -> Result<RouteTable, TableError> {
        RouteTable::new(self.role, &self.rpc.route)
    }

    /// `websocket.no_state` as a lookup table; without a websocket section,
    /// every command is stateful.
    ///
    /// # Errors
    /// As [`NodeConfig::route_table`].
    pub fn state_table(&self) -> Result<StateTable, TableError> {
        match &self.websocket {
            Some(ws) => StateTable::new(&ws.no_state),
            None => Ok(StateTable::empty()),
        }
    }
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

/// Default values, shared by serde and the `Default` impls.
mod defaults {
    use std::time::Duration;

    pub(super) fn handler_timeout() -> Duration {
        Duration::from_secs(10)
    }
}

#[cfg(test)]
#[path = "tests/address.rs"]
mod address_tests;
