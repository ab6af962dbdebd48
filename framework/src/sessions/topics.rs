//! Topics on one proxy: subscribing its sessions, snapshots, and
//! delivering published messages to local subscribers, conflated for
//! connections that read slower than their topics are published.
//!
//! **No gap, no duplicate at the snapshot boundary.** Subscribing queues
//! the topic's snapshot and adds the subscriber under the table lock that
//! every delivery of the topic also takes: each message is either in the
//! snapshot or delivered live, never both, never neither.
//!
//! **Conflation.** A message for a connection whose push queue is full (in
//! frames or bytes) waits in the connection's conflation map
//! ([`Conflator`](crate::topic::Conflator)) as the latest of its (topic,
//! key), replacing an older one there; once a key waits, newer messages of
//! that key wait too, so no message overtakes an older one of its key. The
//! connection drains the map once its queue is empty. Nothing blocks: a
//! fast subscriber on the same proxy gets every message whatever the slow
//! ones do. A full map (`topics.max_pending_keys`) closes the connection
//! as too slow, as does a full queue on a topic whose policy does not
//! conflate.
//!
//! Topic messages are not numbered for resume: a resumed client
//! subscribes again for a fresh snapshot (`docs/realtime.md`).

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::record::{Conn, Outbound, SessionRecord, Table, gone, too_slow};
use super::table::Sessions;
use crate::status::Status;
use crate::topic::{InvalidMessage, Kept, Offer, Subscribed, TopicMessage, TopicStats, check_topic};

/// Why a frame did not join a connection's push queue.
enum QueueFull {
    Full,
    Closed,
}

impl Sessions {
    /// Subscribes session `seq` to `topic`: the topic's snapshot is queued
    /// for it first, then live messages follow. Subscribing again queues
    /// the snapshot again. Returns the number of snapshot frames.
    pub(crate) fn subscribe(&self, seq: u64, topic: &str) -> Result<usize, Status> {
        check_topic(topic).map_err(Status::bad_request)?;
        let cfg = &self.topics_cfg;
        let stats = &self.topic_stats;
        let mut guard = self.lock();
        let Table { slots, topics, .. } = &mut *guard;
        let slot = slots.get_mut(&seq).ok_or_else(gone)?;
        let already = slot.topics.iter().any(|t| &**t == topic);
        if !already && slot.topics.len() >= cfg.max_topics_per_session {
            TopicStats::bump(&stats.refused_topics_per_session);
            return Err(Status::bad_request(format!(
                "a session may subscribe to at most {} topics (topics.max_topics_per_session)",
                cfg.max_topics_per_session
            )));
        }
        match topics.subscribe(topic, seq, cfg.max_subscribers_per_topic) {
            Ok(Subscribed::New(name)) => {
                slot.topics.push(name);
                TopicStats::bump(&stats.subscribed);
            }
            Ok(Subscribed::Already) => {}
            Err(()) => {
                TopicStats::bump(&stats.refused_subscribers_per_topic);
                return Err(Status::overloaded(format!(
                    "topic {topic:?} has {} subscribers on this proxy (topics.max_subscribers_per_topic)",
                    cfg.max_subscribers_per_topic
                )));
            }
        }
        let conflate = cfg.policy(topic).conflate;
        let mut sent = 0;
        for kept in topics.snapshot(topic) {
            let key = kept.key.as_deref().unwrap_or_default();
            self.deliver_topic(slot, topic, key, kept.command, &kept.body, conflate)?;
            sent += 1;
        }
        TopicStats::add(&stats.snapshot_frames, sent);
        Ok(sent)
    }

    /// Unsubscribes session `seq` from `topic` (nothing if it was not).
    pub(crate) fn unsubscribe(&self, seq: u64, topic: &str) -> Result<(), Status> {
        check_topic(topic).map_err(Status::bad_request)?;
        let mut guard = self.lock();
        let Table { slots, topics, .. } = &mut *guard;
        let slot = slots.get_mut(&seq).ok_or_else(gone)?;
        slot.topics.retain(|t| &**t != topic);
        topics.unsubscribe(topic, seq);
        Ok(())
    }

