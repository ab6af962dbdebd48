//! Semantic checks: what the types alone cannot say. Each check records a
//! [`Problem`] and carries on, so one run reports everything.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use super::error::Problem;
use super::fields::type_name;
use super::node::{NodeConfig, Storage};
use crate::codec::CLIENT_HEADER_LEN;

/// Most lanes a node may dial to one peer: each is a connection and a
/// task pair on both ends, and past the core count they only cost.
const MAX_LANES: u16 = 64;
use crate::proto::NodeType;
use crate::routing::{self, RangeRef, TableError};
use crate::secure::Token;

/// Shortest accepted token, in bytes. obespoir's tokens were AES keys of
/// 16, 24 or 32 bytes; a shorter shared secret is too easy to guess.
pub(crate) const MIN_TOKEN_LEN: usize = 16;

/// Smallest `rpc.max_frame`: a handshake message must fit.
const MIN_RPC_FRAME: usize = 1024;

/// Problems found in one file.
struct Report<'a> {
    file: &'a Path,
    problems: Vec<Problem>,
}

impl Report<'_> {
    fn add(&mut self, field: impl Into<String>, reason: impl fmt::Display) {
        self.problems.push(Problem::new(self.file, field, reason.to_string()));
    }
}

/// Every problem in one node's config.
pub(crate) fn node(cfg: &NodeConfig, file: &Path) -> Vec<Problem> {
    let mut report = Report { file, problems: Vec::new() };
    identity(cfg, &mut report);
    ports(cfg, &mut report);
    tokens(cfg, &mut report);
    remote_ports(cfg, &mut report);
    routes(cfg, &mut report);
    limits(cfg, &mut report);
    logs(cfg, &mut report);
    for (field, reason) in cfg.traces.as_ref().map(|t| t.problems()).unwrap_or_default() {
        report.add(field, reason);
    }
    if cfg.websocket.is_none() {
        // A proxy's are checked with its session command ids, in `limits`.
        for (field, reason) in cfg.topics.problems(&[]) {
            report.add(format!("topics.{field}"), reason);
        }
    }
    for (field, reason) in super::jobs::check(&cfg.jobs) {
        report.add(field, reason);
    }
    if let Some(tls) = &cfg.tls {
        for (field, why) in tls.problems() {
            report.add(field, why);
        }
    }
    report.problems
}

