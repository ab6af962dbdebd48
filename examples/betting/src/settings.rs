//! The app's settings: the `app.betting` entry of a service node's config.
//!
//! ```json5
//! "app": { "betting": {
//!     "store": "embedded",              // the default, or "mongo"
//!     "path": ".data/betting-1.redb",   // the embedded store's file
//!     // "mongo_uri": "mongodb://db1,db2,db3/?replicaSet=rs0",   // store "mongo"; or { "env": … }, { "file": … }
//!     // "database": "betting",                                   // store "mongo"
//!     "worker_id": 1,                   // 0..=1023, unique per betting node
//!     "signup_bonus": 1000,             // coins a new user starts with (default 0)
//!     "recover_every": 2,               // seconds between takeover sweeps (default 2)
//! } }
//! ```

use std::path::PathBuf;
use std::time::Duration;

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
    /// A MongoDB replica set (transactions need one), shared by any
    /// number of betting nodes.
    Mongo,
}

/// `app.betting`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Which store. Default `embedded`.
    #[serde(default)]
    pub store: StoreKind,
    /// The embedded store's file; its directory is created if missing.
    /// Required by (and only read by) the embedded store.
    #[serde(default)]
    pub path: PathBuf,
    /// The MongoDB store's connection string; required by `"mongo"`. It
    /// may hold a password: it is never logged (see the `Debug` output),
    /// and may be read from the environment or a file (`{"env": …}`,
    /// `{"file": …}`) instead of being written in the config.
    #[serde(default, deserialize_with = "espoir::deserialize_opt_secret")]
    pub mongo_uri: Option<String>,
    /// The MongoDB store's database. Default `betting`; every betting node
    /// of one deployment names the same one.
    #[serde(default = "default_database")]
    pub database: String,
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
    /// How often, in seconds, the cluster job `betting.recover` looks in the
    /// store for kickoffs and payouts no live node is running (a betting
    /// node died) and takes them over. Default 2; at least 0.1.
    #[serde(default = "default_recover_every", deserialize_with = "seconds")]
    pub recover_every: Duration,
    /// The datacenter: a JSON feed of matches imported by the cluster job
    /// `betting.datacenter` (see `feed.rs`). Default: none.
    #[serde(default)]
    pub feed: Option<crate::feed::FeedSettings>,
}

fn default_recover_every() -> Duration {
    Duration::from_secs(2)
}

fn seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let secs = f64::deserialize(d)?;
    Duration::try_from_secs_f64(secs)
        .map_err(|_| serde::de::Error::custom("a non-negative number of seconds"))
}

fn default_payout_batch() -> usize {
    5000
}

fn default_database() -> String {
    "betting".into()
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("store", &self.store)
            .field("path", &self.path)
            .field("mongo_uri", &self.mongo_uri.as_deref().map(espoir::redact_uri))
            .field("database", &self.database)
            .field("worker_id", &self.worker_id)
            .field("signup_bonus", &self.signup_bonus)
            .field("payout_batch", &self.payout_batch)
            .field("recover_every", &self.recover_every)
            .field("feed", &self.feed)
            .finish()
    }
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
        if espoir::Schedule::every(settings.recover_every).is_err() {
            return Err(range("recover_every", "must be at least 0.1 (seconds)".into()));
        }
        if let Some(feed) = &settings.feed {
            feed.check().map_err(|(field, reason)| range(field, reason))?;
        }
        match settings.store {
            StoreKind::Embedded if settings.path.as_os_str().is_empty() => {
                return Err(range("path", "the embedded store needs a file".into()));
            }
            StoreKind::Embedded => {}
            StoreKind::Mongo => {
                let uri = settings.mongo_uri.as_deref().unwrap_or("").trim();
                if uri.is_empty() {
                    return Err(range("mongo_uri", "required when \"store\" is \"mongo\"".into()));
                }
                if !(uri.starts_with("mongodb://") || uri.starts_with("mongodb+srv://")) {
                    return Err(range("mongo_uri", "must start with mongodb:// or mongodb+srv://".into()));
                }
                if settings.database.is_empty() || settings.database.contains(['/', '.', ' ', '$', '\0']) {
                    return Err(range("database", "a MongoDB database name (no / . $ or spaces)".into()));
                }
            }
        }
        Ok(settings)
    }
}

