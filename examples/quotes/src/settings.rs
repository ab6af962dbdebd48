//! `app.quotes`: which symbols the feed publishes, and how fast.

use std::time::Duration;

use serde::Deserialize;

/// Most symbols one feed publishes.
pub const MAX_SYMBOLS: usize = 200;
/// Fastest tick rate per symbol, ticks per second: the feed is a recurring
/// job, and a job ticks at most every [`espoir::MIN_INTERVAL`] (100 ms).
pub const MAX_RATE: f64 = 10.0;
/// Slowest tick rate per symbol: one tick an hour.
pub const MIN_RATE: f64 = 1.0 / 3600.0;

/// The quote service's settings (`"app": {"quotes": {...}}`); every key
/// has a default.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Symbols, 1 to 16 characters of `A-Z`, `0-9` and `.`. Default five.
    #[serde(default = "defaults::symbols")]
    pub symbols: Vec<String>,
    /// Ticks per second, per symbol: the feed job runs every
    /// `1 / ticks_per_second` seconds (rounded to the millisecond), at
    /// most 10 times a second. Default 4.
    #[serde(default = "defaults::rate")]
    pub ticks_per_second: f64,
    /// Run the built-in feed (the `quotes.feed` job). `false`: ticks come
    /// only from producers posting to `/publish`. Default `true`.
    #[serde(default = "defaults::feed")]
    pub feed: bool,
    /// Seed of the price walk, so two runs draw the same charts. Default 1.
    #[serde(default = "defaults::seed")]
    pub seed: u64,
}

/// Why `app.quotes` is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("app.quotes: {0}")]
pub struct SettingsError(pub String);

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            symbols: defaults::symbols(),
            ticks_per_second: defaults::rate(),
            feed: defaults::feed(),
            seed: defaults::seed(),
        }
    }
}

impl Settings {
    /// The settings in a node's config (defaults when it has none).
    ///
    /// # Errors
    /// A key of the wrong type, an unknown key, or a bad value.
    pub fn from_config(config: &espoir::NodeConfig) -> Result<Settings, SettingsError> {
        let settings: Settings = config.app_section("quotes").map_err(|e| SettingsError(e.to_string()))?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), SettingsError> {
        let bad = |why: String| Err(SettingsError(why));
        if self.symbols.is_empty() || self.symbols.len() > MAX_SYMBOLS {
            return bad(format!("symbols: between 1 and {MAX_SYMBOLS}, not {}", self.symbols.len()));
        }
        for symbol in &self.symbols {
            let ok = (1..=16).contains(&symbol.len())
                && symbol.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'.');
            if !ok {
                return bad(format!("symbol {symbol:?}: 1 to 16 characters of A-Z, 0-9 and '.'"));
            }
        }
        let mut sorted = self.symbols.clone();
        sorted.sort();
        if let Some(pair) = sorted.windows(2).find(|w| w[0] == w[1]) {
            return bad(format!("symbol {:?} is listed twice", pair[0]));
        }
        if !(MIN_RATE..=MAX_RATE).contains(&self.ticks_per_second) {
            return bad(format!(
                "ticks_per_second: between 1/3600 (one an hour) and {MAX_RATE}, not {}: the feed is a job \
                 ticking every 1/ticks_per_second s, at least every {} ms",
                self.ticks_per_second,
                espoir::MIN_INTERVAL.as_millis()
            ));
        }
        if let Err(err) = espoir::Schedule::every(self.period()) {
            return bad(format!("ticks_per_second {}: {err}", self.ticks_per_second));
        }
        Ok(())
    }

    /// Time between two ticks, rounded to the millisecond (a tick's `seq`
    /// is its time over this period).
    pub fn period(&self) -> Duration {
        Duration::from_millis((1000.0 / self.ticks_per_second).round() as u64)
    }
}

mod defaults {
    pub(super) fn symbols() -> Vec<String> {
        ["AAPL", "MSFT", "GOOG", "AMZN", "TSLA"].map(String::from).to_vec()
    }
    pub(super) fn rate() -> f64 {
        4.0
    }
    pub(super) fn feed() -> bool {
        true
    }
    pub(super) fn seed() -> u64 {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(value: serde_json::Value) -> Result<Settings, SettingsError> {
        let settings = Settings::deserialize(value).map_err(|e| SettingsError(e.to_string()))?;
        settings.validate().map(|()| settings)
    }

    #[test]
    fn defaults_are_valid_and_bad_values_say_why() {
        assert_eq!(check(serde_json::json!({})).unwrap(), Settings::default());
        let cases = [
            (serde_json::json!({ "symbols": [] }), "between 1 and"),
            (serde_json::json!({ "symbols": ["aapl"] }), "A-Z"),
            (serde_json::json!({ "symbols": ["A", "A"] }), "twice"),
            (serde_json::json!({ "ticks_per_second": 0 }), "ticks_per_second"),
            (serde_json::json!({ "ticks_per_second": 5000 }), "at least every 100 ms"),
            (serde_json::json!({ "ticks_per_second": 10.5 }), "and 10, not 10.5"),
            (serde_json::json!({ "ticks_per_second": 0.0001 }), "one an hour"),
            (serde_json::json!({ "rate": 1 }), "unknown field"),
        ];
        for (value, expected) in cases {
            let err = check(value).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
    }
}
