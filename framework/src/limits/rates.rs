//! Per-connection rate limits of the proxy, as pure state: the caller
//! passes the time, so the rules are tested without sockets or sleeps.
//!
//! * **Messages** use a token bucket: a frame over `message_rate` (after a
//!   burst of `message_burst`) is refused with an error frame (429). A
//!   client refused `message_burst` frames in a row, without one allowed
//!   in between, is flooding and is disconnected (close 1008).
//! * **Bytes** use a bucket that may go into debt: a message is always
//!   accepted, and the proxy stops reading the socket until the debt is
//!   repaid at `bytes_rate`. TCP flow control then slows the client, so
//!   the proxy buffers nothing more however fast it sends.

use std::time::Duration;

use tokio::time::Instant;

use crate::config::ClientLimits;

/// A token bucket: `rate` tokens per second, holding at most `burst`.
/// The balance may go below zero (see [`TokenBucket::take`]), which is how
/// byte debt is expressed.
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    refilled: Instant,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub(crate) fn new(rate: u32, burst: u32, now: Instant) -> TokenBucket {
        // Validation keeps both above zero; the floor only guards a
        // hand-built config against a division by zero.
        let rate = f64::from(rate.max(1));
        let burst = f64::from(burst.max(1));
        TokenBucket { rate, burst, tokens: burst, refilled: now }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.refilled = now;
    }

    /// Takes `n` tokens if the bucket holds them.
    pub(crate) fn try_take(&mut self, n: f64, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= n {
            self.tokens -= n;
            true
        } else {
            false
        }
    }

    /// Takes `n` tokens whatever the balance; returns how long until the
    /// balance is back to zero (zero when it never went negative).
    pub(crate) fn take(&mut self, n: f64, now: Instant) -> Duration {
        self.refill(now);
        self.tokens -= n;
        if self.tokens >= 0.0 { Duration::ZERO } else { Duration::from_secs_f64(-self.tokens / self.rate) }
    }
}

/// What to do with one client frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Handle it.
    Yes,
    /// Answer it with a 429 error frame, unhandled.
    Refuse,
    /// The client floods: close the connection (1008).
    Disconnect,
}

/// The rate limits of one client connection.
#[derive(Debug)]
pub(crate) struct ConnLimiter {
    messages: TokenBucket,
    bytes: TokenBucket,
    /// Frames refused since the last one allowed.
    refused_in_a_row: u32,
    /// Refusals in a row that mean a flood.
    flood_after: u32,
}

impl ConnLimiter {
    pub(crate) fn new(limits: &ClientLimits, now: Instant) -> ConnLimiter {
        ConnLimiter {
            messages: TokenBucket::new(limits.message_rate, limits.message_burst, now),
            bytes: TokenBucket::new(limits.bytes_rate, limits.bytes_burst, now),
            refused_in_a_row: 0,
            flood_after: limits.message_burst.max(1),
        }
    }

    /// Decides on one decoded client frame.
    pub(crate) fn admit_frame(&mut self, now: Instant) -> Admit {
        if self.messages.try_take(1.0, now) {
            self.refused_in_a_row = 0;
            return Admit::Yes;
        }
        self.refused_in_a_row = self.refused_in_a_row.saturating_add(1);
        if self.refused_in_a_row > self.flood_after { Admit::Disconnect } else { Admit::Refuse }
    }

    /// Accounts for `len` bytes read from the client; returns how long to
    /// stop reading (zero: read on).
    pub(crate) fn read_bytes(&mut self, len: usize, now: Instant) -> Duration {
        self.bytes.take(len as f64, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(rate: u32, burst: u32, bytes_rate: u32, bytes_burst: u32) -> ClientLimits {
        ClientLimits {
            message_rate: rate,
            message_burst: burst,
            bytes_rate,
            bytes_burst,
            ..ClientLimits::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_passes_then_the_rate_holds() {
        let start = Instant::now();
        let mut l = ConnLimiter::new(&limits(10, 5, 1000, 1000), start);
        for _ in 0..5 {
            assert_eq!(l.admit_frame(Instant::now()), Admit::Yes);
        }
        assert_eq!(l.admit_frame(Instant::now()), Admit::Refuse);
        // 10 per second: one token every 100 ms.
        tokio::time::advance(Duration::from_millis(100)).await;
        assert_eq!(l.admit_frame(Instant::now()), Admit::Yes);
        assert_eq!(l.admit_frame(Instant::now()), Admit::Refuse);
        // A long pause refills up to the burst, no further.
        tokio::time::advance(Duration::from_secs(60)).await;
        let allowed = (0..20).filter(|_| l.admit_frame(Instant::now()) == Admit::Yes).count();
        assert_eq!(allowed, 5);
    }

    #[tokio::test(start_paused = true)]
    async fn a_flood_is_disconnected_but_a_client_that_slows_down_is_not() {
        let mut l = ConnLimiter::new(&limits(10, 3, 1000, 1000), Instant::now());
        let decisions: Vec<Admit> = (0..7).map(|_| l.admit_frame(Instant::now())).collect();
        use Admit::{Disconnect, Refuse, Yes};
        assert_eq!(decisions, [Yes, Yes, Yes, Refuse, Refuse, Refuse, Disconnect]);

        let mut l = ConnLimiter::new(&limits(10, 3, 1000, 1000), Instant::now());
        for _ in 0..3 {
            l.admit_frame(Instant::now());
        }
        // Twice the allowed rate, for a long time: half refused, never cut.
        for _ in 0..100 {
            tokio::time::advance(Duration::from_millis(50)).await;
            assert_ne!(l.admit_frame(Instant::now()), Admit::Disconnect);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn bytes_over_the_budget_pause_reading_until_repaid() {
        let mut l = ConnLimiter::new(&limits(10, 10, 1000, 500), Instant::now());
        assert_eq!(l.read_bytes(500, Instant::now()), Duration::ZERO);
        // 1500 bytes of debt at 1000 bytes/s.
        assert_eq!(l.read_bytes(1500, Instant::now()), Duration::from_millis(1500));
        tokio::time::advance(Duration::from_millis(1500)).await;
        assert_eq!(l.read_bytes(0, Instant::now()), Duration::ZERO);
        assert_eq!(l.read_bytes(100, Instant::now()), Duration::from_millis(100));
    }

    #[test]
    fn a_zero_rate_from_a_hand_built_config_does_not_divide_by_zero() {
        let mut b = TokenBucket::new(0, 0, Instant::now());
        assert!(b.take(10.0, Instant::now()) <= Duration::from_secs(10));
    }
}
