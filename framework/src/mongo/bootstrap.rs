//! The local file of a node whose config lives in MongoDB: where MongoDB
//! is and which node this is, as [`MongoSettings`].
//!
//! A bootstrap file says where MongoDB is and which node this is:
//!
//! ```json5
//! {
//!     "name": "service_1",
//!     "available_way": "mongo",
//!     "mongo_uri": "mongodb://db1,db2,db3/?replicaSet=rs0",   // or {"env": …}, {"file": …}
//!     "mongo": { "database": "espoir", "collection": "nodes" },   // optional
//! }
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::{DEFAULT_COLLECTION, DEFAULT_DATABASE};
use crate::config::{ConfigError, Problem};

/// Where one node's config document lives.
#[derive(Clone, PartialEq, Eq)]
pub struct MongoSettings {
    /// Connection string; may carry a password, so never logged.
    pub uri: String,
    /// Database. Default `espoir`.
    pub database: String,
    /// Collection. Default `nodes`.
    pub collection: String,
    /// The node's name: its document's `_id`.
    pub node: String,
    /// Where the last-known-good copy is written; `None` keeps none.
    pub cache: Option<PathBuf>,
    /// How long an operation waits for a reachable server before it fails.
    pub timeout: Duration,
}

impl fmt::Debug for MongoSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MongoSettings")
            .field("uri", &redact_uri(&self.uri))
            .field("database", &self.database)
            .field("collection", &self.collection)
            .field("node", &self.node)
            .field("cache", &self.cache)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl MongoSettings {
    /// Settings with the default database, collection and a 5 s timeout,
    /// without a last-known-good copy.
    pub fn new(uri: impl Into<String>, node: impl Into<String>) -> Self {
        MongoSettings {
            uri: uri.into(),
            database: DEFAULT_DATABASE.into(),
            collection: DEFAULT_COLLECTION.into(),
            node: node.into(),
            cache: None,
            timeout: Duration::from_secs(5),
        }
    }

    /// Parses a bootstrap file's text (`origin` names it in errors and is
    /// where the default last-known-good copy goes beside). `None` when the
    /// text is not a bootstrap file (no `"available_way": "mongo"`).
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the field, for a bootstrap file that
    /// is not valid.
    pub fn from_bootstrap_str(text: &str, origin: &Path) -> Result<Option<MongoSettings>, ConfigError> {
        let value: serde_json::Value = match serde_json5::from_str(text.trim_start_matches('\u{feff}')) {
            Ok(v) => v,
            Err(_) => return Ok(None),
        };
        if value.get("available_way").and_then(|w| w.as_str()) != Some("mongo") {
            return Ok(None);
        }
        parse_bootstrap(value, origin).map(Some)
    }

    /// The store, without credentials: `mongodb://hosts/db.collection`.
    pub(crate) fn store(&self) -> String {
        format!("{}/{}.{}", redact_uri(&self.uri), self.database, self.collection)
    }

    /// The node's document, for errors: `mongodb://hosts/db.collection/name`.
    pub(crate) fn origin(&self) -> PathBuf {
        PathBuf::from(format!("{}/{}", self.store(), self.node))
    }
}

