//! Lanes: the parallel links one node keeps to a peer, and which of them a
//! message takes.
//!
//! One link between two nodes is one reader task and one writer task, so a
//! node pair would be capped at about one core's work. A dialer therefore
//! opens several links (lanes) to each peer and numbers them; both sides
//! send a message on the lane its [`LaneKey`] picks. A session's messages
//! all carry the session's key, so they travel one lane and keep their
//! order; different sessions spread over the lanes and so over the cores.
//! When the picked lane is down the next live one takes its messages, so a
//! lane dying moves only its own sessions.

use crate::id::SessionId;
use crate::proto::Envelope;

/// Which of a dialer's lanes to one peer a connection is: lane `index` of
/// `count`. Carried (and authenticated) in the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Lane {
    /// 0-based position among the dialer's lanes to this peer.
    pub index: u16,
    /// How many lanes the dialer keeps to this peer (at least 1).
    pub count: u16,
}

impl Lane {
    /// The only lane of a single-lane link.
    pub const SOLE: Lane = Lane { index: 0, count: 1 };

    /// Lane `index` of `count`; `None` unless `index < count`.
    pub fn new(index: u16, count: u16) -> Option<Lane> {
        (index < count).then_some(Lane { index, count })
    }

    /// How far past `key`'s lane this one is, wrapping: 0 for the lane the
    /// key picks, then 1 for the next one, and so on. The live lane with the
    /// smallest distance carries the message.
    pub fn distance(self, key: LaneKey) -> u16 {
        let count = self.count.max(1);
        let wanted = key.index(count);
        (self.index % count + count - wanted) % count
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

/// What picks a lane: a session's messages share one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LaneKey(u64);

impl LaneKey {
    /// Messages about no session (membership, drain, node-wide fan-outs):
    /// lane 0, so that they keep their order among themselves.
    pub const NODE: LaneKey = LaneKey(0);

    /// The key of the session `session_id` (a message's `session_id`
    /// field); the empty id is [`LaneKey::NODE`]. FNV-1a: stable across
    /// processes and builds, so both ends of a link agree.
    pub fn of_session(session_id: impl AsRef<[u8]>) -> LaneKey {
        let session_id = session_id.as_ref();
        if session_id.is_empty() {
            return LaneKey::NODE;
        }
        LaneKey(session_id.iter().fold(FNV_OFFSET, |h, &b| (h ^ u64::from(b)).wrapping_mul(FNV_PRIME)))
    }

    /// The key of session `id`: the same as [`LaneKey::of_session`] of its
    /// wire form, without making that form.
    pub fn of_session_id(id: &SessionId) -> LaneKey {
        let mut digits = [0u8; 20];
        let mut n = id.seq();
        let mut at = digits.len();
        loop {
            at -= 1;
            // A digit: below 10.
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let bytes = id.proxy().as_str().bytes().chain([b'_']).chain(digits[at..].iter().copied());
        LaneKey(bytes.fold(FNV_OFFSET, |h, b| (h ^ u64::from(b)).wrapping_mul(FNV_PRIME)))
    }

    /// The key of a message: its `lane_key` when set (it keeps the order of
    /// another session's messages), else its session's.
    pub fn of(envelope: &Envelope) -> LaneKey {
        match envelope.lane_key {
            0 => LaneKey::of_session(&envelope.session_id),
            key => LaneKey(key),
        }
    }

    /// The key as a message's `lane_key` carries it.
    pub fn wire(self) -> u64 {
        self.0
    }

    /// The lane index this key picks among `count` lanes.
    pub fn index(self, count: u16) -> u16 {
        // The remainder is below `count`, so it fits.
        (self.0 % u64::from(count.max(1))) as u16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lane_must_be_below_its_count() {
        assert_eq!(Lane::new(0, 1), Some(Lane::SOLE));
        assert_eq!(Lane::new(3, 4), Some(Lane { index: 3, count: 4 }));
        assert_eq!(Lane::new(4, 4), None);
        assert_eq!(Lane::new(0, 0), None);
    }

    #[test]
    fn a_session_s_key_is_the_key_of_its_wire_form() {
        let proxy = crate::id::NodeId::of("127.0.0.1", 20002);
        for seq in [1, 9, 10, 12_345, 1_733_000_000_000_000, u64::MAX] {
            let id = SessionId::new(proxy.clone(), seq);
            assert_eq!(LaneKey::of_session_id(&id), LaneKey::of_session(id.to_wire()), "{seq}");
        }
    }

    #[test]
    fn a_message_s_lane_key_beats_its_session() {
        let env = Envelope { session_id: "a_1".into(), ..Envelope::default() };
        assert_eq!(LaneKey::of(&env), LaneKey::of_session("a_1"));
        let env = Envelope { lane_key: 7, ..env };
        assert_eq!(LaneKey::of(&env), LaneKey(7));
    }

    #[test]
    fn node_traffic_takes_lane_zero() {
        assert_eq!(LaneKey::of_session(""), LaneKey::NODE);
        for count in 1..8 {
            assert_eq!(LaneKey::NODE.index(count), 0);
        }
    }

    #[test]
    fn one_session_always_picks_the_same_lane_and_sessions_spread() {
        let mut used = [0usize; 4];
        for n in 0..400 {
            let id = format!("{:032x}:{n}", 0xabcd_u32);
            let key = LaneKey::of_session(&id);
            assert_eq!(key, LaneKey::of_session(&id));
            used[usize::from(key.index(4))] += 1;
        }
        // Every lane gets a fair share (an even spread is 100 each).
        assert!(used.iter().all(|&n| n > 50), "{used:?}");
    }

    #[test]
    fn the_key_s_own_lane_is_nearest_and_a_dead_lane_s_keys_move_to_the_next() {
        let key = LaneKey(6); // lane 2 of 4
        let lanes: Vec<Lane> = (0..4).map(|i| Lane::new(i, 4).unwrap()).collect();
        let nearest = |live: &[Lane]| live.iter().copied().min_by_key(|l| l.distance(key)).unwrap();
        assert_eq!(nearest(&lanes).index, 2);
        let without_2: Vec<Lane> = lanes.iter().copied().filter(|l| l.index != 2).collect();
        assert_eq!(nearest(&without_2).index, 3);
        // A key whose lane is up does not move when another lane dies.
        let other = LaneKey(5); // lane 1
        assert_eq!(without_2.iter().copied().min_by_key(|l| l.distance(other)).unwrap().index, 1);
    }
}
