//! The topic side of [`Context`]: subscribing sessions and publishing.
//! See `docs/realtime.md`.
//!
//! Subscriptions live on the proxy that holds the session: subscribing is
//! answered by it once the topic's snapshot is queued for the client (so
//! the snapshot reaches the client before the handler's reply). A publish
//! goes to every proxy, one message each, like a group broadcast.

use bytes::Bytes;
use serde::Serialize;

use super::context::Context;
use super::json::encode_body;
use crate::id::SessionId;
use crate::session::SessionRequest;
use crate::status::Status;
use crate::topic::TopicMessage;

impl Context {
    /// Subscribes this message's session to `topic`: its client gets the
    /// topic's snapshot (its last messages, per the topic's policy), then
    /// every message published to it.
    ///
    /// # Errors
    /// `BAD_REQUEST` for a session-less message, a bad topic name or past
    /// `topics.max_topics_per_session`, `OVERLOADED` past
    /// `topics.max_subscribers_per_topic`; otherwise as [`Context::bind`].
    pub async fn subscribe(&self, topic: &str) -> Result<(), Status> {
        let session = self.require_session()?.clone();
        self.subscribe_session(&session, topic).await
    }

    /// Subscribes any session to `topic` (see [`Context::subscribe`]).
    ///
    /// # Errors
    /// As [`Context::subscribe`].
    pub async fn subscribe_session(&self, session: &SessionId, topic: &str) -> Result<(), Status> {
        let request = SessionRequest::Subscribe { session: session.clone(), topic: topic.to_owned() };
        self.node.session_call(request).await
    }

    /// Unsubscribes this message's session from `topic`.
    ///
    /// # Errors
    /// As [`Context::subscribe`].
    pub async fn unsubscribe(&self, topic: &str) -> Result<(), Status> {
        let session = self.require_session()?.clone();
        self.unsubscribe_session(&session, topic).await
    }

    /// Unsubscribes any session from `topic`.
    ///
    /// # Errors
    /// As [`Context::subscribe`].
    pub async fn unsubscribe_session(&self, session: &SessionId, topic: &str) -> Result<(), Status> {
        let request = SessionRequest::Unsubscribe { session: session.clone(), topic: topic.to_owned() };
        self.node.session_call(request).await
    }

    /// Publishes `body` (as JSON) with `command` to every subscriber of
    /// `topic`, on every proxy.
    ///
    /// # Errors
    /// `BAD_REQUEST` for a bad topic name or a body over
    /// `topics.max_message_bytes`; `UNAVAILABLE`/`OVERLOADED` when it
    /// cannot be sent.
    pub fn publish<T: Serialize + ?Sized>(&self, topic: &str, command: i32, body: &T) -> Result<(), Status> {
        self.publish_message(TopicMessage::new(topic, command, encode_body(body)?))
    }

    /// As [`Context::publish`], with a body already encoded.
    ///
    /// # Errors
    /// As [`Context::publish`].
    pub fn publish_bytes(&self, topic: &str, command: i32, body: Bytes) -> Result<(), Status> {
        self.publish_message(TopicMessage::new(topic, command, body))
    }

    /// Publishes a message, with its conflation key if it has one: a slow
    /// subscriber gets the latest message per key.
    ///
    /// # Errors
    /// As [`Context::publish`].
    pub fn publish_message(&self, message: TopicMessage) -> Result<(), Status> {
        self.node.publish(message, self.session.as_ref())
    }
}