    /// Keeps `message` for its topic's snapshot (per its policy) and
    /// queues it for every local subscriber; returns how many. The body is
    /// shared, never copied per subscriber.
    pub(crate) fn publish_local(&self, message: &TopicMessage) -> Result<usize, Status> {
        let cfg = &self.topics_cfg;
        let stats = &self.topic_stats;
        if let Err(invalid) = message.validate(cfg.max_message_bytes) {
            if matches!(invalid, InvalidMessage::TooLarge { .. }) {
                TopicStats::bump(&stats.refused_message_size);
            }
            return Err(Status::bad_request(invalid.to_string()));
        }
        self.check_size(&message.body)?;
        let policy = cfg.policy(&message.topic);
        let key = message.key.as_deref().unwrap_or_default();
        let mut guard = self.lock();
        let Table { slots, topics, .. } = &mut *guard;
        let kept = Kept {
            command: message.command,
            key: message.key.as_deref().map(Arc::from),
            body: message.body.clone(),
        };
        if !topics.retain(
            &message.topic,
            kept,
            policy.retain,
            cfg.max_snapshot_bytes,
            cfg.max_retained_topics,
        ) {
            TopicStats::bump(&stats.refused_retained_topics);
        }
        let mut sent = 0;
        for seq in topics.subscribers(&message.topic) {
            if let Some(slot) = slots.get_mut(&seq)
                && self
                    .deliver_topic(slot, &message.topic, key, message.command, &message.body, policy.conflate)
                    .is_ok()
            {
                sent += 1;
            }
        }
        TopicStats::add(&stats.delivered, sent);
        Ok(sent)
    }

    /// How much the topics hold here now.
    pub(crate) fn topic_gauges(&self) -> TopicGauges {
        let table = self.lock();
        let (topics, retained_topics) = table.topics.len();
        let mut gauges = TopicGauges { topics, retained_topics, ..TopicGauges::default() };
        for conn in table.slots.values().filter_map(|s| s.conn.as_ref()) {
            let map = conn.pending.lock();
            gauges.pending_entries += map.len();
            gauges.pending_bytes += map.bytes();
            gauges.slow_connections += usize::from(map.len() > 0);
        }
        gauges
    }
}

/// What the topics of one proxy hold at one moment (`/metrics` gauges,
/// [`RunningNode::topic_gauges`](crate::RunningNode::topic_gauges)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TopicGauges {
    /// Topics with a subscriber here or a snapshot.
    pub topics: usize,
    /// Topics keeping a snapshot.
    pub retained_topics: usize,
    /// Connections with conflated messages waiting.
    pub slow_connections: usize,
    /// Conflated messages waiting, over every connection.
    pub pending_entries: usize,
    /// Their body bytes.
    pub pending_bytes: usize,
}

impl TopicGauges {
    pub(crate) fn metrics(self) -> [(&'static str, &'static str, usize); 5] {
        [
            ("topics", "Topics with a subscriber on this proxy or a snapshot", self.topics),
            ("topics_retained", "Topics keeping a snapshot on this proxy", self.retained_topics),
            (
                "topic_slow_connections",
                "Connections with conflated topic messages waiting",
                self.slow_connections,
            ),
            (
                "topic_pending_entries",
                "Conflated topic messages waiting, over every connection",
                self.pending_entries,
            ),
            ("topic_pending_bytes", "Body bytes of the conflated topic messages waiting", self.pending_bytes),
        ]
    }
}

impl Sessions {
    /// Queues one topic frame for a session; see the module comment.
    fn deliver_topic(
        &self,
        slot: &mut SessionRecord,
        topic: &str,
        key: &str,
        command: i32,
        body: &Bytes,
        conflate: bool,
    ) -> Result<(), Status> {
        let stats = &self.topic_stats;
        // Detached (awaiting resume): topic messages are not kept for replay.
        let Some(conn) = &slot.conn else { return Ok(()) };
        if slot.stop.is_some() {
            return Err(Status::not_found("session is closing"));
        }
        let queued = if conflate {
            let mut map = conn.pending.lock();
            if map.holds(topic, key) {
                map.offer(topic, key, command, body);
                TopicStats::bump(&stats.conflated);
                return Ok(());
            }
            match try_queue(conn, command, body) {
                Err(QueueFull::Full) => match map.offer(topic, key, command, body) {
                    Offer::Full => {
                        TopicStats::bump(&stats.pending_overflows);
                        Err(QueueFull::Full)
                    }
                    Offer::Added | Offer::Replaced => {
                        TopicStats::bump(&stats.conflated);
                        conn.pending.ready.notify_one();
                        Ok(())
                    }
                },
                other => other,
            }
        } else {
            try_queue(conn, command, body)
        };
        match queued {
            Ok(()) => Ok(()),
            Err(QueueFull::Closed) => Err(gone()),
            Err(QueueFull::Full) => Err(too_slow(slot, &self.stats)),
        }
    }
}

/// Puts a frame on the connection's push queue if it has room in frames
/// and bytes. Topic frames are not numbered for resume (`seq` 0).
fn try_queue(conn: &Conn, command: i32, body: &Bytes) -> Result<(), QueueFull> {
    let push = Outbound { command, seq: 0, body: body.clone() };
    let cost = push.cost();
    if !conn.budget.reserve(cost) {
        return Err(QueueFull::Full);
    }
    conn.tx.try_send(push).map_err(|err| {
        conn.budget.release(cost);
        match err {
            mpsc::error::TrySendError::Full(_) => QueueFull::Full,
            mpsc::error::TrySendError::Closed(_) => QueueFull::Closed,
        }
    })
}

#[cfg(test)]
#[path = "topics_tests.rs"]
mod tests;
