//! Topics on one proxy: each topic's local subscribers and its snapshot.
//!
//! A topic is known while it has a subscriber here or keeps messages for
//! its snapshot; topics that keep messages are bounded in number
//! (`topics.max_retained_topics`), subscribers per topic by
//! `topics.max_subscribers_per_topic`, and a session's topics by the
//! session (`topics.max_topics_per_session`), so nothing here grows
//! without bound.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::retain::{Kept, Retained};

#[derive(Debug, Default)]
struct Entry {
    subscribers: HashSet<u64>,
    retained: Retained,
}

/// What [`TopicIndex::subscribe`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Subscribed {
    /// A new subscriber: the shared name to remember on the session.
    New(Arc<str>),
    /// It was subscribed already.
    Already,
}

/// Topic → local subscribers (session numbers) and snapshot.
#[derive(Debug, Default)]
pub(crate) struct TopicIndex {
    topics: HashMap<Arc<str>, Entry>,
    /// Topics whose snapshot holds messages.
    retained_topics: usize,
}

impl TopicIndex {
    /// Subscribes `seq` to `topic`, unless the topic has `max` subscribers.
    pub(crate) fn subscribe(&mut self, topic: &str, seq: u64, max: usize) -> Result<Subscribed, ()> {
        if let Some((name, entry)) = self.topics.get_key_value(topic) {
            if entry.subscribers.contains(&seq) {
                return Ok(Subscribed::Already);
            }
            if entry.subscribers.len() >= max {
                return Err(());
            }
            let name = Arc::clone(name);
            self.topics.get_mut(topic).ok_or(())?.subscribers.insert(seq);
            return Ok(Subscribed::New(name));
        }
        let name: Arc<str> = Arc::from(topic);
        let entry = Entry { subscribers: HashSet::from([seq]), retained: Retained::default() };
        self.topics.insert(Arc::clone(&name), entry);
        Ok(Subscribed::New(name))
    }

    /// Unsubscribes `seq`; true if it was subscribed. A topic with neither
    /// subscribers nor snapshot is forgotten.
    pub(crate) fn unsubscribe(&mut self, topic: &str, seq: u64) -> bool {
        let Some(entry) = self.topics.get_mut(topic) else { return false };
        let was = entry.subscribers.remove(&seq);
        if entry.subscribers.is_empty() && entry.retained.is_empty() {
            self.topics.remove(topic);
        }
        was
    }

    /// The local subscribers of `topic`.
    pub(crate) fn subscribers(&self, topic: &str) -> impl Iterator<Item = u64> + '_ {
        self.topics.get(topic).into_iter().flat_map(|e| e.subscribers.iter().copied())
    }

    /// Subscribers of `topic` here.
    #[cfg(test)]
    pub(crate) fn subscriber_count(&self, topic: &str) -> usize {
        self.topics.get(topic).map_or(0, |e| e.subscribers.len())
    }

    /// Keeps a message for the topic's snapshot (its last `keep`, at most
    /// `max_bytes`). False when it was not kept because `max_topics`
    /// topics keep messages already.
    pub(crate) fn retain(
        &mut self,
        topic: &str,
        message: Kept,
        keep: usize,
        max_bytes: usize,
        max_topics: usize,
    ) -> bool {
        if keep == 0 {
            return true;
        }
        let entry = match self.topics.get_mut(topic) {
            Some(entry) => entry,
            None if self.retained_topics >= max_topics => return false,
            None => self.topics.entry(Arc::from(topic)).or_default(),
        };
        let was_empty = entry.retained.is_empty();
        if was_empty && self.retained_topics >= max_topics {
            return false;
        }
        entry.retained.push(message, keep, max_bytes);
        match (was_empty, entry.retained.is_empty()) {
            (true, false) => self.retained_topics += 1,
            (false, true) => self.retained_topics -= 1,
            _ => {}
        }
        if entry.subscribers.is_empty() && entry.retained.is_empty() {
            self.topics.remove(topic);
        }
        true
    }

    /// The snapshot of `topic`, oldest first.
    pub(crate) fn snapshot(&self, topic: &str) -> impl Iterator<Item = &Kept> + '_ {
        self.topics.get(topic).into_iter().flat_map(|e| e.retained.iter())
    }

    /// Topics known here, and those keeping a snapshot.
    pub(crate) fn len(&self) -> (usize, usize) {
        (self.topics.len(), self.retained_topics)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    #[test]
    fn subscribers_are_bounded_and_an_empty_topic_is_forgotten() {
        let mut index = TopicIndex::default();
        assert!(matches!(index.subscribe("t", 1, 2), Ok(Subscribed::New(_))));
        assert_eq!(index.subscribe("t", 1, 2), Ok(Subscribed::Already));
        assert!(index.subscribe("t", 2, 2).is_ok());
        assert_eq!(index.subscribe("t", 3, 2), Err(()));
        assert_eq!(index.subscriber_count("t"), 2);
        assert!(index.unsubscribe("t", 1) && !index.unsubscribe("t", 1));
        index.unsubscribe("t", 2);
        assert_eq!(index.len(), (0, 0));
    }

    #[test]
    fn a_snapshot_outlives_its_subscribers_within_the_topic_bound() {
        let mut index = TopicIndex::default();
        let kept = || Kept { command: 1, key: None, body: Bytes::from_static(b"v") };
        assert!(index.retain("a", kept(), 2, 100, 1));
        assert!(!index.retain("b", kept(), 2, 100, 1), "a second retained topic is over the bound");
        assert!(index.retain("c", kept(), 0, 100, 1), "a topic that keeps nothing is not counted");
        assert_eq!(index.len(), (1, 1));
        assert_eq!(index.snapshot("a").count(), 1);
        index.subscribe("a", 7, 10).unwrap();
        index.unsubscribe("a", 7);
        assert_eq!(index.snapshot("a").count(), 1, "the snapshot stays for the next subscriber");
    }
}
