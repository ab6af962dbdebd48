//! A message published to a topic, and what makes a topic name or a
//! conflation key valid.

use bytes::Bytes;

/// Longest topic name, in bytes.
pub(crate) const MAX_TOPIC_LEN: usize = 128;
/// Longest conflation key, in bytes.
pub(crate) const MAX_KEY_LEN: usize = 128;

/// One message for the subscribers of `topic`: each gets a frame with
/// `command` and `body`. A subscriber reading slower than the topic is
/// published gets only the latest message per `key` (conflation); with no
/// key, the latest message of the topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMessage {
    /// The topic: 1 to 128 bytes, no control characters.
    pub topic: String,
    /// The conflation key (at most 128 bytes), e.g. a symbol.
    pub key: Option<String>,
    /// The command id of the frame subscribers get.
    pub command: i32,
    /// The frame's body (JSON for the usual clients).
    pub body: Bytes,
}

impl TopicMessage {
    /// A message without a conflation key.
    pub fn new(topic: impl Into<String>, command: i32, body: impl Into<Bytes>) -> TopicMessage {
        TopicMessage { topic: topic.into(), key: None, command, body: body.into() }
    }

    /// Sets the conflation key (e.g. a symbol).
    #[must_use]
    pub fn with_key(mut self, key: impl Into<String>) -> TopicMessage {
        self.key = Some(key.into());
        self
    }

    /// The message a `topic_publish` operation carries, with the
    /// envelope's command and payload.
    pub(crate) fn from_wire(
        command: i32,
        payload: &Bytes,
        publish: &crate::proto::TopicPublish,
    ) -> TopicMessage {
        TopicMessage {
            topic: publish.topic.clone(),
            key: (!publish.key.is_empty()).then(|| publish.key.clone()),
            command,
            body: payload.clone(),
        }
    }

    /// Checks the name, the key and the body size.
    pub(crate) fn validate(&self, max_body: usize) -> Result<(), InvalidMessage> {
        check_topic(&self.topic).map_err(InvalidMessage::Name)?;
        if let Some(key) = &self.key {
            check_name("conflation key", key, MAX_KEY_LEN).map_err(InvalidMessage::Name)?;
        }
        if self.body.len() > max_body {
            return Err(InvalidMessage::TooLarge { size: self.body.len(), max: max_body });
        }
        Ok(())
    }
}

/// Why a message cannot be published.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum InvalidMessage {
    /// A bad topic name or conflation key.
    #[error("{0}")]
    Name(String),
    #[error("message body is {size} bytes; topics.max_message_bytes is {max}")]
    TooLarge { size: usize, max: usize },
}

/// A topic name: 1 to 128 bytes, no control characters.
pub(crate) fn check_topic(topic: &str) -> Result<(), String> {
    check_name("topic", topic, MAX_TOPIC_LEN)
}

fn check_name(what: &str, name: &str, max: usize) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!("{what} must not be empty"));
    }
    if name.len() > max {
        return Err(format!("{what} is {} bytes; at most {max}", name.len()));
    }
    if name.chars().any(char::is_control) {
        return Err(format!("{what} {name:?} contains control characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keys_and_sizes_are_checked() {
        let ok = TopicMessage::new("quotes.AAPL", 1, "{}").with_key("AAPL");
        assert!(ok.validate(16).is_ok());
        let err = |m: TopicMessage| m.validate(16).unwrap_err().to_string();
        assert!(err(TopicMessage::new("", 1, "")).contains("empty"));
        assert!(err(TopicMessage::new("t".repeat(129), 1, "")).contains("at most 128"));
        assert!(err(TopicMessage::new("a\nb", 1, "")).contains("control"));
        assert!(err(TopicMessage::new("t", 1, "").with_key("")).contains("key"));
        let big = TopicMessage::new("t", 1, vec![b'x'; 17]).validate(16);
        assert_eq!(big, Err(InvalidMessage::TooLarge { size: 17, max: 16 }));
    }
}
