//! Limits that keep one client, or one busy handler, from taking a node
//! down: `websocket.limits` on proxies and `handlers` on every node.
//! *Espoir extensions*; every key has a safe default, so an obespoir file
//! never needs them. `docs/config.md` ("Limits") lists each limit, what a
//! client sees when it hits it, and its metric.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::fields;

/// Per-client limits of a proxy (`websocket.limits`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientLimits {
    /// Most clients at once from one source IP address. Default 256:
    /// carrier-grade NAT puts many players behind one address, while a
    /// single host opening thousands of sockets is an attack.
    #[serde(default = "defaults::max_connections_per_ip")]
    pub max_connections_per_ip: usize,
    /// Client frames per second one connection may send, sustained.
    /// Default 50: well above a game's input rate (20–30 Hz).
    #[serde(default = "defaults::message_rate")]
    pub message_rate: u32,
    /// Frames one connection may send at once above `message_rate` (the
    /// token bucket's size). Default 100: a login burst or a reconnect
    /// replay fits.
    #[serde(default = "defaults::message_burst")]
    pub message_burst: u32,
    /// Bytes per second one connection may send, sustained; past it the
    /// proxy stops reading the socket until the budget refills. Default
    /// 256 KiB/s.
    #[serde(default = "defaults::bytes_rate")]
    pub bytes_rate: u32,
    /// Bytes one connection may send at once above `bytes_rate`. Default
    /// 1 MiB, one maximum-size frame.
    #[serde(default = "defaults::bytes_burst")]
    pub bytes_burst: u32,
    /// Bytes of pushes that may wait to be written to one client (on top
    /// of `websocket.send_queue`, which counts frames). A client that falls
    /// further behind is disconnected. Default 2 MiB. At least
    /// `websocket.max_frame`, so that a maximum-size push fits.
    #[serde(default = "defaults::send_queue_bytes")]
    pub send_queue_bytes: usize,
    /// Deadline for a client's websocket upgrade (and, with `encode: 1`,
    /// for its encrypted hello), in seconds, from the TCP accept. Default
    /// 10 s.
    #[serde(default = "defaults::handshake_timeout", deserialize_with = "fields::seconds")]
    pub handshake_timeout: Duration,
    /// Longest one write to a client may take, in seconds. A client that
    /// stops reading fills its socket buffer; once a write stalls this
    /// long the connection is dropped. Default 10 s.
    #[serde(default = "defaults::write_timeout", deserialize_with = "fields::seconds")]
    pub write_timeout: Duration,
}

impl Default for ClientLimits {
    fn default() -> Self {
        ClientLimits {
            max_connections_per_ip: defaults::max_connections_per_ip(),
            message_rate: defaults::message_rate(),
            message_burst: defaults::message_burst(),
            bytes_rate: defaults::bytes_rate(),
            bytes_burst: defaults::bytes_burst(),
            send_queue_bytes: defaults::send_queue_bytes(),
            handshake_timeout: defaults::handshake_timeout(),
            write_timeout: defaults::write_timeout(),
        }
    }
}

impl ClientLimits {
    /// Problems with the section, as (field under `websocket`, reason).
    /// `max_frame` is `websocket.max_frame`.
    pub(crate) fn problems(&self, max_frame: usize) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let positive = [
            ("max_connections_per_ip", self.max_connections_per_ip as u64),
            ("message_rate", u64::from(self.message_rate)),
            ("message_burst", u64::from(self.message_burst)),
            ("bytes_rate", u64::from(self.bytes_rate)),
            ("bytes_burst", u64::from(self.bytes_burst)),
            ("handshake_timeout", u64::from(!self.handshake_timeout.is_zero())),
            ("write_timeout", u64::from(!self.write_timeout.is_zero())),
        ];
        for (name, value) in positive {
            if value == 0 {
                out.push((format!("limits.{name}"), "must be greater than 0".to_owned()));
            }
        }
        if self.send_queue_bytes < max_frame {
            out.push((
                "limits.send_queue_bytes".to_owned(),
                format!(
                    "must be at least websocket.max_frame ({max_frame}), or a maximum-size push never fits"
                ),
            ));
        }
        out
    }
}

/// Bounds on concurrent handler executions (`handlers`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandlerLimits {
    /// Most requests this node's handlers run at once; past it a request
    /// is refused at once with code 429 instead of queueing. Default 4096.
    #[serde(default = "defaults::max_inflight")]
    pub max_inflight: usize,
    /// Lower bounds for single commands, by command id
    /// (`{"100020": 64}`): for a handler that holds a scarce resource,
    /// such as a database pool of 64 connections. Default: none.
    #[serde(default, deserialize_with = "command_map")]
    pub per_command: BTreeMap<i32, usize>,
}

