//! [`MongoSource`]: one node's config document, read on start-up and on
//! every reload, and followed with a change stream when the node watches
//! its config.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use mongodb::bson::{Document, doc};
use mongodb::options::ClientOptions;
use mongodb::{Client, Collection};
use tokio::sync::mpsc;

use super::bootstrap::MongoSettings;
use super::{cache, convert};
use crate::config::{ConfigError, NodeConfig, Problem};
use crate::reload::ConfigSource;
use crate::shutdown::Shutdown;
use crate::transport::Backoff;

/// One node's config document in MongoDB. Cheap to clone.
#[derive(Debug, Clone)]
pub struct MongoSource {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    settings: MongoSettings,
    client: Client,
}

impl MongoSource {
    /// Prepares a client for `settings`. No server is contacted yet (the
    /// driver connects lazily), so this succeeds while MongoDB is down.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming `mongo_uri` when the connection
    /// string is malformed.
    pub async fn connect(settings: MongoSettings) -> Result<MongoSource, ConfigError> {
        let bad_uri = |e: mongodb::error::Error| ConfigError::Invalid {
            // The driver's message may quote the URI: say only what kind of error.
            problems: vec![Problem::new(
                &settings.origin(),
                "mongo_uri",
                format!("not a valid connection string ({})", error_kind(&e)),
            )],
        };
        let mut options = ClientOptions::parse(&settings.uri).await.map_err(bad_uri)?;
        options.server_selection_timeout = Some(settings.timeout);
        options.connect_timeout = Some(settings.timeout);
        options.app_name = Some(format!("espoir node {}", settings.node));
        let client = Client::with_options(options).map_err(bad_uri)?;
        Ok(MongoSource { inner: Arc::new(Inner { settings, client }) })
    }

    /// Where this source reads.
    pub fn settings(&self) -> &MongoSettings {
        &self.inner.settings
    }

    fn collection(&self) -> Collection<Document> {
        let s = &self.inner.settings;
        self.inner.client.database(&s.database).collection(&s.collection)
    }

    fn unavailable(&self, reason: impl Into<String>) -> ConfigError {
        let s = &self.inner.settings;
        ConfigError::Unavailable { store: s.store(), node: s.node.clone(), reason: reason.into() }
    }

    /// Reads and validates the node's document; on success also refreshes
    /// the last-known-good copy.
    pub(crate) async fn fetch(&self) -> Result<NodeConfig, ConfigError> {
        let s = &self.inner.settings;
        let found = self
            .collection()
            .find_one(doc! { "_id": &s.node })
            .await
            .map_err(|e| self.unavailable(error_kind(&e)))?;
        let origin = s.origin();
        let doc = found.ok_or_else(|| ConfigError::Invalid {
            problems: vec![Problem::new(
                &origin,
                "",
                format!("no config document with _id {:?} in {}", s.node, s.store()),
            )],
        })?;
        let (text, config) = convert::document_to_config(doc, &origin)?;
        if config.name != s.node {
            return Err(ConfigError::Invalid {
                problems: vec![Problem::new(
                    &origin,
                    "name",
                    format!("is {:?} but the document's _id is {:?}", config.name, s.node),
                )],
            });
        }
        if let Some(path) = &s.cache
            && let Err(err) = cache::write(path, &text)
        {
            // Not fatal: the node has its config; it only loses the
            // ability to start while MongoDB is down.
            tracing::warn!(cache = %path.display(), error = %err, "cannot write the last-known-good config copy");
        }
        Ok(config)
    }

    /// The last-known-good copy, if one was ever written: its path and
    /// what it holds.
    pub(crate) fn read_cache(&self) -> Option<(PathBuf, Result<NodeConfig, ConfigError>)> {
        let path = self.inner.settings.cache.clone()?;
        let text = std::fs::read_to_string(&path).ok()?;
        let config = NodeConfig::from_json5_str(&text, &path);
        Some((path, config))
    }

    /// Follows the node's document until shutdown: one signal per change,
    /// and one each time the stream opens, the first time included, since
    /// changes made before it opened (while the node started, or while the
    /// stream was down) were not seen. Reconnects forever with backoff.
    async fn follow(self, tx: mpsc::Sender<()>, shutdown: Shutdown) {
        let node = self.inner.settings.node.clone();
        let pipeline = vec![doc! { "$match": { "documentKey._id": &node } }];
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
        let collection = self.collection();
        loop {
            let opened = tokio::select! {
                () = shutdown.cancelled() => return,
                opened = collection.watch().pipeline(pipeline.clone()) => opened,
            };
            match opened {
                Ok(mut stream) => {
                    backoff.reset();
                    tracing::info!(store = %self.inner.settings.store(), "config change stream open; re-reading");
                    let _ = tx.try_send(());
                    loop {
                        let event = tokio::select! {
                            () = shutdown.cancelled() => return,
                            event = stream.next() => event,
                        };
                        match event {
                            // A full channel already holds a pending re-read.
                            Some(Ok(_)) => {
                                let _ = tx.try_send(());
                            }
                            Some(Err(e)) => {
                                tracing::warn!(store = %self.inner.settings.store(), error = error_kind(&e),
                                    "config change stream lost; the running config is kept");
                                break;
                            }
                            None => break,
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(store = %self.inner.settings.store(), error = error_kind(&e),
                        "cannot open the config change stream; retrying");
                }
            }
            let delay = backoff.next_delay();
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
        }
    }
}

/// The driver's error kind, without the message (which may quote hosts or
/// connection strings).
fn error_kind(e: &mongodb::error::Error) -> String {
    use mongodb::error::ErrorKind;
    match e.kind.as_ref() {
        ErrorKind::ServerSelection { .. } => "no reachable server".into(),
        ErrorKind::Io(io) => format!("i/o: {}", io.kind()),
        ErrorKind::Authentication { .. } => "authentication failed".into(),
        ErrorKind::InvalidArgument { .. } => "invalid argument".into(),
        ErrorKind::Command(c) => format!("command failed: {} ({})", c.code_name, c.code),
        other => {
            let name = format!("{other:?}");
            name.split([' ', '(', '{']).next().unwrap_or("error").to_owned()
        }
    }
}

impl ConfigSource for MongoSource {
    fn load(&self) -> BoxFuture<'_, Result<NodeConfig, ConfigError>> {
        Box::pin(self.fetch())
    }

    fn describe(&self) -> String {
        format!("mongodb {}", self.inner.settings.origin().display())
    }

    fn changes(&self, shutdown: &Shutdown) -> Option<mpsc::Receiver<()>> {
        let (tx, rx) = mpsc::channel(1);
        shutdown.spawn(self.clone().follow(tx, shutdown.clone()));
        Some(rx)
    }
}
