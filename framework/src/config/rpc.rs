//! The `rpc` section (the RPC listener, its links and where commands go)
//! and `remote_ports` (the peers a node dials).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};

use super::fields;
use crate::id::NodeId;
use crate::proto::NodeType;
use crate::secure::Token;
use crate::transport::PeerSpec;

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
    /// *Espoir extension.* Links (lanes) this node dials to each peer, each
    /// with its own reader and writer, so that a node pair's traffic uses
    /// several cores; a session's messages always take one lane. Default:
    /// one per core the process may use, at most 16. At most 64.
    #[serde(default)]
    pub lanes: Option<u16>,
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

impl<'de> Deserialize<'de> for IdRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = IdRange;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a pair of message ids [lo, hi]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<IdRange, A::Error> {
                let lo = seq.next_element::<i32>()?.ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let hi = seq.next_element::<i32>()?.ok_or_else(|| de::Error::invalid_length(1, &self))?;
                let mut len = 2;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    len += 1;
                }
                if len != 2 {
                    return Err(de::Error::invalid_length(len, &self));
                }
                Ok(IdRange { lo, hi })
            }
        }
        d.deserialize_seq(V)
    }
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

/// Default values, shared by serde and the `Default` impls.
mod defaults {
    use std::time::Duration;

    use crate::codec::DEFAULT_MAX_RPC_FRAME;

    pub(super) fn reconnect_time() -> Duration {
        Duration::from_secs(5)
    }
    pub(super) fn rpc_max_frame() -> usize {
        DEFAULT_MAX_RPC_FRAME
    }
    pub(super) fn heartbeat_interval() -> Duration {
        Duration::from_secs(1)
    }
    pub(super) fn dead_after() -> Duration {
        Duration::from_secs(5)
    }
    pub(super) fn handshake_timeout() -> Duration {
        Duration::from_secs(5)
    }
    pub(super) fn call_timeout() -> Duration {
        Duration::from_secs(10)
    }
    pub(super) fn rpc_max_connections() -> usize {
        1024
    }
    pub(super) fn max_backoff() -> Duration {
        Duration::from_secs(30)
    }
    pub(super) fn hop_limit() -> u32 {
        8
    }
}
