//! Node configuration: obespoir's JSON config schema, typed, with Espoir's
//! extensions, loaded from JSON5 and validated.
//!
//! * `model`: the typed config and its defaults.
//! * `de`: JSON5 text → typed config, with the field path in every error.
//! * `fields`: deserializers of individual fields (seconds, tokens, …).
//! * `load`: [`NodeConfig::load`], [`NodeConfig::from_json5_str`],
//!   [`NodeConfig::load_dir`].
//! * `validate`: the semantic rules of one node's config.
//! * `limits`: `websocket.limits` and `handlers`, the per-client and
//!   per-handler limits.
//! * `origins`: `websocket.allowed_origins`, the web pages that may connect.
//! * `cluster`: the rules between the nodes of a cluster directory.
//! * `warnings`: valid but unwise settings ([`NodeConfig::warnings`]).
//! * `error`: [`ConfigError`] and [`Problem`].
//!
//! `docs/config.md` documents every key, its default and the rules.

mod cluster;
mod de;
mod error;
mod fields;
mod limits;
mod load;
mod model;
mod origins;
mod sessions;
mod validate;
mod warnings;

#[cfg(test)]
mod test_support;

pub use error::{ConfigError, Problem};
pub(crate) use fields::type_name;
pub use limits::{ClientLimits, HandlerLimits};
pub use model::{
    HttpConfig, IdRange, LogLevel, NoStateRules, NodeConfig, RemotePort, RouteRules, RpcConfig, Storage,
    WebsocketConfig,
};
pub use origins::AllowedOrigins;
pub use sessions::SessionsConfig;

use crate::id::NodeId;
use crate::proto::NodeType;
use crate::routing::{RouteTable, StateTable, TableError};
use crate::transport::{EndpointConfig, LinkSettings, ListenerSettings, PeerSpec};

impl NodeConfig {
    /// This node's id: md5 of `"{host}_{rpc.port}"`.
    pub fn node_id(&self) -> NodeId {
        NodeId::of(&self.host, self.rpc.port)
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

impl RemotePort {
    /// The id the peer has: md5 of `"{host}_{port}"`.
    pub fn node_id(&self) -> NodeId {
        NodeId::of(&self.host, self.port)
    }

    /// How to dial this peer, with the redial timing of the dialing node's
    /// `rpc` section.
    pub fn peer_spec(&self, rpc: &RpcConfig) -> PeerSpec {
        PeerSpec {
            host: self.host.clone(),
            port: self.port,
            token: self.token.clone(),
            encrypt: self.encrypt,
            reconnect: rpc.reconnect_time,
            max_backoff: rpc.max_backoff,
        }
    }
}
