//! `websocket.sessions`: user binding, unique login, kicks, session data,
//! groups, resume and the lost-node notice. *Espoir extension*; every key has a default, so an
//! obespoir file never needs the section. See `docs/sessions.md`.

use std::time::Duration;

use serde::Deserialize;

use super::fields;

/// Session features of a proxy (`websocket.sessions`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionsConfig {
    /// Binding a user id kicks every other session bound to it, on any
    /// proxy (one login per user). Default `false`, obespoir's behaviour:
    /// a user may hold several sessions (several devices). Every proxy of a
    /// cluster should agree.
    #[serde(default)]
    pub unique_login: bool,
    /// Command id of the bind notice sent to the nodes that served (or
    /// bound) a session when it is bound to a user. Default 998, next to
    /// obespoir's offline notice 999.
    #[serde(default = "defaults::bind_command")]
    pub bind_command: i32,
    /// Command id of the frame a kicked client receives (with a reason)
    /// before its connection closes. Default 10003.
    #[serde(default = "defaults::kick_command")]
    pub kick_command: i32,
    /// Command id a client sends to opt in to resume, or to resume a
    /// session after reconnecting. Default 10001.
    #[serde(default = "defaults::resume_command")]
    pub resume_command: i32,
    /// Command id a client sends to acknowledge pushes it has received, so
    /// the proxy can drop them from the replay buffer. Default 10002.
    #[serde(default = "defaults::ack_command")]
    pub ack_command: i32,
    /// How long a session that opted in to resume outlives a lost
    /// connection, in seconds. 0 turns resume off. Default 30 s: a mobile
    /// network blip or an app switch, not a long absence.
    #[serde(default = "defaults::resume_grace", deserialize_with = "fields::seconds")]
    pub resume_grace: Duration,
    /// Pushes kept per resumable session for replay. Default 64.
    #[serde(default = "defaults::resume_buffer")]
    pub resume_buffer: usize,
    /// Body bytes kept per resumable session for replay. Default 64 KiB:
    /// with 10 000 resumable clients, at most 640 MiB in the worst case and
    /// far less when clients acknowledge.
    #[serde(default = "defaults::resume_buffer_bytes")]
    pub resume_buffer_bytes: usize,
    /// Most session data keys per session. Default 32.
    #[serde(default = "defaults::max_data_keys")]
    pub max_data_keys: usize,
    /// Most session data bytes (keys plus values) per session. Default
    /// 4 KiB: the data travels with every forwarded request.
    #[serde(default = "defaults::max_data_bytes")]
    pub max_data_bytes: usize,
    /// Most groups one session may be in. Default 64.
    #[serde(default = "defaults::max_groups_per_session")]
    pub max_groups_per_session: usize,
    /// Command id of a push telling a client that a node its session is
    /// pinned to (its room's node, say) left the cluster: no route lists
    /// it and this proxy has no link to it. The body names the node
    /// (`{"node", "node_type"}`). Default none: no notice (obespoir sends
    /// none); the client learns on its next message, which another node
    /// answers.
    #[serde(default)]
    pub node_lost_command: Option<i32>,
}

impl Default for SessionsConfig {
    fn default() -> Self {
        SessionsConfig {
            unique_login: false,
            bind_command: defaults::bind_command(),
            kick_command: defaults::kick_command(),
            resume_command: defaults::resume_command(),
            ack_command: defaults::ack_command(),
            resume_grace: defaults::resume_grace(),
            resume_buffer: defaults::resume_buffer(),
            resume_buffer_bytes: defaults::resume_buffer_bytes(),
            max_data_keys: defaults::max_data_keys(),
            max_data_bytes: defaults::max_data_bytes(),
            max_groups_per_session: defaults::max_groups_per_session(),
            node_lost_command: None,
        }
    }
}

