//! One slow connection's conflation map: the latest message per
//! (topic, key) waiting for the connection to catch up, in the order the
//! keys first waited. A newer message of a waiting key replaces the older
//! one in place, so a slow reader gets every key's latest value and never
//! an ever-growing queue; the map holds at most `max_keys` entries.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;

/// What [`Conflator::offer`] did with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offer {
    /// A message of the same (topic, key) was waiting: replaced.
    Replaced,
    /// It waits under a new (topic, key).
    Added,
    /// The map already holds `max_keys` entries: not taken.
    Full,
}

/// The latest message per (topic, key) of one connection.
#[derive(Debug)]
pub(crate) struct Conflator {
    /// Keys in the order they started waiting.
    order: VecDeque<String>,
    latest: HashMap<String, (i32, Bytes)>,
    bytes: usize,
    max_keys: usize,
}

/// Topic names and keys have no control characters: `\0` cannot be part
/// of either, so the joined key is unambiguous.
fn slot_key(topic: &str, key: &str) -> String {
    let mut joined = String::with_capacity(topic.len() + key.len() + 1);
    joined.push_str(topic);
    joined.push('\0');
    joined.push_str(key);
    joined
}

impl Conflator {
    pub(crate) fn new(max_keys: usize) -> Conflator {
        Conflator { order: VecDeque::new(), latest: HashMap::new(), bytes: 0, max_keys: max_keys.max(1) }
    }

    /// Whether a message of (topic, key) is waiting: a newer one must then
    /// wait too (replacing it), or it would overtake it.
    pub(crate) fn holds(&self, topic: &str, key: &str) -> bool {
        !self.latest.is_empty() && self.latest.contains_key(&slot_key(topic, key))
    }

    /// Keeps `body` as the latest of (topic, key).
    pub(crate) fn offer(&mut self, topic: &str, key: &str, command: i32, body: &Bytes) -> Offer {
        let slot = slot_key(topic, key);
        if let Some(waiting) = self.latest.get_mut(&slot) {
            self.bytes = self.bytes - waiting.1.len() + body.len();
            *waiting = (command, body.clone());
            return Offer::Replaced;
        }
        if self.latest.len() >= self.max_keys {
            return Offer::Full;
        }
        self.bytes += body.len();
        self.latest.insert(slot.clone(), (command, body.clone()));
        self.order.push_back(slot);
        Offer::Added
    }

    /// The longest-waiting entry, taken out.
    pub(crate) fn pop(&mut self) -> Option<(i32, Bytes)> {
        let slot = self.order.pop_front()?;
        let (command, body) = self.latest.remove(&slot)?;
        self.bytes -= body.len();
        Some((command, body))
    }

    /// Entries waiting.
    pub(crate) fn len(&self) -> usize {
        self.latest.len()
    }

    /// Body bytes waiting.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &'static str) -> Bytes {
        Bytes::from_static(s.as_bytes())
    }

    #[test]
    fn the_latest_value_per_key_is_kept_in_first_waiting_order() {
        let mut c = Conflator::new(8);
        assert_eq!(c.offer("q", "AAPL", 1, &b("a1")), Offer::Added);
        assert_eq!(c.offer("q", "MSFT", 1, &b("m1")), Offer::Added);
        assert_eq!(c.offer("q", "AAPL", 1, &b("a2")), Offer::Replaced);
        assert!(c.holds("q", "AAPL") && !c.holds("q", "GOOG"));
        assert_eq!((c.len(), c.bytes()), (2, 4));
        assert_eq!(c.pop(), Some((1, b("a2"))));
        assert_eq!(c.pop(), Some((1, b("m1"))));
        assert_eq!(c.pop(), None);
        assert_eq!(c.bytes(), 0);
    }

    #[test]
    fn topics_and_keys_are_told_apart() {
        let mut c = Conflator::new(8);
        c.offer("ab", "c", 1, &b("x"));
        assert_eq!(c.offer("a", "bc", 1, &b("y")), Offer::Added);
        assert_eq!(c.offer("t2", "c", 2, &b("z")), Offer::Added);
        assert_eq!(c.len(), 3);
    }

    #[test]
    fn memory_stays_bounded_however_many_messages_come() {
        let mut c = Conflator::new(4);
        for i in 0..10_000 {
            let key = format!("k{}", i % 4);
            c.offer("q", &key, 1, &Bytes::from(format!("{i:06}")));
        }
        assert_eq!((c.len(), c.bytes()), (4, 24));
        assert_eq!(c.offer("q", "k9", 1, &b("new")), Offer::Full);
        // The kept values are each key's last.
        let kept: Vec<Bytes> = std::iter::from_fn(|| c.pop().map(|(_, b)| b)).collect();
        assert_eq!(kept, [b("009996"), b("009997"), b("009998"), b("009999")]);
    }
}
