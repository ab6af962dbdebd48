//! `topics`: publish/subscribe on proxies, with snapshots and conflation.
//! *Espoir extension*; every key has a default, so a file never needs the
//! section. See `docs/realtime.md`.

use serde::Deserialize;

/// Topic settings of a node (`topics`). Proxies hold the subscriptions
/// and snapshots and enforce the bounds; every node checks what it
/// publishes against `max_message_bytes`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicsConfig {
    /// Command id a client sends to subscribe (`{"topic": ".."}` or
    /// `{"topics": [..]}`), answered by its proxy. Default 10004, next to
    /// the session commands 10001-10003.
    #[serde(default = "defaults::subscribe_command")]
    pub subscribe_command: i32,
    /// Command id a client sends to unsubscribe. Default 10005.
    #[serde(default = "defaults::unsubscribe_command")]
    pub unsubscribe_command: i32,
    /// Most topics one session may subscribe to. Default 64.
    #[serde(default = "defaults::max_topics_per_session")]
    pub max_topics_per_session: usize,
    /// Most subscribers of one topic on one proxy. Default 100 000.
    #[serde(default = "defaults::max_subscribers_per_topic")]
    pub max_subscribers_per_topic: usize,
    /// Largest message body, in bytes. Default 16 KiB.
    #[serde(default = "defaults::max_message_bytes")]
    pub max_message_bytes: usize,
    /// Most body bytes a topic keeps for its snapshot (its last values),
    /// whatever its `retain` says. Default 64 KiB.
    #[serde(default = "defaults::max_snapshot_bytes")]
    pub max_snapshot_bytes: usize,
    /// Most topics a proxy keeps a snapshot for; past it, a new topic's
    /// messages still reach subscribers but are not kept. Default 10 000.
    #[serde(default = "defaults::max_retained_topics")]
    pub max_retained_topics: usize,
    /// Most (topic, key) entries waiting in one slow connection's
    /// conflation map; past it the connection is closed as too slow.
    /// Default 1024.
    #[serde(default = "defaults::max_pending_keys")]
    pub max_pending_keys: usize,
    /// Per-topic policies, by name prefix; the first that matches wins.
    /// A topic no policy matches keeps no snapshot and is conflated.
    #[serde(default)]
    pub policies: Vec<TopicPolicy>,
}

/// How the topics whose names start with `prefix` behave.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicPolicy {
    /// Topic name prefix; `""` matches every topic.
    pub prefix: String,
    /// How many of the last messages a new subscriber gets first (its
    /// snapshot): 0 none, 1 the last value, K the last K. Default 0.
    #[serde(default)]
    pub retain: usize,
    /// A subscriber that reads slower than the topic is published gets
    /// the latest message per conflation key instead of every message.
    /// `false`: it is disconnected as too slow when its queue is full, as
    /// for any push. Default `true`.
    #[serde(default = "defaults::yes")]
    pub conflate: bool,
    /// Clients may subscribe themselves with the subscribe command.
    /// `false`: only handlers subscribe sessions (`ctx.subscribe`), after
    /// whatever check the game makes. Default `true`.
    #[serde(default = "defaults::yes")]
    pub clients: bool,
}

impl Default for TopicsConfig {
    fn default() -> Self {
        TopicsConfig {
            subscribe_command: defaults::subscribe_command(),
            unsubscribe_command: defaults::unsubscribe_command(),
            max_topics_per_session: defaults::max_topics_per_session(),
            max_subscribers_per_topic: defaults::max_subscribers_per_topic(),
            max_message_bytes: defaults::max_message_bytes(),
            max_snapshot_bytes: defaults::max_snapshot_bytes(),
            max_retained_topics: defaults::max_retained_topics(),
            max_pending_keys: defaults::max_pending_keys(),
            policies: Vec::new(),
        }
    }
}

