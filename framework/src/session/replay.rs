//! The per-session replay buffer behind resume: numbered pushes, bounded
//! by count and bytes, trimmed by client acknowledgements.
//!
//! Every push to a session that opted in to resume gets the next sequence
//! number (from 1) and is kept here until the client acknowledges it or the
//! buffer's bounds push it out. A client that resumes says the last number
//! it received; the pushes after it are replayed in order. If one of them
//! was pushed out unacknowledged, replaying would leave a hole, so resume
//! is refused instead ([`Gap`]).

use std::collections::VecDeque;

use bytes::Bytes;

/// One numbered push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sequenced {
    /// Its sequence number (from 1); travels in the frame's `version` field.
    pub(crate) seq: i32,
    /// The client command id.
    pub(crate) command: i32,
    /// The body.
    pub(crate) body: Bytes,
}

/// Why a resume cannot replay what the client missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Gap {
    /// Pushes after the client's last one were dropped from the buffer.
    #[error("pushes {first}..={last} are no longer buffered")]
    Dropped {
        /// First missing sequence number.
        first: i32,
        /// Last missing sequence number.
        last: i32,
    },
    /// The client claims a push that was never sent.
    #[error("push {claimed} was never sent (last sent: {sent})")]
    Ahead {
        /// What the client said it had.
        claimed: i32,
        /// The last number sent.
        sent: i32,
    },
    /// The session sent more pushes than sequence numbers exist.
    #[error("sequence numbers exhausted")]
    Exhausted,
}

/// Numbered pushes of one session, oldest first.
#[derive(Debug)]
pub(crate) struct ReplayBuffer {
    frames: VecDeque<Sequenced>,
    bytes: usize,
    max_frames: usize,
    max_bytes: usize,
    /// Last sequence number given out.
    last: i32,
    /// Highest sequence number dropped without being acknowledged: a
    /// client that has not seen it cannot resume.
    dropped_through: i32,
    exhausted: bool,
}

impl ReplayBuffer {
    pub(crate) fn new(max_frames: usize, max_bytes: usize) -> Self {
        ReplayBuffer {
            frames: VecDeque::new(),
            bytes: 0,
            max_frames: max_frames.max(1),
            max_bytes,
            last: 0,
            dropped_through: 0,
            exhausted: false,
        }
    }

    /// The last sequence number given out (0 before the first push).
    pub(crate) fn last(&self) -> i32 {
        self.last
    }

    /// Numbers and keeps a push; returns its sequence number, or `None`
    /// once numbers are exhausted (then the push goes out unnumbered and
    /// the session can no longer resume).
    pub(crate) fn record(&mut self, command: i32, body: Bytes) -> Option<i32> {
        let Some(seq) = self.last.checked_add(1) else {
            self.exhausted = true;
            return None;
        };
        self.last = seq;
        self.bytes += body.len();
        self.frames.push_back(Sequenced { seq, command, body });
        while self.frames.len() > self.max_frames || self.bytes > self.max_bytes {
            let Some(old) = self.frames.pop_front() else { break };
            self.bytes -= old.body.len();
            self.dropped_through = old.seq;
        }
        Some(seq)
    }

    /// Forgets pushes up to and including `seq`: the client has them.
    pub(crate) fn ack(&mut self, seq: i32) {
        while let Some(front) = self.frames.front() {
            if front.seq > seq {
                break;
            }
            self.bytes -= front.body.len();
            self.frames.pop_front();
        }
    }

    /// The pushes after `last`, in order, for a resuming client.
    ///
    /// # Errors
    /// [`Gap`] when they cannot all be replayed.
    pub(crate) fn replay_after(&mut self, last: i32) -> Result<Vec<Sequenced>, Gap> {
        if self.exhausted {
            return Err(Gap::Exhausted);
        }
        if last > self.last || last < 0 {
            return Err(Gap::Ahead { claimed: last, sent: self.last });
        }
        if last < self.dropped_through {
            return Err(Gap::Dropped { first: last + 1, last: self.dropped_through });
        }
        self.ack(last);
        Ok(self.frames.iter().cloned().collect())
    }

    /// Buffered pushes.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.frames.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(n: usize) -> Bytes {
        Bytes::from(vec![b'x'; n])
    }

    fn seqs(frames: &[Sequenced]) -> Vec<i32> {
        frames.iter().map(|f| f.seq).collect()
    }

    #[test]
    fn replays_exactly_what_follows_the_clients_last_push_in_order() {
        let mut buf = ReplayBuffer::new(10, 1000);
        for i in 0..5 {
            assert_eq!(buf.record(7, body(i)), Some(i32::try_from(i).unwrap() + 1));
        }
        assert_eq!(seqs(&buf.replay_after(2).unwrap()), [3, 4, 5]);
        // Replaying acknowledged 1..=2; a second resume from 3 still works.
        assert_eq!(buf.len(), 3);
        assert_eq!(seqs(&buf.replay_after(3).unwrap()), [4, 5]);
        assert!(buf.replay_after(5).unwrap().is_empty());
    }

    #[test]
    fn acks_free_room_so_nothing_unacknowledged_is_lost() {
        let mut buf = ReplayBuffer::new(3, 1000);
        for _ in 0..3 {
            buf.record(1, body(1));
        }
        buf.ack(2);
        assert_eq!(buf.len(), 1);
        buf.record(1, body(1));
        buf.record(1, body(1));
        assert_eq!(seqs(&buf.replay_after(2).unwrap()), [3, 4, 5]);
    }

    #[test]
    fn overflow_drops_the_oldest_and_makes_resuming_from_before_it_a_gap() {
        let mut buf = ReplayBuffer::new(3, 1000);
        for _ in 0..5 {
            buf.record(1, body(1));
        }
        assert_eq!(buf.replay_after(1), Err(Gap::Dropped { first: 2, last: 2 }));
        assert_eq!(seqs(&buf.replay_after(2).unwrap()), [3, 4, 5]);
    }

    #[test]
    fn the_byte_bound_holds_even_for_one_oversized_push() {
        let mut buf = ReplayBuffer::new(100, 10);
        buf.record(1, body(6));
        buf.record(1, body(6));
        assert_eq!(buf.len(), 1, "12 bytes > 10: the oldest goes");
        buf.record(1, body(11));
        assert_eq!(buf.len(), 0);
        assert_eq!(buf.replay_after(2), Err(Gap::Dropped { first: 3, last: 3 }));
    }

    #[test]
    fn a_client_claiming_unsent_pushes_is_refused() {
        let mut buf = ReplayBuffer::new(10, 100);
        buf.record(1, body(1));
        assert_eq!(buf.replay_after(2), Err(Gap::Ahead { claimed: 2, sent: 1 }));
        assert_eq!(buf.replay_after(-1), Err(Gap::Ahead { claimed: -1, sent: 1 }));
    }
}
