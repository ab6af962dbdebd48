//! The client's side of session resume (docs/sessions.md, "Reconnect and
//! resume"), as the browser client speaks it: opt in on a new connection,
//! number and deduplicate pushes, acknowledge them now and then, and
//! present the token first after a reconnect. Pure state, no I/O: the
//! connection loop (`connection.rs`) asks it what to send and tells it
//! what arrived.

use serde_json::{Value, json};

/// The resume command (`websocket.sessions.resume_command`).
pub const RESUME_COMMAND: i32 = 10001;
/// The acknowledgement command (`websocket.sessions.ack_command`).
pub const ACK_COMMAND: i32 = 10002;

/// Acknowledge at the latest after this many pushes (or a second, whichever
/// comes first): the proxy forgets acknowledged pushes, which keeps its
/// replay buffer (64 pushes by default) from overflowing.
pub(crate) const ACK_EVERY: u32 = 10;

/// What the client keeps of its session across connections.
#[derive(Debug, Default)]
pub(crate) struct Resume {
    /// The token the proxy gave, once it offered resume.
    token: Option<String>,
    /// The highest push number received.
    last: i32,
    /// Pushes received since the last acknowledgement.
    unacked: u32,
}

/// What the answer to a resume frame means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// The old session is back; its missed pushes follow.
    Resumed,
    /// The token was refused (expired, another proxy, too much missed):
    /// this connection is a new session, which should opt in.
    Refused,
    /// Opted in: pushes are numbered from now on.
    OptedIn,
    /// The proxy does not offer resume: plain reconnects only.
    Unavailable,
}

/// What to do with a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Deliver it; `ack_now` when enough pushes wait for an acknowledgement.
    Deliver {
        /// Send [`Resume::ack`] now.
        ack_now: bool,
        /// The first push since the last acknowledgement: start the timer.
        first_unacked: bool,
    },
    /// Already delivered (a replay repeats what may have arrived before the
    /// cut): drop it.
    Duplicate,
}

impl Resume {
    /// The body of the resume frame a new connection sends first: the
    /// token and the last push seen when there is a session to take back,
    /// else `{}` to opt in.
    pub(crate) fn hello(&self) -> (Value, bool) {
        match &self.token {
            Some(token) => (json!({ "token": token, "last": self.last }), true),
            None => (json!({}), false),
        }
    }

    /// Takes the proxy's answer to a resume frame (`presented`: it carried
    /// a token). An error reply is `Err`.
    pub(crate) fn answer(&mut self, presented: bool, reply: Result<&Value, ()>) -> Answer {
        self.unacked = 0;
        let token = reply.ok().and_then(|r| r.get("token")).and_then(Value::as_str).map(str::to_owned);
        match (presented, token) {
            // The proxy may hand out a new token; the push numbers go on.
            (true, Some(token)) => {
                self.token = Some(token);
                Answer::Resumed
            }
            (true, None) => {
                self.token = None;
                self.last = 0;
                Answer::Refused
            }
            (false, Some(token)) => {
                self.token = Some(token);
                self.last = 0;
                Answer::OptedIn
            }
            (false, None) => {
                self.token = None;
                self.last = 0;
                Answer::Unavailable
            }
        }
    }

    /// Judges a push by its number (the header's version; 0 when the
    /// session has not opted in, or from a proxy without resume).
    pub(crate) fn push(&mut self, seq: i32) -> Verdict {
        if seq <= 0 || self.token.is_none() {
            return Verdict::Deliver { ack_now: false, first_unacked: false };
        }
        if seq <= self.last {
            return Verdict::Duplicate;
        }
        self.last = seq;
        self.unacked += 1;
        Verdict::Deliver { ack_now: self.unacked >= ACK_EVERY, first_unacked: self.unacked == 1 }
    }

    /// The acknowledgement to send now, if any push is unacknowledged.
    pub(crate) fn ack(&mut self) -> Option<Value> {
        if self.unacked == 0 || self.token.is_none() {
            return None;
        }
        self.unacked = 0;
        Some(json!({ "seq": self.last }))
    }

    /// The highest push number received.
    #[cfg(test)]
    pub(crate) fn last(&self) -> i32 {
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deliver(ack_now: bool, first_unacked: bool) -> Verdict {
        Verdict::Deliver { ack_now, first_unacked }
    }

    #[test]
    fn a_new_session_opts_in_and_numbers_pushes_from_one() {
        let mut r = Resume::default();
        assert_eq!(r.hello(), (json!({}), false));
        assert_eq!(r.answer(false, Ok(&json!({"code": 200, "token": "t1", "last": 0}))), Answer::OptedIn);
        assert_eq!(r.push(1), deliver(false, true));
        assert_eq!(r.push(2), deliver(false, false));
        assert_eq!(r.hello(), (json!({"token": "t1", "last": 2}), true));
    }

    #[test]
    fn replayed_pushes_seen_before_the_cut_are_dropped() {
        let mut r = Resume::default();
        r.answer(false, Ok(&json!({"token": "t1"})));
        for seq in 1..=5 {
            r.push(seq);
        }
        assert_eq!(r.answer(true, Ok(&json!({"token": "t2", "replayed": 3}))), Answer::Resumed);
        assert_eq!(r.push(4), Verdict::Duplicate);
        assert_eq!(r.push(5), Verdict::Duplicate);
        assert!(matches!(r.push(6), Verdict::Deliver { .. }));
        assert_eq!(r.last(), 6);
        assert_eq!(r.hello(), (json!({"token": "t2", "last": 6}), true), "the new token is kept");
    }

    #[test]
    fn every_tenth_push_is_acknowledged_at_once_and_an_ack_clears_the_count() {
        let mut r = Resume::default();
        assert_eq!(r.ack(), None, "nothing to acknowledge before opting in");
        r.answer(false, Ok(&json!({"token": "t"})));
        for seq in 1..ACK_EVERY {
            assert_eq!(r.push(i32::try_from(seq).unwrap()), deliver(false, seq == 1));
        }
        assert_eq!(r.push(10), deliver(true, false));
        assert_eq!(r.ack(), Some(json!({"seq": 10})));
        assert_eq!(r.ack(), None, "acknowledged already");
        assert_eq!(r.push(11), deliver(false, true));
    }

    #[test]
    fn a_refused_token_starts_over_and_a_proxy_without_resume_numbers_nothing() {
        let mut r = Resume::default();
        r.answer(false, Ok(&json!({"token": "t"})));
        r.push(7);
        assert_eq!(r.answer(true, Err(())), Answer::Refused);
        assert_eq!(r.hello(), (json!({}), false), "opts in again as a new session");
        assert_eq!(r.answer(false, Ok(&json!({"token": "u"}))), Answer::OptedIn);
        assert_eq!(r.push(1), deliver(false, true), "the new session numbers from 1");

        let mut plain = Resume::default();
        assert_eq!(plain.answer(false, Err(())), Answer::Unavailable);
        assert_eq!(plain.push(3), deliver(false, false), "a version without resume is not a number");
        assert_eq!(plain.push(3), deliver(false, false));
        assert_eq!(plain.ack(), None);
    }
}
