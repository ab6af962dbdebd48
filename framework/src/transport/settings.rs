//! Tunables of the RPC transport, each with a default and the reason for it.

use std::time::Duration;

use crate::codec::DEFAULT_MAX_RPC_FRAME;

/// Settings shared by every link of a node.
#[derive(Debug, Clone)]
pub struct LinkSettings {
    /// Largest RPC payload accepted or sent. Default 4 MiB.
    pub max_frame: usize,
    /// Frames that may wait in one link's send queue. A full queue makes
    /// sends fail fast (counted) instead of growing memory. Default 4096:
    /// a few milliseconds of traffic at full speed.
    pub send_queue: usize,
    /// The writer stops coalescing queued frames into one write once this
    /// many bytes are buffered. Default 64 KiB, a few socket buffers' worth.
    pub coalesce_bytes: usize,
    /// A heartbeat is sent when nothing else was sent for this long.
    /// Default 1 s.
    pub heartbeat_interval: Duration,
    /// A link with nothing received for this long is declared dead, even if
    /// TCP never reports a close (a black-holed peer). Default 5 s, i.e.
    /// several missed heartbeats.
    pub dead_after: Duration,
    /// Deadline for the whole authentication handshake. Default 5 s.
    pub handshake_timeout: Duration,
}

impl Default for LinkSettings {
    fn default() -> Self {
        LinkSettings {
            max_frame: DEFAULT_MAX_RPC_FRAME,
            send_queue: 4096,
            coalesce_bytes: 64 * 1024,
            heartbeat_interval: Duration::from_secs(1),
            dead_after: Duration::from_secs(5),
            handshake_timeout: Duration::from_secs(5),
        }
    }
}

/// Settings of the RPC listener.
#[derive(Debug, Clone)]
pub struct ListenerSettings {
    /// Most inbound connections at once, handshaking or established.
    /// Default 1024: a cluster has tens of nodes, so this only stops floods.
    pub max_connections: usize,
}

impl Default for ListenerSettings {
    fn default() -> Self {
        ListenerSettings { max_connections: 1024 }
    }
}

/// Jittered exponential backoff for reconnecting, starting at obespoir's
/// `reconnect_time`.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    current: Duration,
}

impl Backoff {
    /// Starts at `initial`, doubles per failure, never exceeds `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        let initial = initial.max(Duration::from_millis(1));
        Backoff { initial, max: max.max(initial), current: initial }
    }

    /// The delay before the next attempt: the current step scaled by a
    /// random factor in [0.5, 1.0], so that many nodes that lost the same
    /// peer do not reconnect in lockstep.
    pub fn next_delay(&mut self) -> Duration {
        use rand::Rng;
        let step = self.current;
        self.current = (self.current * 2).min(self.max);
        step.mul_f64(rand::rng().random_range(0.5..=1.0))
    }

    /// Back to the initial delay, after a success.
    pub fn reset(&mut self) {
        self.current = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(700));
        let bounds = [100, 200, 400, 700, 700];
        for hi in bounds {
            let d = b.next_delay();
            assert!(d >= Duration::from_millis(hi / 2) && d <= Duration::from_millis(hi), "{d:?} vs {hi}");
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
    }
}
