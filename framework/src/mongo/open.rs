//! Opening any node config file, full or bootstrap: the config to start
//! with and the [`ConfigSource`](crate::ConfigSource) to re-read it from.

use std::path::{Path, PathBuf};

#[cfg(feature = "mongodb")]
use super::bootstrap::parse_bootstrap;
#[cfg(feature = "mongodb")]
use super::source::MongoSource;
use crate::config::{ConfigError, NodeConfig};
use crate::node::{Node, NodeBuilder};
use crate::reload::FileSource;

/// A node's config, where to re-read it, and how it was obtained.
#[derive(Debug)]
pub struct OpenedConfig {
    /// The config to start with.
    pub config: NodeConfig,
    /// Set when MongoDB was unreachable and the node starts from its
    /// last-known-good copy: says so, for the log.
    pub fallback: Option<String>,
    source: Source,
}

#[derive(Debug)]
enum Source {
    File(FileSource),
    #[cfg(feature = "mongodb")]
    Mongo(MongoSource),
}

impl OpenedConfig {
    /// A config already loaded from `file` (for example by
    /// [`NodeConfig::load_dir`]), re-read from that file on reload.
    pub fn from_file(file: impl Into<PathBuf>, config: NodeConfig) -> Self {
        OpenedConfig { config, fallback: None, source: Source::File(FileSource::new(file)) }
    }

    /// A node builder for this config that re-reads the same source on
    /// reload.
    pub fn builder(self) -> NodeBuilder {
        let builder = Node::builder(self.config);
        match self.source {
            Source::File(file) => builder.config_source(file),
            #[cfg(feature = "mongodb")]
            Source::Mongo(mongo) => builder.config_source(mongo),
        }
    }

    /// The MongoDB source, when the config lives there.
    #[cfg(feature = "mongodb")]
    pub fn mongo(&self) -> Option<&MongoSource> {
        match &self.source {
            Source::Mongo(m) => Some(m),
            Source::File(_) => None,
        }
    }
}

/// Opens a node's config file. A full config is loaded and validated; a
/// bootstrap file (`"available_way": "mongo"`) has the config read from
/// MongoDB — or, when MongoDB cannot be reached, from the last-known-good
/// copy, if there is one (see [`OpenedConfig::fallback`]).
///
/// # Errors
/// As [`NodeConfig::load`] for files; for MongoDB, an invalid or missing
/// document, or [`ConfigError::Unavailable`] when MongoDB is unreachable
/// and no usable copy exists.
pub async fn open_node_config(path: &Path) -> Result<OpenedConfig, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ConfigError::Read { file: path.to_path_buf(), source })?;
    let value: Option<serde_json::Value> = serde_json5::from_str(text.trim_start_matches('\u{feff}')).ok();
    let is_bootstrap =
        value.as_ref().and_then(|v| v.get("available_way")).and_then(|w| w.as_str()) == Some("mongo");
    let (Some(value), true) = (value, is_bootstrap) else {
        let config = NodeConfig::from_json5_str(&text, path)?;
        return Ok(OpenedConfig { config, fallback: None, source: Source::File(FileSource::new(path)) });
    };
    open_from_mongo(value, path).await
}

/// A bootstrap file in a build without MongoDB: said plainly, rather than
/// as a config with most of its keys missing.
#[cfg(not(feature = "mongodb"))]
async fn open_from_mongo(_bootstrap: serde_json::Value, path: &Path) -> Result<OpenedConfig, ConfigError> {
    Err(ConfigError::Invalid {
        problems: vec![crate::config::Problem::new(
            path,
            "available_way",
            "is \"mongo\", but this binary was built without espoir's `mongodb` feature",
        )],
    })
}

/// Reads a bootstrap file's config from MongoDB, or from the last-known-good
/// copy while MongoDB is unreachable.
#[cfg(feature = "mongodb")]
async fn open_from_mongo(value: serde_json::Value, path: &Path) -> Result<OpenedConfig, ConfigError> {
    let settings = parse_bootstrap(value, path)?;
    let source = MongoSource::connect(settings).await?;
    match source.fetch().await {
        Ok(config) => Ok(OpenedConfig { config, fallback: None, source: Source::Mongo(source) }),
        Err(unreachable @ ConfigError::Unavailable { .. }) => match source.read_cache() {
            Some((copy, Ok(config))) => {
                let fallback =
                    Some(format!("{unreachable}; started from the last-known-good copy {}", copy.display()));
                Ok(OpenedConfig { config, fallback, source: Source::Mongo(source) })
            }
            Some((copy, Err(err))) => Err(ConfigError::Unavailable {
                store: source.settings().store(),
                node: source.settings().node.clone(),
                reason: format!(
                    "unreachable, and the last-known-good copy {} is unusable: {err}",
                    copy.display()
                ),
            }),
            None => Err(unreachable),
        },
        Err(other) => Err(other),
    }
}
