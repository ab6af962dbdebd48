//! `app.arena`: the board, the round, matchmaking and the seats' windows.

use std::time::Duration;

use serde::Deserialize;

use crate::board::{Board, MAX_PLAYERS};

/// Longest wait any window may be set to: an hour.
pub const MAX_WINDOW_MS: u64 = 3_600_000;
/// Most rooms one service keeps.
pub const MAX_ROOMS: usize = 10_000;

/// The arena's settings (`"app": {"arena": {...}}`); every key has a
/// default. Times are in milliseconds so tests can make them small.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Grid width, 4 to 64. Default 12.
    pub width: u16,
    /// Grid height, 4 to 64. Default 9.
    pub height: u16,
    /// Coins on the board at the start. Default 15.
    pub coins: usize,
    /// Ticks per second, 1 to 60. Default 20.
    pub tick_hz: u32,
    /// The round's time limit once it starts. Default 60 000.
    pub round_ms: u64,
    /// Fewest players a match starts with, 2 to 4. Default 2.
    pub min_players: usize,
    /// Most players a match takes, `min_players` to 4. Default 4.
    pub max_players: usize,
    /// How long a match waits for more players than `min_players` before
    /// it starts with fewer. Default 3 000.
    pub fill_wait_ms: u64,
    /// How long a ticket waits for a match before it is given up. Default 60 000.
    pub max_wait_ms: u64,
    /// How long a matched player's seat waits for their join. Default 15 000.
    pub reservation_ms: u64,
    /// How long a dropped player's seat waits for them. Default 20 000.
    pub reconnect_window_ms: u64,
    /// Most rooms at once. Default 1 000.
    pub max_rooms: usize,
    /// Seed of the coins' layout (each room mixes in its number). Default 1.
    pub seed: u64,
}

/// Why `app.arena` is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("app.arena: {0}")]
pub struct SettingsError(pub String);

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            width: 12,
            height: 9,
            coins: 15,
            tick_hz: 20,
            round_ms: 60_000,
            min_players: 2,
            max_players: 4,
            fill_wait_ms: 3_000,
            max_wait_ms: 60_000,
            reservation_ms: 15_000,
            reconnect_window_ms: 20_000,
            max_rooms: 1_000,
            seed: 1,
        }
    }
}

impl Settings {
    /// The settings in a node's config (defaults when it has none).
    ///
    /// # Errors
    /// A key of the wrong type, an unknown key, or a bad value.
    pub fn from_config(config: &espoir::NodeConfig) -> Result<Settings, SettingsError> {
        let settings: Settings = config.app_section("arena").map_err(|e| SettingsError(e.to_string()))?;
        settings.validate()?;
        Ok(settings)
    }

    pub(crate) fn validate(&self) -> Result<(), SettingsError> {
        let bad = |why: String| Err(SettingsError(why));
        // The largest match must fit the board with its coins.
        if let Err(err) = Board::new(self.width, self.height, &self.placeholder_players(), self.coins, 0) {
            return bad(err.to_string());
        }
        if !(1..=60).contains(&self.tick_hz) {
            return bad(format!("tick_hz: 1 to 60, not {}", self.tick_hz));
        }
        if !(2..=MAX_PLAYERS).contains(&self.min_players)
            || !(self.min_players..=MAX_PLAYERS).contains(&self.max_players)
        {
            return bad(format!(
                "players: 2 <= min_players ({}) <= max_players ({}) <= {MAX_PLAYERS}",
                self.min_players, self.max_players
            ));
        }
        let windows = [
            ("round_ms", self.round_ms),
            ("fill_wait_ms", self.fill_wait_ms),
            ("max_wait_ms", self.max_wait_ms),
            ("reservation_ms", self.reservation_ms),
            ("reconnect_window_ms", self.reconnect_window_ms),
        ];
        for (name, ms) in windows {
            if !(1..=MAX_WINDOW_MS).contains(&ms) {
                return bad(format!("{name}: 1 to {MAX_WINDOW_MS} ms, not {ms}"));
            }
        }
        if self.round_ms < 1000 / u64::from(self.tick_hz) {
            return bad(format!(
                "round_ms: at least one tick ({} ms), not {}",
                1000 / self.tick_hz,
                self.round_ms
            ));
        }
        if !(1..=MAX_ROOMS).contains(&self.max_rooms) {
            return bad(format!("max_rooms: 1 to {MAX_ROOMS}, not {}", self.max_rooms));
        }
        Ok(())
    }

    fn placeholder_players(&self) -> Vec<String> {
        (0..self.max_players.clamp(1, MAX_PLAYERS)).map(|i| format!("p{i}")).collect()
    }

    /// The round's length in ticks (at least one).
    pub fn round_ticks(&self) -> u64 {
        (self.round_ms * u64::from(self.tick_hz) / 1000).max(1)
    }

    /// `ms` as a duration.
    pub(crate) fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
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
        assert_eq!(Settings::default().round_ticks(), 1200);
        let cases = [
            (serde_json::json!({ "width": 3 }), "each side is 4 to 64"),
            (serde_json::json!({ "coins": 0 }), "coins"),
            (serde_json::json!({ "width": 4, "height": 4, "coins": 13 }), "1 to 12"),
            (serde_json::json!({ "tick_hz": 61 }), "tick_hz"),
            (serde_json::json!({ "min_players": 1 }), "min_players"),
            (serde_json::json!({ "min_players": 3, "max_players": 2 }), "max_players"),
            (serde_json::json!({ "max_players": 5 }), "<= 4"),
            (serde_json::json!({ "reconnect_window_ms": 0 }), "reconnect_window_ms"),
            (serde_json::json!({ "reservation_ms": 3_600_001u64 }), "reservation_ms"),
            (serde_json::json!({ "round_ms": 10 }), "at least one tick"),
            (serde_json::json!({ "max_rooms": 0 }), "max_rooms"),
            (serde_json::json!({ "rounds": 1 }), "unknown field"),
        ];
        for (value, expected) in cases {
            let err = check(value).unwrap_err().to_string();
            assert!(err.contains(expected), "{expected:?} in {err}");
        }
    }
}