/// The policy of a topic no configured policy matches.
static DEFAULT_POLICY: TopicPolicy =
    TopicPolicy { prefix: String::new(), retain: 0, conflate: true, clients: true };

impl TopicsConfig {
    /// The policy of `topic`: the first whose prefix matches.
    pub(crate) fn policy(&self, topic: &str) -> &TopicPolicy {
        self.policies.iter().find(|p| topic.starts_with(&p.prefix)).unwrap_or(&DEFAULT_POLICY)
    }

    /// Problems with the section, as (field under `topics`, reason).
    /// `reserved` are the other command ids the proxy answers itself.
    pub(crate) fn problems(&self, reserved: &[(&str, i32)]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let commands = [
            ("subscribe_command", self.subscribe_command),
            ("unsubscribe_command", self.unsubscribe_command),
        ];
        for (i, (name, id)) in commands.iter().enumerate() {
            if let Some((other, _)) = commands[..i].iter().chain(reserved).find(|(_, other)| other == id) {
                out.push(((*name).to_owned(), format!("{id} is already used by {other}")));
            }
        }
        let positive = [
            ("max_topics_per_session", self.max_topics_per_session),
            ("max_subscribers_per_topic", self.max_subscribers_per_topic),
            ("max_message_bytes", self.max_message_bytes),
            ("max_snapshot_bytes", self.max_snapshot_bytes),
            ("max_pending_keys", self.max_pending_keys),
        ];
        for (name, value) in positive {
            if value == 0 {
                out.push((name.to_owned(), "must be greater than 0".to_owned()));
            }
        }
        for (i, policy) in self.policies.iter().enumerate() {
            if self.policies[..i].iter().any(|p| policy.prefix.starts_with(&p.prefix)) {
                out.push((
                    format!("policies[{i}].prefix"),
                    format!("{:?} is shadowed by an earlier policy", policy.prefix),
                ));
            }
        }
        out
    }
}

mod defaults {
    pub(super) fn subscribe_command() -> i32 {
        10_004
    }
    pub(super) fn unsubscribe_command() -> i32 {
        10_005
    }
    pub(super) fn max_topics_per_session() -> usize {
        64
    }
    pub(super) fn max_subscribers_per_topic() -> usize {
        100_000
    }
    pub(super) fn max_message_bytes() -> usize {
        16 * 1024
    }
    pub(super) fn max_snapshot_bytes() -> usize {
        64 * 1024
    }
    pub(super) fn max_retained_topics() -> usize {
        10_000
    }
    pub(super) fn max_pending_keys() -> usize {
        1024
    }
    /// `conflate` and `clients`.
    pub(super) fn yes() -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_matching_policy_wins_and_unmatched_topics_conflate_without_snapshot() {
        let cfg = TopicsConfig {
            policies: vec![
                TopicPolicy { prefix: "quotes.".into(), retain: 50, conflate: true, clients: true },
                TopicPolicy { prefix: "chat.".into(), retain: 1, conflate: false, clients: false },
            ],
            ..TopicsConfig::default()
        };
        assert_eq!(cfg.policy("quotes.AAPL").retain, 50);
        assert!(!cfg.policy("chat.room").conflate);
        assert_eq!(cfg.policy("other"), &DEFAULT_POLICY);
        assert!(cfg.problems(&[]).is_empty());
    }

    #[test]
    fn clashing_commands_zero_bounds_and_shadowed_policies_are_problems() {
        let cfg = TopicsConfig {
            subscribe_command: 10_001,
            max_pending_keys: 0,
            policies: vec![
                TopicPolicy { prefix: "q".into(), retain: 1, conflate: true, clients: true },
                TopicPolicy { prefix: "quotes.".into(), retain: 2, conflate: true, clients: true },
            ],
            ..TopicsConfig::default()
        };
        let problems = cfg.problems(&[("sessions.resume_command", 10_001)]);
        let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["subscribe_command", "max_pending_keys", "policies[1].prefix"], "{problems:?}");
    }
}
