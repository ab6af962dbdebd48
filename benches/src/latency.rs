//! Latency recording: one HDR histogram per client task, merged at the end,
//! so the hot loop never shares a lock.

use std::time::Duration;

use hdrhistogram::Histogram;

/// Round-trip latencies in microseconds, from 1 µs to 60 s at 3 significant
/// figures.
#[derive(Debug, Clone)]
pub struct Latencies {
    hist: Histogram<u64>,
}

impl Default for Latencies {
    fn default() -> Self {
        Latencies::new()
    }
}

impl Latencies {
    /// An empty recorder.
    pub fn new() -> Self {
        // Bounds are constants that hdrhistogram accepts; failing here is a
        // bug in this file, not a runtime condition.
        let hist = Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds");
        Latencies { hist }
    }

    /// Records one round trip; values past the top are clamped, not lost.
    pub fn record(&mut self, rtt: Duration) {
        let micros = u64::try_from(rtt.as_micros()).unwrap_or(u64::MAX).max(1);
        self.hist.saturating_record(micros);
    }

    /// Adds another recorder's samples.
    pub fn merge(&mut self, other: &Latencies) {
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.hist.add(&other.hist);
    }

    /// Number of samples.
    pub fn len(&self) -> u64 {
        self.hist.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.hist.is_empty()
    }

    /// Percentiles of what was recorded.
    pub fn summary(&self) -> Summary {
        let at = |q: f64| Duration::from_micros(self.hist.value_at_quantile(q));
        Summary {
            p50: at(0.50),
            p99: at(0.99),
            max: Duration::from_micros(self.hist.max()),
            mean: Duration::from_secs_f64(self.hist.mean() / 1e6),
        }
    }
}

/// Latency percentiles of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Summary {
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Largest sample.
    pub max: Duration,
    /// Arithmetic mean.
    pub mean: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_samples() {
        let mut a = Latencies::new();
        for us in 1..=99 {
            a.record(Duration::from_micros(us * 10));
        }
        let mut b = Latencies::new();
        b.record(Duration::from_millis(50));
        a.merge(&b);
        let s = a.summary();
        assert_eq!(a.len(), 100);
        assert!((495..=505).contains(&s.p50.as_micros()), "{s:?}");
        assert!(s.p99.as_micros() >= 980 && s.p99.as_micros() <= 1000, "{s:?}");
        assert!((49_900..=50_100).contains(&s.max.as_micros()), "{s:?}");
    }

    #[test]
    fn huge_samples_are_clamped_not_dropped() {
        let mut a = Latencies::new();
        a.record(Duration::from_secs(3600));
        assert_eq!(a.len(), 1);
    }
}