impl SessionsConfig {
    /// Problems with the section, as (field under `websocket.sessions`,
    /// reason). `reserved` are the other command ids the proxy answers
    /// itself (heartbeat, offline), by field name.
    pub(crate) fn problems(&self, reserved: &[(&str, i32)]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut commands = vec![
            ("bind_command", self.bind_command),
            ("kick_command", self.kick_command),
            ("resume_command", self.resume_command),
            ("ack_command", self.ack_command),
        ];
        if let Some(id) = self.node_lost_command {
            commands.push(("node_lost_command", id));
        }
        for (i, (name, id)) in commands.iter().enumerate() {
            let clash = commands[..i].iter().chain(reserved).find(|(_, other)| other == id);
            if let Some((other, _)) = clash {
                out.push((format!("sessions.{name}"), format!("{id} is already used by {other}")));
            }
        }
        let positive = [
            ("resume_buffer", self.resume_buffer),
            ("resume_buffer_bytes", self.resume_buffer_bytes),
            ("max_data_keys", self.max_data_keys),
            ("max_data_bytes", self.max_data_bytes),
            ("max_groups_per_session", self.max_groups_per_session),
        ];
        for (name, value) in positive {
            if value == 0 {
                out.push((format!("sessions.{name}"), "must be greater than 0".to_owned()));
            }
        }
        out
    }
}

mod defaults {
    use std::time::Duration;

    pub(super) fn bind_command() -> i32 {
        998
    }
    pub(super) fn kick_command() -> i32 {
        10_003
    }
    pub(super) fn resume_command() -> i32 {
        10_001
    }
    pub(super) fn ack_command() -> i32 {
        10_002
    }
    pub(super) fn resume_grace() -> Duration {
        Duration::from_secs(30)
    }
    pub(super) fn resume_buffer() -> usize {
        64
    }
    pub(super) fn resume_buffer_bytes() -> usize {
        64 * 1024
    }
    pub(super) fn max_data_keys() -> usize {
        32
    }
    pub(super) fn max_data_bytes() -> usize {
        4096
    }
    pub(super) fn max_groups_per_session() -> usize {
        64
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn defaults_are_valid_and_clashes_and_zeros_are_named() {
        let cfg = SessionsConfig::default();
        assert!(cfg.problems(&[("heartbeat_command", 10_000), ("offline_command", 999)]).is_empty());
        let bad = SessionsConfig { ack_command: 10_001, max_data_keys: 0, ..SessionsConfig::default() };
        let problems = bad.problems(&[("heartbeat_command", 10_003)]);
        let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["sessions.kick_command", "sessions.ack_command", "sessions.max_data_keys"]);
        assert!(problems[1].1.contains("resume_command"), "{problems:?}");
        let lost = SessionsConfig { node_lost_command: Some(10_000), ..SessionsConfig::default() };
        let problems = lost.problems(&[("heartbeat_command", 10_000)]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].0, "sessions.node_lost_command");
        assert!(problems[0].1.contains("heartbeat_command"), "{problems:?}");
    }

    #[test]
    fn a_node_config_names_the_field_and_reads_seconds() {
        let text = |sessions: &str| {
            format!(
                r#"{{name: "p", type: "proxy", host: "127.0.0.1",
                    rpc: {{port: 1, token: "helloworldiloveyou~1234567890123"}},
                    websocket: {{port: 2, sessions: {{ {sessions} }} }}}}"#
            )
        };
        let path = std::path::Path::new("p.json5");
        let err = crate::NodeConfig::from_json5_str(&text("ack_command: 10000"), path).unwrap_err();
        assert!(err.to_string().contains("websocket.sessions.ack_command"), "{err}");
        // A topic command may not reuse the lost-node notice's id either.
        let text_topics = text("node_lost_command: 10004")
            .replace("websocket:", "topics: {subscribe_command: 10004}, websocket:");
        let err = crate::NodeConfig::from_json5_str(&text_topics, path).unwrap_err();
        assert!(err.to_string().contains("topics.subscribe_command"), "{err}");
        assert!(err.to_string().contains("node_lost_command"), "{err}");
        let cfg =
            crate::NodeConfig::from_json5_str(&text("unique_login: true, resume_grace: 0.5"), path).unwrap();
        let sessions = cfg.websocket.unwrap().sessions;
        assert!(sessions.unique_login);
        assert_eq!(sessions.resume_grace, Duration::from_millis(500));
    }
}
