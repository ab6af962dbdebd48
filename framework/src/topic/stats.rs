//! Counters of topics on one node.

use std::sync::atomic::{AtomicU64, Ordering};

/// Topic counters of one node; read them with [`TopicStats::get`] (they
/// are also on `/metrics` as `espoir_topic_*`).
#[derive(Debug, Default)]
pub struct TopicStats {
    /// Messages this node published (handlers, `POST /publish`, calls).
    pub published: AtomicU64,
    /// Frames queued for subscribers on this proxy (snapshots excluded).
    pub delivered: AtomicU64,
    /// Snapshot frames queued for new subscribers.
    pub snapshot_frames: AtomicU64,
    /// Messages that replaced an older one of the same (topic, key) in a
    /// slow connection's conflation map, or waited there.
    pub conflated: AtomicU64,
    /// Subscriptions made.
    pub subscribed: AtomicU64,
    /// Subscriptions refused at `topics.max_topics_per_session`.
    pub refused_topics_per_session: AtomicU64,
    /// Subscriptions refused at `topics.max_subscribers_per_topic`.
    pub refused_subscribers_per_topic: AtomicU64,
    /// Messages refused for a body over `topics.max_message_bytes`.
    pub refused_message_size: AtomicU64,
    /// Messages not kept for a snapshot at `topics.max_retained_topics`.
    pub refused_retained_topics: AtomicU64,
    /// Connections closed because their conflation map was full
    /// (`topics.max_pending_keys`).
    pub pending_overflows: AtomicU64,
}

impl TopicStats {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// Every counter with its metric name and help, for `/metrics`.
    pub(crate) fn metrics(&self) -> [(&'static str, &'static str, u64); 10] {
        let get = TopicStats::get;
        [
            ("topic_published", "Topic messages published by this node", get(&self.published)),
            ("topic_delivered", "Topic frames queued for subscribers on this proxy", get(&self.delivered)),
            (
                "topic_snapshot_frames",
                "Snapshot frames queued for new subscribers",
                get(&self.snapshot_frames),
            ),
            (
                "topic_conflated",
                "Topic messages conflated for slow subscribers (latest per key kept)",
                get(&self.conflated),
            ),
            ("topic_subscribed", "Topic subscriptions made", get(&self.subscribed)),
            (
                "topic_refused_topics_per_session",
                "Subscriptions refused at topics.max_topics_per_session",
                get(&self.refused_topics_per_session),
            ),
            (
                "topic_refused_subscribers_per_topic",
                "Subscriptions refused at topics.max_subscribers_per_topic",
                get(&self.refused_subscribers_per_topic),
            ),
            (
                "topic_refused_message_size",
                "Topic messages refused over topics.max_message_bytes",
                get(&self.refused_message_size),
            ),
            (
                "topic_refused_retained_topics",
                "Topic messages not kept for a snapshot at topics.max_retained_topics",
                get(&self.refused_retained_topics),
            ),
            (
                "topic_pending_overflows",
                "Connections closed with a full conflation map (topics.max_pending_keys)",
                get(&self.pending_overflows),
            ),
        ]
    }
}