impl Settings {
    /// Why this node and another betting node of one cluster cannot both
    /// run as configured, if they cannot.
    pub fn clash_with(&self, other: &Settings) -> Option<String> {
        match (self.store, other.store) {
            // redb locks its file: one node per file.
            (StoreKind::Embedded, StoreKind::Embedded) if self.path == other.path => {
                Some(format!("both use the embedded store {}, which serves one node", self.path.display()))
            }
            // Order ids are unique per worker id only.
            (StoreKind::Mongo, StoreKind::Mongo)
                if self.mongo_uri == other.mongo_uri
                    && self.database == other.database
                    && self.worker_id == other.worker_id =>
            {
                Some(format!(
                    "both use worker_id {} on MongoDB database {:?}, so their order ids would collide",
                    self.worker_id, self.database
                ))
            }
            _ => None,
        }
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
    fn two_nodes_clash_on_one_embedded_file_or_one_worker_id_on_one_database() {
        let settings =
            |app: &str| Settings::from_config(&node(&format!(r#", "app": {{"betting": {app}}}"#))).unwrap();
        let file = settings(r#"{"path": "a.redb"}"#);
        assert!(file.clash_with(&settings(r#"{"path": "a.redb"}"#)).unwrap().contains("a.redb"));
        assert_eq!(file.clash_with(&settings(r#"{"path": "b.redb"}"#)), None);
        let mongo = |worker: u16, db: &str| {
            settings(&format!(
                r#"{{"store": "mongo", "mongo_uri": "mongodb://h/?replicaSet=rs0", "database": "{db}", "worker_id": {worker}}}"#
            ))
        };
        let clash = mongo(1, "bets").clash_with(&mongo(1, "bets")).unwrap();
        assert!(clash.contains("worker_id 1") && clash.contains("collide"), "{clash}");
        assert_eq!(mongo(1, "bets").clash_with(&mongo(2, "bets")), None, "own worker ids");
        assert_eq!(mongo(1, "bets").clash_with(&mongo(1, "other")), None, "other database");
        assert_eq!(mongo(1, "bets").clash_with(&file), None);
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
                mongo_uri: None,
                database: "betting".into(),
                worker_id: 3,
                signup_bonus: 0,
                payout_batch: 5000,
                recover_every: std::time::Duration::from_secs(2),
                feed: None,
            }
        );
    }

    #[test]
    fn bad_settings_name_the_node_and_the_key() {
        let missing = Settings::from_config(&node("")).unwrap_err().to_string();
        assert!(missing.contains("bet_1") && missing.contains("betting"), "{missing}");
        let typo = Settings::from_config(&node(r#", "app": {"betting": {"path": "x", "workerid": 1}}"#));
        assert!(typo.unwrap_err().to_string().contains("workerid"));
        let store = Settings::from_config(&node(r#", "app": {"betting": {"path": "x", "store": "redis"}}"#));
        let store = store.unwrap_err().to_string();
        assert!(store.contains("embedded") && store.contains("mongo"), "lists the stores built in: {store}");
        let path = Settings::from_config(&node(r#", "app": {"betting": {"worker_id": 1}}"#));
        assert!(path.unwrap_err().to_string().contains("path"), "the embedded store needs a file");
        let worker =
            Settings::from_config(&node(r#", "app": {"betting": {"path": "x", "worker_id": 1024}}"#));
        assert!(worker.unwrap_err().to_string().contains("worker_id"));
    }

    #[test]
    fn the_mongo_store_needs_a_uri_and_never_shows_its_password() {
        let no_uri = Settings::from_config(&node(r#", "app": {"betting": {"store": "mongo"}}"#));
        assert!(no_uri.unwrap_err().to_string().contains("mongo_uri"));
        let bad =
            Settings::from_config(&node(r#", "app": {"betting": {"store": "mongo", "mongo_uri": "db1"}}"#));
        assert!(bad.unwrap_err().to_string().contains("mongodb://"));
        let db = r#", "app": {"betting": {"store": "mongo", "mongo_uri": "mongodb://h", "database": "a.b"}}"#;
        assert!(Settings::from_config(&node(db)).unwrap_err().to_string().contains("database"));
        let s = Settings::from_config(&node(
            r#", "app": {"betting": {"store": "mongo", "mongo_uri": "mongodb://bet:hunter2@db1,db2/?replicaSet=rs0", "worker_id": 2}}"#,
        ))
        .unwrap();
        assert_eq!((s.store, s.database.as_str(), s.worker_id), (StoreKind::Mongo, "betting", 2));
        let shown = format!("{s:?}");
        assert!(shown.contains("mongodb://db1,db2") && !shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn the_mongo_uri_may_come_from_a_secret_file_or_name_the_missing_variable() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mongo_uri");
        std::fs::write(&file, "mongodb://bet:hunter2@db1,db2/?replicaSet=rs0\n").unwrap();
        let app = format!(
            r#", "app": {{"betting": {{"store": "mongo", "mongo_uri": {{"file": "{}"}}}}}}"#,
            file.display()
        );
        let s = Settings::from_config(&node(&app)).unwrap();
        assert_eq!(s.mongo_uri.as_deref(), Some("mongodb://bet:hunter2@db1,db2/?replicaSet=rs0"));

        let unset = "ESPOIR_BETTING_TEST_VARIABLE_NEVER_SET_7f3a";
        let app =
            format!(r#", "app": {{"betting": {{"store": "mongo", "mongo_uri": {{"env": "{unset}"}}}}}}"#);
        let err = Settings::from_config(&node(&app)).unwrap_err().to_string();
        assert!(err.contains("app.betting") && err.contains(&format!("{unset} is not set")), "{err}");
    }
}
