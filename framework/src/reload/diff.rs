//! What changed between the running config and a re-read one.
//!
//! Pure: no sockets, no clock. [`diff`] decides what a reload does; the
//! reload itself (`reload.rs`) only carries the decision out, so the rules
//! are unit-tested here.

use std::path::Path;

use crate::config::{NodeConfig, Problem, RemotePort};

/// The changes a reload applies, and those it cannot.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct ConfigDiff {
    /// `remote_ports` entries whose node id is new: dial them.
    pub(crate) added: Vec<RemotePort>,
    /// Entries whose node id is gone: stop dialing them.
    pub(crate) removed: Vec<RemotePort>,
    /// Entries of a known node id whose token, `encode` or type changed:
    /// redial with the new settings (the new entries).
    pub(crate) changed: Vec<RemotePort>,
    /// `rpc.route` differs: swap the routing table.
    pub(crate) routes_changed: bool,
    /// `websocket.no_state` differs: swap the stateless table.
    pub(crate) no_state_changed: bool,
    /// Fields that changed but only take effect after a restart (ports,
    /// timeouts, the node's own token, …), by config path.
    pub(crate) restart_required: Vec<&'static str>,
}

impl ConfigDiff {
    /// True when the reload changes nothing live.
    pub(crate) fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && !self.routes_changed
            && !self.no_state_changed
    }
}

