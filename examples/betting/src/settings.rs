//! The app's settings: the `app.betting` entry of a service node's config.
//!
//! ```json5
//! "app": { "betting": {
//!     "store": "embedded",              // the default; the only one built in
//!     "path": ".data/betting-1.redb",   // the embedded store's file
//!     "worker_id": 1,                   // 0..=1023, unique per betting node
//!     "signup_bonus": 1000,             // coins a new user starts with (default 0)
//! } }
//! ```

use std::path::PathBuf;

use espoir::NodeConfig;
use serde::Deserialize;

use crate::ids::MAX_WORKER_ID;

/// Which store keeps the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// One redb file, serving one betting node. The default.
    #[default]
    Embedded,
}

/// `app.betting`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Which store. Default `embedded`.
    #[serde(default)]
    pub store: StoreKind,
    /// The embedded store's file; its directory is created if missing.
    pub path: PathBuf,
    /// This node's part of every order id; two betting nodes sharing a
    /// store must have different ones. Default 0.
    #[serde(default)]
    pub worker_id: u16,
    /// Coins credited to a user at sign-up (counted as credit). Default 0:
    /// coins come from the admin (`POST /gm/users/{name}/credit`).
    #[serde(default)]
    pub signup_bonus: u64,
    /// Orders settled or refunded per store transaction. Default 5000:
    /// big enough to settle 100,000 bets in a few dozen commits, small
    /// enough that one batch never stalls bets on other matches for long.
    #[serde(default = "default_payout_batch")]
    pub payout_batch: usize,
}

fn default_payout_batch() -> usize {
    5000
}

/// Why `app.betting` is unusable.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The node's config has no `app.betting`.
    #[error(
        "node {node}: a betting service needs an \"app\": {{\"betting\": {{...}}}} entry (at least \"path\")"
    )]
    Missing {
        /// The node's name.
        node: String,
    },
    /// A key is missing, unknown or of the wrong type.
    #[error("node {node}: app.betting: {source}")]
    Invalid {
        /// The node's name.
        node: String,
        /// serde's explanation.
        source: serde_json::Error,
    },
    /// A value is out of range.
    #[error("node {node}: app.betting.{field}: {reason}")]
    OutOfRange {
        /// The node's name.
        node: String,
        /// The key.
        field: &'static str,
        /// Why.
        reason: String,
    },
}

impl Settings {
    /// Reads and checks `app.betting` from a node's config.
    ///
    /// # Errors
    /// [`SettingsError`] naming the node and the key.
    pub fn from_config(config: &NodeConfig) -> Result<Settings, SettingsError> {
        let node = config.name.clone();
        let value = config.app.get("betting").ok_or_else(|| SettingsError::Missing { node: node.clone() })?;
        let settings: Settings = serde_json::from_value(value.clone())
            .map_err(|source| SettingsError::Invalid { node: node.clone(), source })?;
        let range = |field, reason: String| SettingsError::OutOfRange { node: node.clone(), field, reason };
        if settings.worker_id > MAX_WORKER_ID {
            return Err(range("worker_id", format!("{} is above {MAX_WORKER_ID}", settings.worker_id)));
        }
        if settings.payout_batch == 0 || settings.payout_batch > 100_000 {
            return Err(range("payout_batch", "must be between 1 and 100000".into()));
        }
        if settings.path.as_os_str().is_empty() {
            return Err(range("path", "must name a file".into()));
        }
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn node(app: &str) -> NodeConfig {
        let text = format!(
            r#"{{"name": "bet_1", "type": "service", "host": "127.0.0.1",
                "rpc": {{"port": 9999, "token": "helloworldiloveyou~1234567890123"}} {app}}}"#
        );
        NodeConfig::from_json5_str(&text, Path::new("bet.json5")).unwrap()
    }

    #[test]
    fn settings_come_from_app_betting_with_defaults() {
        let s = Settings::from_config(&node(r#", "app": {"betting": {"path": "x.redb", "worker_id": 3}}"#))
            .unwrap();
        assert_eq!(
            s,
            Settings {
                store: StoreKind::Embedded,
                path: "x.redb".into(),
                worker_id: 3,
                signup_bonus: 0,
                payout_batch: 5000
            }
        );
    }

    #[test]
    fn bad_settings_name_the_node_and_the_key() {
        let missing = Settings::from_config(&node("")).unwrap_err().to_string();
        assert!(missing.contains("bet_1") && missing.contains("betting"), "{missing}");
        let typo = Settings::from_config(&node(r#", "app": {"betting": {"path": "x", "workerid": 1}}"#));
        assert!(typo.unwrap_err().to_string().contains("workerid"));
        let store = Settings::from_config(&node(r#", "app": {"betting": {"path": "x", "store": "mongo"}}"#));
        assert!(store.unwrap_err().to_string().contains("embedded"), "lists the stores built in");
        let worker =
            Settings::from_config(&node(r#", "app": {"betting": {"path": "x", "worker_id": 1024}}"#));
        assert!(worker.unwrap_err().to_string().contains("worker_id"));
    }
}
