//! The topic commands a client sends, answered by its proxy:
//! `topics.subscribe_command` and `topics.unsubscribe_command`, with a
//! body `{"topic": "quotes.AAPL"}` or `{"topics": ["quotes.AAPL", ..]}`.
//!
//! Subscribing queues each topic's snapshot before the reply, so the
//! client reads the snapshot, then the reply, then live messages. Topics
//! are taken in order; the first refused one ends the command with an
//! error frame naming it (the ones before it stay subscribed). A topic
//! whose policy says `clients: false` is refused: only handlers subscribe
//! sessions to it.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;

use super::reply::error_frame;
use crate::codec::ClientFrame;
use crate::id::SessionId;
use crate::node::NodeState;
use crate::sessions::Sessions;
use crate::status::{Code, Status};

/// Most topics one command names.
const MAX_TOPICS_PER_COMMAND: usize = 64;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TopicsBody {
    #[serde(default)]
    topic: Option<String>,
    #[serde(default)]
    topics: Vec<String>,
}

/// Which topic command `command` is: `Some(true)` subscribe, `Some(false)`
/// unsubscribe, on a proxy that holds sessions.
pub(crate) fn topic_command(shared: &NodeState, command: i32) -> Option<bool> {
    shared.sessions.as_ref()?;
    let cfg = &shared.config.topics;
    if command == cfg.subscribe_command {
        Some(true)
    } else if command == cfg.unsubscribe_command {
        Some(false)
    } else {
        None
    }
}

/// Answers a topic command of `session`: the encoded reply or error frame.
pub(crate) fn answer(
    shared: &NodeState,
    session: &SessionId,
    frame: &ClientFrame,
    subscribe: bool,
) -> Option<Bytes> {
    let command = frame.command;
    let result = shared
        .sessions
        .as_deref()
        .ok_or_else(|| Status::bad_request("topics are served by proxies"))
        .and_then(|sessions| run(shared, sessions, session, &frame.body, subscribe));
    match result {
        Ok(body) => ClientFrame::new(command, body).encode(usize::MAX).ok(),
        Err(status) => {
            shared.metrics.error(&status);
            error_frame(command, &status)
        }
    }
}

fn run(
    shared: &NodeState,
    sessions: &Sessions,
    session: &SessionId,
    body: &[u8],
    subscribe: bool,
) -> Result<Bytes, Status> {
    let topics = parse(body)?;
    let mut snapshot = 0;
    for topic in &topics {
        if subscribe {
            if !shared.config.topics.policy(topic).clients {
                return Err(Status::new(
                    Code::FORBIDDEN,
                    format!(
                        "topic {topic:?}: clients cannot subscribe themselves (its policy says clients: false)"
                    ),
                ));
            }
            snapshot += sessions.subscribe(session.seq(), topic).map_err(|s| named(topic, &s))?;
        } else {
            sessions.unsubscribe(session.seq(), topic).map_err(|s| named(topic, &s))?;
        }
    }
    let body = if subscribe {
        json!({ "code": 200, "topics": topics, "snapshot": snapshot })
    } else {
        json!({ "code": 200, "topics": topics })
    };
    Ok(Bytes::from(body.to_string()))
}

fn named(topic: &str, status: &Status) -> Status {
    Status::new(status.code(), format!("topic {topic:?}: {}", status.message()))
}

/// The topics a command names, in order, without repeats.
fn parse(body: &[u8]) -> Result<Vec<String>, Status> {
    let parsed: TopicsBody = serde_json::from_slice(body).map_err(|e| {
        Status::bad_request(format!("body must be {{\"topic\": \"..\"}} or {{\"topics\": [\"..\"]}}: {e}"))
    })?;
    let mut topics = parsed.topics;
    topics.extend(parsed.topic);
    if topics.is_empty() {
        return Err(Status::bad_request("name a topic (\"topic\") or topics (\"topics\")"));
    }
    if topics.len() > MAX_TOPICS_PER_COMMAND {
        return Err(Status::bad_request(format!("at most {MAX_TOPICS_PER_COMMAND} topics per command")));
    }
    let mut seen = std::collections::HashSet::new();
    topics.retain(|t| seen.insert(t.clone()));
    Ok(topics)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_topic_or_many_without_repeats() {
        assert_eq!(parse(br#"{"topic": "a"}"#).unwrap(), ["a"]);
        assert_eq!(parse(br#"{"topics": ["a", "b", "a"], "topic": "c"}"#).unwrap(), ["a", "b", "c"]);
    }

    #[test]
    fn bad_bodies_are_refused_with_a_reason() {
        for (body, expected) in [
            (&b"{}"[..], "name a topic"),
            (b"[1]", "body must be"),
            (br#"{"topic": "a", "x": 1}"#, "unknown field"),
        ] {
            let err = parse(body).unwrap_err();
            assert!(err.message().contains(expected), "{err}");
        }
        let many = format!(
            r#"{{"topics": [{}]}}"#,
            (0..65).map(|i| format!("\"t{i}\"")).collect::<Vec<_>>().join(",")
        );
        assert!(parse(many.as_bytes()).unwrap_err().message().contains("at most 64"));
    }
}