fn identity(cfg: &NodeConfig, r: &mut Report<'_>) {
    if cfg.name.trim().is_empty() {
        r.add("name", "must not be empty");
    }
    check_host("host", &cfg.host, r);
    if cfg.role == NodeType::Proxy && cfg.websocket.is_none() {
        r.add("websocket", "a proxy node needs a websocket section: it is where clients connect");
    }
    if cfg.available_way == Storage::Mongo && cfg.mongo_uri.as_deref().is_none_or(|uri| uri.trim().is_empty())
    {
        r.add("mongo_uri", r#"is required when available_way is "mongo""#);
    }
    for (i, group) in cfg.api_path.iter().enumerate() {
        if group.trim().is_empty() {
            r.add(format!("api_path[{i}]"), "must not be empty");
        }
    }
}

/// A host is part of node ids and is dialed by peers, so it must be a
/// concrete address or name.
fn check_host(field: &str, host: &str, r: &mut Report<'_>) {
    if host.trim().is_empty() {
        r.add(field, "must not be empty");
    } else if host.trim() != host {
        r.add(field, format_args!("{host:?} has surrounding whitespace"));
    } else if host.parse::<IpAddr>().is_ok_and(|ip| ip.is_unspecified()) {
        r.add(
            field,
            format_args!(
                "{host} cannot be dialed; the host is part of the node id, so it must be the address peers use \
                 (to listen on every interface, keep host reachable and set \"bind\": \"{host}\")"
            ),
        );
    }
}

fn ports(cfg: &NodeConfig, r: &mut Report<'_>) {
    if cfg.rpc.port == 0 {
        r.add("rpc.port", "must not be 0: the RPC port is always opened and is part of the node id");
    }
    let mut used: Vec<(&str, u16)> = Vec::with_capacity(3);
    let listeners = [
        ("rpc.port", Some(cfg.rpc.port)),
        ("websocket.port", cfg.websocket.as_ref().map(|ws| ws.port)),
        ("http.port", cfg.http.as_ref().map(|http| http.port)),
    ];
    for (field, port) in listeners {
        let Some(port) = port.filter(|&p| p != 0) else { continue };
        if let Some((other, _)) = used.iter().find(|&&(_, p)| p == port) {
            r.add(field, format_args!("port {port} is also {other}"));
        }
        used.push((field, port));
    }
}

fn tokens(cfg: &NodeConfig, r: &mut Report<'_>) {
    check_token("rpc.token", &cfg.rpc.token, r);
    if let Some(token) = cfg.websocket.as_ref().and_then(|ws| ws.token.as_ref()) {
        check_token("websocket.token", token, r);
    }
    if let Some(token) = cfg.http.as_ref().and_then(|http| http.token.as_ref()) {
        check_token("http.token", token, r);
    }
    if let Some(http) = &cfg.http {
        for (i, origin) in http.cors_origins.iter().enumerate() {
            if let Err(why) = super::origins::check_origin(origin) {
                r.add(format!("http.cors_origins[{i}]"), why);
            }
        }
    }
    for (i, peer) in cfg.remote_ports.iter().enumerate() {
        check_token(&format!("remote_ports[{i}].token"), &peer.token, r);
    }
}

fn check_token(field: &str, token: &Token, r: &mut Report<'_>) {
    if token.len() < MIN_TOKEN_LEN {
        r.add(field, format_args!("is {} bytes long; at least {MIN_TOKEN_LEN} are required", token.len()));
    }
}

fn remote_ports(cfg: &NodeConfig, r: &mut Report<'_>) {
    let mut seen: HashMap<(&str, u16), usize> = HashMap::new();
    for (i, peer) in cfg.remote_ports.iter().enumerate() {
        check_host(&format!("remote_ports[{i}].host"), &peer.host, r);
        if peer.port == 0 {
            r.add(format!("remote_ports[{i}].port"), "must not be 0");
        }
        if peer.host == cfg.host && peer.port == cfg.rpc.port {
            r.add(format!("remote_ports[{i}]"), "points at this node itself");
        }
        match seen.entry((&peer.host, peer.port)) {
            Entry::Occupied(first) => r.add(
                format!("remote_ports[{i}]"),
                format_args!("{}:{} is already remote_ports[{}]", peer.host, peer.port, first.get()),
            ),
            Entry::Vacant(slot) => {
                slot.insert(i);
            }
        }
    }
}

fn routes(cfg: &NodeConfig, r: &mut Report<'_>) {
    let range_field = |at: &RangeRef| match at.node_type {
        Some(t) => format!("rpc.route.range.{}[{}]", type_name(t), at.index),
        None => format!("rpc.route.range[{}]", at.index),
    };
    for conflict in routing::route_conflicts(&cfg.rpc.route) {
        if let TableError::SpecialTwice { id, first, second } = conflict {
            let index = cfg.rpc.route.special.get(&second).and_then(|ids| ids.iter().position(|&x| x == id));
            let at = format!("rpc.route.special.{}[{}]", type_name(second), index.unwrap_or(0));
            r.add(at, format_args!("id {id} is also special for {}", type_name(first)));
        } else {
            table_conflict(conflict, "rpc.route", range_field, r);
        }
    }
    if let Some(ws) = &cfg.websocket {
        for conflict in routing::state_conflicts(&ws.no_state) {
            let range_field = |at: &RangeRef| format!("websocket.no_state.range[{}]", at.index);
            table_conflict(conflict, "websocket.no_state", range_field, r);
        }
    }
}

/// Reports a table conflict on the range it is about, or on `section`.
fn table_conflict(
    conflict: TableError,
    section: &str,
    field: impl Fn(&RangeRef) -> String,
    r: &mut Report<'_>,
) {
    match conflict {
        TableError::Inverted { at } => {
            r.add(field(&at), format_args!("{}: the low bound is above the high bound", at.range));
        }
        TableError::Overlap { first, second } => r.add(
            field(&second),
            format_args!(
                "{} overlaps {} at {}; ranges must not overlap",
                second.range,
                first.range,
                field(&first)
            ),
        ),
        other @ (TableError::SpecialTwice { .. } | TableError::UnspecifiedType) => r.add(section, other),
    }
}

fn limits(cfg: &NodeConfig, r: &mut Report<'_>) {
    let rpc = &cfg.rpc;
    let mut durations: Vec<(&str, Duration)> = vec![
        ("handler_timeout", cfg.handler_timeout),
        ("rpc.reconnect_time", rpc.reconnect_time),
        ("rpc.heartbeat_interval", rpc.heartbeat_interval),
        ("rpc.dead_after", rpc.dead_after),
        ("rpc.handshake_timeout", rpc.handshake_timeout),
        ("rpc.call_timeout", rpc.call_timeout),
        ("rpc.max_backoff", rpc.max_backoff),
    ];
    if let Some(ws) = &cfg.websocket {
        durations.push(("websocket.timeout", ws.timeout));
    }
    for (field, value) in durations {
        if value.is_zero() {
            r.add(field, "must be greater than 0");
        }
    }
    if !rpc.heartbeat_interval.is_zero() && rpc.dead_after <= rpc.heartbeat_interval {
        r.add(
            "rpc.dead_after",
            format_args!(
                "must be longer than rpc.heartbeat_interval ({:?}), or idle links are declared dead",
                rpc.heartbeat_interval
            ),
        );
    }
    if rpc.max_backoff < rpc.reconnect_time {
        r.add(
            "rpc.max_backoff",
            format_args!("must be at least rpc.reconnect_time ({:?})", rpc.reconnect_time),
        );
    }
    if rpc.max_frame < MIN_RPC_FRAME || u32::try_from(rpc.max_frame).is_err() {
        r.add("rpc.max_frame", format_args!("must be between {MIN_RPC_FRAME} and {} bytes", u32::MAX));
    }
    if rpc.max_connections == 0 {
        r.add("rpc.max_connections", "must be greater than 0");
    }
    if rpc.hop_limit == 0 {
        r.add("rpc.hop_limit", "must be greater than 0");
    }
    if let Some(lanes) = rpc.lanes
        && !(1..=MAX_LANES).contains(&lanes)
    {
        r.add("rpc.lanes", format_args!("must be between 1 and {MAX_LANES}"));
    }
    for (field, reason) in cfg.handlers.problems() {
        r.add(format!("handlers.{field}"), reason);
    }
    let Some(ws) = &cfg.websocket else { return };
    if ws.max_frame < CLIENT_HEADER_LEN || i32::try_from(ws.max_frame).is_err() {
        r.add(
            "websocket.max_frame",
            format_args!("must be between {CLIENT_HEADER_LEN} and {} bytes", i32::MAX),
        );
    }
    if ws.max_connections == 0 {
        r.add("websocket.max_connections", "must be greater than 0");
    }
    if ws.send_queue == 0 {
        r.add("websocket.send_queue", "must be greater than 0");
    }
    if ws.heartbeat_command == ws.offline_command {
        r.add("websocket.heartbeat_command", "must differ from websocket.offline_command");
    }
    let reserved = [("heartbeat_command", ws.heartbeat_command), ("offline_command", ws.offline_command)];
    for (field, reason) in ws.sessions.problems(&reserved) {
        r.add(format!("websocket.{field}"), reason);
    }
    let s = &ws.sessions;
    let mut session_commands = vec![
        ("websocket.heartbeat_command", ws.heartbeat_command),
        ("websocket.offline_command", ws.offline_command),
        ("websocket.sessions.bind_command", s.bind_command),
        ("websocket.sessions.kick_command", s.kick_command),
        ("websocket.sessions.resume_command", s.resume_command),
        ("websocket.sessions.ack_command", s.ack_command),
    ];
    if let Some(id) = s.node_lost_command {
        session_commands.push(("websocket.sessions.node_lost_command", id));
    }
    for (field, reason) in cfg.topics.problems(&session_commands) {
        r.add(format!("topics.{field}"), reason);
    }
    for (field, reason) in ws.limits.problems(ws.max_frame) {
        r.add(format!("websocket.{field}"), reason);
    }
    for (field, reason) in ws.allowed_origins.problems() {
        r.add(format!("websocket.{field}"), reason);
    }
    // Encrypted client links derive their keys from the token.
    if ws.encrypt && ws.token.is_none() {
        r.add("websocket.token", "required when websocket.encode is 1: client link keys derive from it");
    }
}

fn logs(cfg: &NodeConfig, r: &mut Report<'_>) {
    for (field, reason) in cfg.logs.problems() {
        r.add(format!("logs.{field}"), reason);
    }
    // The name becomes a file name under `log_dir`.
    let unsafe_name = cfg.name.contains(['/', '\\', '\0']) || cfg.name == "." || cfg.name == "..";
    if cfg.log_dir.is_some() && unsafe_name {
        r.add("name", "names the log file under log_dir: no '/', '\\', NUL, '.' or '..'");
    }
}

#[cfg(test)]
#[path = "tests/validate.rs"]
mod tests;
