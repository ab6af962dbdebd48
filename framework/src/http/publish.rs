//! `POST /publish`: a producer outside the cluster publishes a batch of
//! topic messages through any node's admin port (bearer token).
//!
//! ```json
//! {"messages": [
//!   {"topic": "quotes.AAPL", "key": "AAPL", "command": 3001, "body": {"px": 187.2}}
//! ]}
//! ```
//!
//! `body` is any JSON value; subscribers get it as the frame's JSON body.
//! `key` (optional) is the conflation key. The whole batch is checked
//! before anything is sent: one bad message refuses the batch with 400,
//! naming it. A batch that fails while being sent (no proxy reachable)
//! answers 503 with how many messages went out before.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};

use super::server::{HttpRequest, HttpResponse};
use crate::node::NodeState;
use crate::sessions::{publish, publish_refused};
use crate::topic::{InvalidMessage, TopicMessage};

/// Most messages in one call: a larger batch is refused, not truncated.
pub(crate) const MAX_BATCH: usize = 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch {
    messages: Vec<Item>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Item {
    topic: String,
    command: i32,
    body: Value,
    #[serde(default)]
    key: Option<String>,
}

/// Why a batch is refused.
#[derive(Debug)]
pub(crate) struct BadBatch {
    pub(crate) reason: String,
    /// Set when a message is over `topics.max_message_bytes`.
    pub(crate) invalid: Option<InvalidMessage>,
}

impl From<String> for BadBatch {
    fn from(reason: String) -> BadBatch {
        BadBatch { reason, invalid: None }
    }
}

/// The messages of a request body, checked, or why not (for a 400).
pub(crate) fn parse_batch(body: &[u8], max_body: usize) -> Result<Vec<TopicMessage>, BadBatch> {
    let batch: Batch = serde_json::from_slice(body).map_err(|e| {
        format!("body must be {{\"messages\": [{{\"topic\", \"command\", \"body\", \"key\"?}}, ...]}}: {e}")
    })?;
    if batch.messages.is_empty() {
        return Err(String::from("messages must not be empty").into());
    }
    if batch.messages.len() > MAX_BATCH {
        return Err(format!("{} messages in one call; at most {MAX_BATCH}", batch.messages.len()).into());
    }
    batch
        .messages
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let message = TopicMessage {
                topic: item.topic,
                key: item.key,
                command: item.command,
                body: Bytes::from(item.body.to_string()),
            };
            match message.validate(max_body) {
                Ok(()) => Ok(message),
                Err(invalid) => {
                    Err(BadBatch { reason: format!("messages[{i}]: {invalid}"), invalid: Some(invalid) })
                }
            }
        })
        .collect()
}

/// Publishes the batch in order.
pub(crate) fn publish_batch(shared: &NodeState, req: &HttpRequest) -> HttpResponse {
    let messages = match parse_batch(&req.body, shared.config.topics.max_message_bytes) {
        Ok(messages) => messages,
        Err(bad) => {
            if let Some(invalid) = &bad.invalid {
                publish_refused(shared, invalid);
            }
            return HttpResponse::error(400, &bad.reason);
        }
    };
    let total = messages.len();
    for (published, message) in messages.into_iter().enumerate() {
        if let Err(status) = publish(shared, message, None) {
            let msg = format!("messages[{published}] not sent: {status}");
            let body = json!({ "code": 503, "msg": msg, "published": published, "total": total });
            return HttpResponse::json_status(503, &body);
        }
    }
    HttpResponse::json(&json!({ "code": 200, "published": total }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_parsed_in_order_with_json_bodies_and_keys() {
        let body = br#"{"messages": [
            {"topic": "q.A", "key": "A", "command": 7, "body": {"px": 1.5}},
            {"topic": "q.B", "command": 8, "body": "text"}
        ]}"#;
        let messages = parse_batch(body, 100).unwrap();
        assert_eq!(messages[0], TopicMessage::new("q.A", 7, r#"{"px":1.5}"#).with_key("A"));
        assert_eq!(messages[1], TopicMessage::new("q.B", 8, r#""text""#));
    }

    #[test]
    fn bad_batches_say_what_is_wrong() {
        let cases: [(&[u8], &str); 6] = [
            (b"not json", "body must be"),
            (br#"{"messages": []}"#, "must not be empty"),
            (br#"{"messages": [{"topic": "t", "command": 1}]}"#, "missing field `body`"),
            (br#"{"messages": [{"topic": "t", "command": 1, "body": 1, "extra": 1}]}"#, "unknown field"),
            (br#"{"messages": [{"topic": "ok", "command": 1, "body": 1}, {"topic": "", "command": 1, "body": 1}]}"#, "messages[1]: topic must not be empty"),
            (br#"{"messages": [{"topic": "t", "command": 1, "body": "0123456789"}]}"#, "messages[0]: message body is 12 bytes"),
        ];
        for (body, expected) in cases {
            let err = parse_batch(body, 10).unwrap_err().reason;
            assert!(err.contains(expected), "{err:?} should contain {expected:?}");
        }
        let many = format!(
            r#"{{"messages": [{}]}}"#,
            vec![r#"{"topic":"t","command":1,"body":1}"#; MAX_BATCH + 1].join(",")
        );
        assert!(parse_batch(many.as_bytes(), 10).unwrap_err().reason.contains("at most 1000"));
    }
}