impl Default for HandlerLimits {
    fn default() -> Self {
        HandlerLimits { max_inflight: defaults::max_inflight(), per_command: BTreeMap::new() }
    }
}

impl HandlerLimits {
    /// Problems with the section, as (field under `handlers`, reason).
    pub(crate) fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if self.max_inflight == 0 {
            out.push(("max_inflight".to_owned(), "must be greater than 0".to_owned()));
        }
        for (command, &bound) in &self.per_command {
            if bound == 0 {
                out.push((format!("per_command.{command}"), "must be greater than 0".to_owned()));
            }
        }
        out
    }
}

/// An object keyed by command ids written as strings (JSON keys are
/// strings): `{"100020": 64}`.
fn command_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<i32, usize>, D::Error> {
    let raw = BTreeMap::<String, usize>::deserialize(d)?;
    raw.into_iter()
        .map(|(key, bound)| match key.trim().parse::<i32>() {
            Ok(id) => Ok((id, bound)),
            Err(_) => Err(serde::de::Error::invalid_value(
                serde::de::Unexpected::Str(&key),
                &"a command id (a 32-bit integer written as a string)",
            )),
        })
        .collect()
}

mod defaults {
    use std::time::Duration;

    pub(super) fn max_connections_per_ip() -> usize {
        256
    }
    pub(super) fn message_rate() -> u32 {
        50
    }
    pub(super) fn message_burst() -> u32 {
        100
    }
    pub(super) fn bytes_rate() -> u32 {
        256 * 1024
    }
    pub(super) fn bytes_burst() -> u32 {
        1024 * 1024
    }
    pub(super) fn send_queue_bytes() -> usize {
        2 * 1024 * 1024
    }
    pub(super) fn handshake_timeout() -> Duration {
        Duration::from_secs(10)
    }
    pub(super) fn write_timeout() -> Duration {
        Duration::from_secs(10)
    }
    pub(super) fn max_inflight() -> usize {
        4096
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;
    use crate::NodeConfig;

    fn proxy(limits: &str, handlers: &str) -> Result<NodeConfig, crate::ConfigError> {
        let text = format!(
            r#"{{name: "p", type: "proxy", host: "127.0.0.1",
                rpc: {{port: 1, token: "helloworldiloveyou~1234567890123"}},
                websocket: {{port: 2, limits: {{ {limits} }} }},
                handlers: {{ {handlers} }} }}"#
        );
        NodeConfig::from_json5_str(&text, Path::new("p.json5"))
    }

    #[test]
    fn defaults_are_valid() {
        assert!(ClientLimits::default().problems(crate::DEFAULT_MAX_CLIENT_FRAME).is_empty());
        assert!(HandlerLimits::default().problems().is_empty());
        let cfg = proxy("", "").unwrap();
        assert_eq!(cfg.websocket.unwrap().limits, ClientLimits::default());
        assert_eq!(cfg.handlers, HandlerLimits::default());
    }

    #[test]
    fn keys_parse_with_seconds_and_command_ids() {
        let cfg = proxy(
            "max_connections_per_ip: 3, message_rate: 5, handshake_timeout: 0.5, write_timeout: 2",
            r#"max_inflight: 10, per_command: {"100020": 4}"#,
        )
        .unwrap();
        let limits = cfg.websocket.unwrap().limits;
        assert_eq!(limits.max_connections_per_ip, 3);
        assert_eq!(limits.message_rate, 5);
        assert_eq!(limits.handshake_timeout, Duration::from_millis(500));
        assert_eq!(cfg.handlers.max_inflight, 10);
        assert_eq!(cfg.handlers.per_command.get(&100_020), Some(&4));
    }

    #[test]
    fn bad_values_name_their_field() {
        let err = proxy("message_rate: 0, send_queue_bytes: 100", "").unwrap_err().to_string();
        assert!(err.contains("websocket.limits.message_rate"), "{err}");
        assert!(err.contains("websocket.limits.send_queue_bytes"), "{err}");
        let err = proxy("", r#"per_command: {"7": 0}, max_inflight: 0"#).unwrap_err().to_string();
        assert!(err.contains("handlers.per_command.7") && err.contains("handlers.max_inflight"), "{err}");
        let err = proxy("", r#"per_command: {"login": 3}"#).unwrap_err().to_string();
        assert!(err.contains("handlers.per_command"), "{err}");
    }
}
