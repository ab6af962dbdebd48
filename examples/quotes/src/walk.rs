//! Prices as a pure function of the tick: a symbol's price at tick `n` is
//! the same on every node that computes it, so when the feed job's ticks
//! go to one quote service node then another the chart goes on where it
//! was instead of jumping between two walks. Pure.
//!
//! The path is random-walk-like noise: the sum of octaves of seeded value
//! noise, octave `k` a random value every `2^k` ticks, interpolated
//! linearly between them, scaled by `2^(k/2)` (a random walk's spread grows
//! with the square root of time). A step moves the price by at most 0.2 %
//! (each octave moves at most `2 · 2^(-k/2)` per tick; the scale keeps
//! their sum under 0.19 % of the log price), then rounds it to the cent.

/// Octaves: the slowest varies over `2^21` ticks (six days at 4 a second).
const OCTAVES: u32 = 22;
/// Scale of the noise on the log price: 0.0019 over the bound on the sum of
/// the octaves' moves per tick (`2 / (1 - 2^-0.5)` < 6.83).
const SIGMA: f64 = 0.0019 / 6.83;

/// One symbol's prices, by tick.
#[derive(Debug, Clone)]
pub struct PriceWalk {
    key: u64,
    start: f64,
}

impl PriceWalk {
    /// The prices of `symbol` for `seed`: the same on every node.
    pub fn new(symbol: &str, seed: u64) -> PriceWalk {
        // FNV-1a: a symbol's walk depends on its name, not on its place in
        // a node's list.
        let name = symbol
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        let key = mix(name ^ mix(seed));
        // A start between 20.00 and 499.99.
        let start = 20.0 + (mix(key) % 48_000) as f64 / 100.0;
        PriceWalk { key, start }
    }

    /// The price at tick `n`, rounded to the cent, never below one cent.
    pub fn price_at(&self, n: u64) -> f64 {
        let mut sum = 0.0;
        for k in 0..OCTAVES {
            let span = 1u64 << k;
            let (m, within) = (n >> k, n & (span - 1));
            let (a, b) = (self.noise(k, m), self.noise(k, m.wrapping_add(1)));
            let at = a + (b - a) * (within as f64 / span as f64);
            sum += at * (f64::from(k) * 0.5).exp2();
        }
        let price = self.start * (SIGMA * sum).exp();
        ((price * 100.0).round() / 100.0).max(0.01)
    }

    /// Octave `k`'s value at its point `m`, in [-1, 1).
    fn noise(&self, k: u32, m: u64) -> f64 {
        let h = mix(mix(self.key ^ u64::from(k)) ^ m);
        (h >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

/// SplitMix64's finalizer: a well-spread hash of a 64-bit value.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tick index of today at 4 ticks a second.
    const NOW: u64 = 7_000_000_000;

    #[test]
    fn prices_are_the_same_for_the_same_tick_bounded_per_step_and_positive() {
        let (a, b) = (PriceWalk::new("AAPL", 7), PriceWalk::new("AAPL", 7));
        let mut last = a.price_at(NOW);
        let (mut low, mut high) = (last, last);
        for n in NOW + 1..NOW + 20_000 {
            let price = a.price_at(n);
            assert_eq!(price, b.price_at(n), "tick {n}");
            assert!((price - last).abs() <= last * 0.002 + 0.01, "tick {n}: {last} -> {price}");
            assert!(price >= 0.01);
            (low, high, last) = (low.min(price), high.max(price), price);
        }
        assert!(high > low * 1.001, "the price moves: {low}..{high}");
    }

    #[test]
    fn symbols_and_seeds_walk_apart() {
        let at = |symbol, seed| PriceWalk::new(symbol, seed).price_at(NOW);
        assert_ne!(at("AAPL", 1), at("MSFT", 1));
        assert_ne!(at("AAPL", 1), at("AAPL", 2));
    }
}