/// The diff from `old` to `new`, keyed by peer node id.
///
/// # Errors
/// The problems, when `new` describes another node (its `host`,
/// `rpc.port` or `type` differ): a running node cannot change identity.
pub(crate) fn diff(old: &NodeConfig, new: &NodeConfig, origin: &Path) -> Result<ConfigDiff, Vec<Problem>> {
    let mut problems = Vec::new();
    let identity = [
        ("host", old.host != new.host),
        ("rpc.port", old.rpc.port != new.rpc.port),
        ("type", old.role != new.role),
    ];
    for (field, differs) in identity {
        if differs {
            problems.push(Problem::new(
                origin,
                field,
                "cannot change while the node runs: it is part of the node's identity; start a new node instead",
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }

    let mut out = ConfigDiff::default();
    for entry in &new.remote_ports {
        let id = entry.node_id();
        match old.remote_ports.iter().find(|o| o.node_id() == id) {
            None => out.added.push(entry.clone()),
            Some(before) if before != entry => out.changed.push(entry.clone()),
            Some(_) => {}
        }
    }
    for entry in &old.remote_ports {
        let id = entry.node_id();
        if !new.remote_ports.iter().any(|n| n.node_id() == id) {
            out.removed.push(entry.clone());
        }
    }
    out.routes_changed = old.rpc.route != new.rpc.route;
    let no_state = |c: &NodeConfig| c.websocket.as_ref().map(|ws| ws.no_state.clone());
    out.no_state_changed = no_state(old) != no_state(new);
    out.restart_required = restart_required(old, new);
    Ok(out)
}

/// Changed fields a running node cannot apply.
fn restart_required(old: &NodeConfig, new: &NodeConfig) -> Vec<&'static str> {
    let (o, n) = (&old.rpc, &new.rpc);
    let mut fields = vec![
        ("name", old.name != new.name),
        ("bind", old.bind != new.bind),
        ("log_level", old.log_level != new.log_level),
        ("log_dir", old.log_dir != new.log_dir),
        ("logs", old.logs != new.logs),
        ("api_path", old.api_path != new.api_path),
        ("available_way", old.available_way != new.available_way),
        ("mongo_uri", old.mongo_uri != new.mongo_uri),
        ("http", old.http != new.http),
        ("handler_timeout", old.handler_timeout != new.handler_timeout),
        ("handlers", old.handlers != new.handlers),
        ("watch", old.watch != new.watch),
        ("traces", old.traces != new.traces),
        ("topics", old.topics != new.topics),
        // Which files: their content is reloaded by the node itself.
        ("tls", old.tls != new.tls),
        ("rpc.token", o.token != n.token),
        ("rpc.encode", o.encrypt != n.encrypt),
        ("rpc.reconnect_time", o.reconnect_time != n.reconnect_time),
        ("rpc.max_frame", o.max_frame != n.max_frame),
        ("rpc.heartbeat_interval", o.heartbeat_interval != n.heartbeat_interval),
        ("rpc.dead_after", o.dead_after != n.dead_after),
        ("rpc.handshake_timeout", o.handshake_timeout != n.handshake_timeout),
        ("rpc.call_timeout", o.call_timeout != n.call_timeout),
        ("rpc.max_connections", o.max_connections != n.max_connections),
        ("rpc.max_backoff", o.max_backoff != n.max_backoff),
        ("rpc.hop_limit", o.hop_limit != n.hop_limit),
    ];
    match (&old.websocket, &new.websocket) {
        (Some(o), Some(n)) => fields.extend([
            ("websocket.port", o.port != n.port),
            ("websocket.token", o.token != n.token),
            ("websocket.encode", o.encrypt != n.encrypt),
            ("websocket.timeout", o.timeout != n.timeout),
            ("websocket.max_frame", o.max_frame != n.max_frame),
            ("websocket.max_connections", o.max_connections != n.max_connections),
            ("websocket.offline_command", o.offline_command != n.offline_command),
            ("websocket.heartbeat_command", o.heartbeat_command != n.heartbeat_command),
            ("websocket.send_queue", o.send_queue != n.send_queue),
            ("websocket.limits", o.limits != n.limits),
            ("websocket.allowed_origins", o.allowed_origins != n.allowed_origins),
        ]),
        (None, None) => {}
        _ => fields.push(("websocket", true)),
    }
    fields.into_iter().filter(|&(_, changed)| changed).map(|(field, _)| field).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "helloworldiloveyou~1234567890123";

    fn remote(port: u16, kind: &str, token: &str) -> String {
        format!(r#"{{"host": "127.0.0.1", "port": {port}, "token": "{token}", "type": "{kind}"}}"#)
    }

    fn proxy(remotes: &[String], extra: &str) -> NodeConfig {
        let text = format!(
            r#"{{"name": "p", "type": "proxy", "host": "127.0.0.1",
                "websocket": {{"port": 9000, "no_state": {{"range": [[1, 10]]}} }},
                "rpc": {{"port": 9002, "token": "{TOKEN}" {extra}}},
                "remote_ports": [{}]}}"#,
            remotes.join(",")
        );
        NodeConfig::from_json5_str(&text, Path::new("p.json5")).unwrap()
    }

    fn d(old: &NodeConfig, new: &NodeConfig) -> ConfigDiff {
        diff(old, new, Path::new("p.json5")).unwrap()
    }

    #[test]
    fn the_same_config_changes_nothing() {
        let c = proxy(&[remote(1, "route", TOKEN)], "");
        let out = d(&c, &c.clone());
        assert!(out.is_empty() && out.restart_required.is_empty(), "{out:?}");
    }

    #[test]
    fn peers_are_matched_by_node_id_whatever_their_order() {
        let old = proxy(&[remote(1, "route", TOKEN), remote(2, "service", TOKEN)], "");
        let new = proxy(&[remote(3, "service", TOKEN), remote(2, "service", TOKEN)], "");
        let out = d(&old, &new);
        assert_eq!(out.added.iter().map(|p| p.port).collect::<Vec<_>>(), [3]);
        assert_eq!(out.removed.iter().map(|p| p.port).collect::<Vec<_>>(), [1]);
        assert!(out.changed.is_empty());
        assert!(!out.routes_changed && !out.no_state_changed);
    }

    #[test]
    fn a_new_token_encode_or_type_redials_the_peer() {
        let old =
            proxy(&[remote(1, "route", TOKEN), remote(2, "service", TOKEN), remote(4, "service", TOKEN)], "");
        let other = "anothertokenthatislongenough!!";
        let mut new =
            proxy(&[remote(1, "route", other), remote(2, "route", TOKEN), remote(4, "service", TOKEN)], "");
        new.remote_ports[2].encrypt = true;
        let out = d(&old, &new);
        assert_eq!(out.changed.iter().map(|p| p.port).collect::<Vec<_>>(), [1, 2, 4]);
        assert!(out.added.is_empty() && out.removed.is_empty());
        assert!(!out.changed.iter().any(|p| p.port == 1 && p.token != new.remote_ports[0].token));
    }

    #[test]
    fn routing_and_no_state_changes_are_seen() {
        let old = proxy(&[], "");
        let new = proxy(&[], r#", "route": {"range": {"service": [[5001, 6000]]}}"#);
        let out = d(&old, &new);
        assert!(out.routes_changed && !out.no_state_changed && !out.is_empty());
        let mut new = old.clone();
        new.websocket.as_mut().unwrap().no_state.special.push(77);
        let out = d(&old, &new);
        assert!(out.no_state_changed && !out.routes_changed);
    }

    #[test]
    fn fields_that_need_a_restart_are_listed_not_applied() {
        let old = proxy(&[], "");
        let mut new = proxy(&[], r#", "call_timeout": 3"#);
        new.websocket.as_mut().unwrap().port = 9100;
        new.handler_timeout = std::time::Duration::from_secs(1);
        new.handlers.max_inflight = 7;
        new.websocket.as_mut().unwrap().limits.message_rate = 7;
        new.websocket.as_mut().unwrap().allowed_origins =
            crate::config::AllowedOrigins::new(["https://a.example"]);
        let out = d(&old, &new);
        assert!(out.is_empty());
        assert_eq!(
            out.restart_required,
            [
                "handler_timeout",
                "handlers",
                "rpc.call_timeout",
                "websocket.port",
                "websocket.limits",
                "websocket.allowed_origins"
            ]
        );
    }

    #[test]
    fn a_config_of_another_node_is_refused_naming_each_field() {
        let old = proxy(&[], "");
        let mut new = old.clone();
        new.host = "127.0.0.2".into();
        new.rpc.port = 9003;
        let problems = diff(&old, &new, Path::new("p.json5")).unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["host", "rpc.port"]);
        assert!(problems[0].reason.contains("identity"));
    }
}
