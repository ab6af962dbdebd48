//! The last messages of a topic, kept for a new subscriber's snapshot.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;

/// One kept message: its command, conflation key and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Kept {
    pub(crate) command: i32,
    pub(crate) key: Option<Arc<str>>,
    pub(crate) body: Bytes,
}

/// The last `keep` messages of one topic, at most `max_bytes` of bodies:
/// the oldest go first.
#[derive(Debug, Default)]
pub(crate) struct Retained {
    messages: VecDeque<Kept>,
    bytes: usize,
}

impl Retained {
    /// Keeps a message, dropping the oldest past `keep` messages or
    /// `max_bytes`. A message larger than `max_bytes` alone is not kept
    /// (nor is anything older).
    pub(crate) fn push(&mut self, message: Kept, keep: usize, max_bytes: usize) {
        if keep == 0 {
            return;
        }
        self.bytes += message.body.len();
        self.messages.push_back(message);
        while self.messages.len() > keep || self.bytes > max_bytes {
            let Some(old) = self.messages.pop_front() else { break };
            self.bytes -= old.body.len();
        }
    }

    /// The kept messages, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Kept> {
        self.messages.iter()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.messages.len()
    }

    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bodies(r: &Retained) -> Vec<Bytes> {
        r.iter().map(|k| k.body.clone()).collect()
    }

    fn kept(body: impl Into<Bytes>) -> Kept {
        Kept { command: 1, key: None, body: body.into() }
    }

    #[test]
    fn keeps_the_last_k_oldest_first() {
        let mut r = Retained::default();
        for i in 0..5u8 {
            r.push(kept(vec![b'0' + i]), 3, 100);
        }
        assert_eq!(bodies(&r), ["2", "3", "4"]);
        assert_eq!(r.bytes(), 3);
    }

    #[test]
    fn the_byte_bound_drops_the_oldest_and_a_too_large_message_is_not_kept() {
        let mut r = Retained::default();
        r.push(kept("aaaa"), 10, 8);
        r.push(kept("bbbb"), 10, 8);
        r.push(kept("cc"), 10, 8);
        assert_eq!(bodies(&r), ["bbbb", "cc"]);
        r.push(kept(vec![b'x'; 9]), 10, 8);
        assert!(r.is_empty());
        assert_eq!(r.bytes(), 0);
    }

    #[test]
    fn retain_zero_keeps_nothing() {
        let mut r = Retained::default();
        r.push(kept("a"), 0, 8);
        assert_eq!(r.len(), 0);
    }
}