/// `scheme://hosts` of a connection string: user, password, path and
/// options left out. For logs and errors that name a MongoDB deployment
/// (here and in applications' own MongoDB stores).
pub fn redact_uri(uri: &str) -> String {
    let Some((scheme, rest)) = uri.split_once("://") else { return "<mongodb>".into() };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let hosts = &rest[..end];
    let hosts = hosts.rsplit_once('@').map_or(hosts, |(_, h)| h);
    format!("{scheme}://{hosts}")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BootstrapFile {
    name: String,
    #[allow(dead_code)] // Checked before parsing: it is what makes this a bootstrap file.
    available_way: String,
    #[serde(default)]
    mongo_uri: Option<crate::config::SecretSource>,
    #[serde(default)]
    mongo: MongoSection,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct MongoSection {
    database: Option<String>,
    collection: Option<String>,
    cache: Option<PathBuf>,
    timeout: Option<f64>,
}

const BOOTSTRAP_KEYS: [&str; 4] = ["name", "available_way", "mongo_uri", "mongo"];

fn invalid(origin: &Path, field: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { problems: vec![Problem::new(origin, field, reason)] }
}

/// Parses a bootstrap file's JSON value; `path` is the file, used for
/// errors and for the default last-known-good location next to it.
pub(super) fn parse_bootstrap(value: serde_json::Value, path: &Path) -> Result<MongoSettings, ConfigError> {
    if let Some(obj) = value.as_object() {
        let extra: Vec<&str> =
            obj.keys().map(String::as_str).filter(|k| !BOOTSTRAP_KEYS.contains(k)).collect();
        if !extra.is_empty() {
            return Err(invalid(
                path,
                extra[0],
                format!(
                    "with \"available_way\": \"mongo\" the node's config lives in MongoDB; this file may only hold \
                     {BOOTSTRAP_KEYS:?} (found {extra:?})"
                ),
            ));
        }
    }
    let file: BootstrapFile =
        serde_json::from_value(value).map_err(|e| invalid(path, "", format!("not a bootstrap file: {e}")))?;
    let uri = file
        .mongo_uri
        .map(|source| source.read().map_err(|why| invalid(path, "mongo_uri", why)))
        .transpose()?
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| invalid(path, "mongo_uri", "required when available_way is \"mongo\""))?;
    if !(uri.starts_with("mongodb://") || uri.starts_with("mongodb+srv://")) {
        return Err(invalid(path, "mongo_uri", "must start with mongodb:// or mongodb+srv://"));
    }
    if file.name.trim().is_empty() {
        return Err(invalid(path, "name", "must not be empty: it is the node's document id"));
    }
    let mut settings = MongoSettings::new(uri, file.name);
    let section = file.mongo;
    for (field, value) in [("mongo.database", &section.database), ("mongo.collection", &section.collection)] {
        if value.as_deref().is_some_and(|v| v.is_empty() || v.contains(['$', '\0'])) {
            return Err(invalid(path, field, "must be a non-empty name without '$'"));
        }
    }
    if let Some(db) = section.database {
        settings.database = db;
    }
    if let Some(coll) = section.collection {
        settings.collection = coll;
    }
    if let Some(secs) = section.timeout {
        if !(secs.is_finite() && secs > 0.0 && secs <= 600.0) {
            return Err(invalid(path, "mongo.timeout", "seconds, more than 0 and at most 600"));
        }
        settings.timeout = Duration::from_secs_f64(secs);
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    settings.cache = Some(match section.cache {
        Some(p) if p.is_absolute() => p,
        Some(p) => dir.join(p),
        // A hidden folder: `espoir up DIR` reads only DIR's own files.
        None => dir.join(".last-good").join(format!("{}.json", settings.node)),
    });
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<MongoSettings, ConfigError> {
        parse_bootstrap(serde_json5::from_str(text).unwrap(), Path::new("/etc/espoir/service.json5"))
    }

    #[test]
    fn credentials_never_leave_the_uri() {
        assert_eq!(redact_uri("mongodb://u:p%40ss@h1:27017,h2/db?replicaSet=rs0"), "mongodb://h1:27017,h2");
        assert_eq!(redact_uri("mongodb+srv://cluster.example.com"), "mongodb+srv://cluster.example.com");
        assert_eq!(redact_uri("garbage"), "<mongodb>");
        let s = MongoSettings::new("mongodb://admin:hunter2@db/", "p");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!s.origin().display().to_string().contains("hunter2"));
    }

    #[test]
    fn a_bootstrap_file_gets_defaults() {
        let s = parse(r#"{ "name": "service_1", "available_way": "mongo", "mongo_uri": "mongodb://db/" }"#)
            .unwrap();
        assert_eq!((s.database.as_str(), s.collection.as_str()), ("espoir", "nodes"));
        assert_eq!(s.cache.unwrap(), Path::new("/etc/espoir/.last-good/service_1.json"));
        let s = parse(
            r#"{ "name": "a", "available_way": "mongo", "mongo_uri": "mongodb://db/",
                 "mongo": { "database": "game", "collection": "cfg", "cache": "c/a.json", "timeout": 2 } }"#,
        )
        .unwrap();
        assert_eq!((s.database.as_str(), s.collection.as_str()), ("game", "cfg"));
        assert_eq!(s.cache.unwrap(), Path::new("/etc/espoir/c/a.json"));
        assert_eq!(s.timeout, Duration::from_secs(2));
    }

    #[test]
    fn bad_bootstrap_files_say_which_field() {
        let cases = [
            (r#"{ "name": "a", "available_way": "mongo" }"#, "mongo_uri"),
            (r#"{ "name": "a", "available_way": "mongo", "mongo_uri": "http://x" }"#, "mongo_uri"),
            (r#"{ "name": "", "available_way": "mongo", "mongo_uri": "mongodb://x" }"#, "name"),
            (r#"{ "name": "a", "available_way": "mongo", "mongo_uri": "mongodb://x", "rpc": {} }"#, "rpc"),
            (
                r#"{ "name": "a", "available_way": "mongo", "mongo_uri": "mongodb://x", "mongo": {"database": "$x"} }"#,
                "mongo.database",
            ),
            (
                r#"{ "name": "a", "available_way": "mongo", "mongo_uri": "mongodb://x", "mongo": {"timeout": -1} }"#,
                "mongo.timeout",
            ),
        ];
        for (text, field) in cases {
            let err = parse(text).unwrap_err();
            assert!(err.problems().iter().any(|p| p.field == field), "{text}: {err}");
        }
    }
}
