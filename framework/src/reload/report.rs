//! What a reload changed ([`ReloadReport`]): the answer of
//! `/update_remote_rpc_config` and of [`crate::RunningNode::reload`], and
//! the diff the console's reload history keeps.

use serde::Serialize;

use crate::config::RemotePort;

/// A peer a reload added, removed or redialed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerChange {
    /// Its node id.
    pub id: String,
    /// Its host.
    pub host: String,
    /// Its RPC port.
    pub port: u16,
    /// Its type (`proxy`, `route`, `service`).
    #[serde(rename = "type")]
    pub node_type: &'static str,
}

impl From<&RemotePort> for PeerChange {
    fn from(p: &RemotePort) -> Self {
        PeerChange {
            id: p.node_id().to_string(),
            host: p.host.clone(),
            port: p.port,
            node_type: crate::config::type_name(p.node_type),
        }
    }
}

/// What a reload changed; the JSON answer of `/update_remote_rpc_config`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReloadReport {
    /// Where the config was read from.
    pub source: String,
    /// False when the new config changes nothing that applies live.
    pub changed: bool,
    /// Peers now dialed.
    pub added: Vec<PeerChange>,
    /// Peers no longer dialed (their links are closed).
    pub removed: Vec<PeerChange>,
    /// Peers redialed with a new token, `encode` or type.
    pub reconnected: Vec<PeerChange>,
    /// Whether the routing table (`rpc.route`) was replaced.
    pub routes_changed: bool,
    /// Whether `websocket.no_state` was replaced.
    pub no_state_changed: bool,
    /// Changed fields that take effect only after a restart.
    pub restart_required: Vec<&'static str>,
    /// What became of the job set: replaced, or kept and why (`None`:
    /// unchanged).
    pub jobs: Option<String>,
}
