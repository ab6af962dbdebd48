//! Node configuration: obespoir's JSON config schema, typed, with Espoir's
//! extensions, loaded from JSON5 and validated.
//!
//! * `node`: the typed config ([`NodeConfig`]): the top-level keys and
//!   `http`, with their defaults, and the transport settings and lookup
//!   tables a config becomes.
//! * `rpc`: the `rpc` section and `remote_ports`.
//! * `websocket`: the `websocket` section, a proxy's client listener.
//! * `de`: JSON5 text → typed config, with the field path in every error.
//! * `fields`: deserializers of individual fields (seconds, tokens, …).
//! * `load`: [`NodeConfig::load`], [`NodeConfig::from_json5_str`],
//!   [`NodeConfig::load_dir`].
//! * `validate`: the semantic rules of one node's config.
//! * `limits`: `websocket.limits` and `handlers`, the per-client and
//!   per-handler limits.
//! * `secret`: values read from the environment or a file instead of the
//!   config (`{"env": …}`, `{"file": …}`): tokens, `mongo_uri`, `host`.
//! * `logs`: the `logs` section, format and rotation of a node's log.
//! * `origins`: `websocket.allowed_origins`, the web pages that may connect.
//! * `sessions`: `websocket.sessions`, the session features of a proxy.
//! * `traces`: the `traces` section, distributed traces over OTLP.
//! * `topics`: `topics`, publish/subscribe bounds and per-topic policies.
//! * `jobs`: `jobs`, recurring jobs declared in config ([`JobConfig`]).
//! * `tls`: `tls`, the certificate files of `wss://` and HTTPS.
//! * `cluster`: the rules between the nodes of a cluster directory.
//! * `warnings`: valid but unwise settings ([`NodeConfig::warnings`]).
//! * `error`: [`ConfigError`] and [`Problem`].
//!
//! The longer unit tests live in `tests/`, beside the files they test.
//!
//! `docs/config.md` documents every key, its default and the rules.

mod cluster;
mod de;
mod error;
mod fields;
mod jobs;
mod limits;
mod load;
mod logs;
mod node;
mod origins;
mod rpc;
mod secret;
mod sessions;
mod tls;
mod topics;
mod traces;
mod validate;
mod warnings;
mod websocket;

#[cfg(test)]
#[path = "tests/support.rs"]
mod test_support;

pub use error::{ConfigError, Problem};
pub(crate) use fields::type_name;
pub use jobs::{CatchUpName, JobConfig};
pub use limits::{ClientLimits, HandlerLimits};
pub use logs::{LogFormat, LogRotation, LogsConfig};
pub use node::{HttpConfig, LogLevel, NodeConfig, Storage};
pub use origins::AllowedOrigins;
pub use rpc::{IdRange, RemotePort, RouteRules, RpcConfig};
// The MongoDB bootstrap file reads its `mongo_uri` the same way.
#[cfg(feature = "mongodb")]
pub(crate) use secret::Source as SecretSource;
pub use secret::{opt_value as deserialize_opt_secret, value as deserialize_secret};
pub use sessions::SessionsConfig;
pub use tls::TlsConfig;
pub use topics::{TopicPolicy, TopicsConfig};
pub use traces::{OtlpConfig, TracesConfig};
pub use websocket::{NoStateRules, WebsocketConfig};
