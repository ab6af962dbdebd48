//! `espoir config push` and `pull`: a folder of config files to and from a
//! collection, one document per node.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mongodb::bson::{Document, doc};
use mongodb::options::ClientOptions;
use mongodb::{Client, Collection};

use super::bootstrap::redact_uri;
use super::{DEFAULT_COLLECTION, DEFAULT_DATABASE, convert};
use crate::config::{ConfigError, NodeConfig};

/// A collection of node configs.
#[derive(Clone)]
pub struct MongoTarget {
    /// Connection string (never logged).
    pub uri: String,
    /// Database. Default `espoir`.
    pub database: String,
    /// Collection. Default `nodes`.
    pub collection: String,
}

impl MongoTarget {
    /// The default database and collection at `uri`.
    pub fn new(uri: impl Into<String>) -> Self {
        MongoTarget {
            uri: uri.into(),
            database: DEFAULT_DATABASE.into(),
            collection: DEFAULT_COLLECTION.into(),
        }
    }

    fn store(&self) -> String {
        format!("{}/{}.{}", redact_uri(&self.uri), self.database, self.collection)
    }

    async fn collection(&self) -> Result<(Client, Collection<Document>), TransferError> {
        let mut options =
            ClientOptions::parse(&self.uri).await.map_err(|e| self.error("bad connection string", &e))?;
        options.server_selection_timeout = Some(Duration::from_secs(10));
        let client = Client::with_options(options).map_err(|e| self.error("bad connection string", &e))?;
        let coll = client.database(&self.database).collection(&self.collection);
        Ok((client, coll))
    }

    fn error(&self, what: &str, e: &mongodb::error::Error) -> TransferError {
        // Only the error's kind: its message may quote the connection string.
        let kind = format!("{:?}", e.kind);
        let kind = kind.split([' ', '(', '{']).next().unwrap_or("error").to_owned();
        TransferError::Store { store: self.store(), reason: format!("{what}: {kind}") }
    }
}

impl fmt::Debug for MongoTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.store())
    }
}

/// Why a push or pull did nothing, or stopped.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// A file of the folder is invalid (or the folder as a cluster is):
    /// nothing was written.
    #[error("nothing pushed: {0}")]
    Invalid(#[from] ConfigError),
    /// The folder holds no config files.
    #[error("nothing pushed: {} holds no config files (*.json5, *.json)", .0.display())]
    Empty(PathBuf),
    /// MongoDB refused or could not be reached.
    #[error("{store}: {reason}")]
    Store {
        /// The collection, without credentials.
        store: String,
        /// What failed.
        reason: String,
    },
    /// A stored document cannot become a file.
    #[error("document {id:?} cannot be written out: {reason}")]
    BadDocument {
        /// Its `_id`.
        id: String,
        /// Why.
        reason: String,
    },
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Validates every file of `dir` as one cluster and, only if all are
/// valid, upserts one document per node in a single transaction: all of
/// them are stored or none. Returns the node names pushed.
///
/// # Errors
/// [`TransferError::Invalid`] (nothing written) for an invalid folder,
/// [`TransferError::Store`] when MongoDB fails (the transaction is rolled
/// back).
pub async fn push_configs(dir: &Path, target: &MongoTarget) -> Result<Vec<String>, TransferError> {
    let files = NodeConfig::load_dir(dir)?;
    if files.is_empty() {
        return Err(TransferError::Empty(dir.to_path_buf()));
    }
    let mut docs = Vec::with_capacity(files.len());
    for (path, _) in &files {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { file: path.clone(), source })?;
        docs.push(convert::text_to_document(&text, path)?);
    }
    let (client, coll) = target.collection().await?;
    let mut session = client.start_session().await.map_err(|e| target.error("cannot start a session", &e))?;
    session.start_transaction().await.map_err(|e| target.error("cannot start a transaction", &e))?;
    for (name, doc) in &docs {
        let written = coll.replace_one(doc! { "_id": name }, doc).upsert(true).session(&mut session).await;
        if let Err(e) = written {
            let _ = session.abort_transaction().await;
            return Err(target.error(&format!("cannot store {name}"), &e));
        }
    }
    session.commit_transaction().await.map_err(|e| target.error("commit failed", &e))?;
    Ok(docs.into_iter().map(|(name, _)| name).collect())
}

/// Writes every document of the collection to `dir` as `<name>.json5`,
/// creating `dir`. Returns the files written, sorted by node name.
///
/// # Errors
/// [`TransferError::Store`] when MongoDB fails; [`TransferError::BadDocument`]
/// for a document whose `_id` is not a safe file name; [`TransferError::Write`].
pub async fn pull_configs(target: &MongoTarget, dir: &Path) -> Result<Vec<PathBuf>, TransferError> {
    let (_client, coll) = target.collection().await?;
    let mut cursor =
        coll.find(doc! {}).sort(doc! { "_id": 1 }).await.map_err(|e| target.error("cannot read", &e))?;
    let mut docs = Vec::new();
    while cursor.advance().await.map_err(|e| target.error("cannot read", &e))? {
        let doc = cursor.deserialize_current().map_err(|e| target.error("cannot read", &e))?;
        docs.push(doc);
    }
    std::fs::create_dir_all(dir)
        .map_err(|source| TransferError::Write { path: dir.to_path_buf(), source })?;
    let mut written = Vec::with_capacity(docs.len());
    for doc in docs {
        let id = doc.get_str("_id").map(str::to_owned).map_err(|_| TransferError::BadDocument {
            id: format!("{:?}", doc.get("_id")),
            reason: "_id must be the node's name, a string".into(),
        })?;
        if !is_safe_file_stem(&id) {
            return Err(TransferError::BadDocument { id, reason: "not usable as a file name".into() });
        }
        let path = dir.join(format!("{id}.json5"));
        let text = format!("// pulled from {}\n{}\n", target.store(), convert::document_to_text(doc));
        std::fs::write(&path, text).map_err(|source| TransferError::Write { path: path.clone(), source })?;
        written.push(path);
    }
    Ok(written)
}

fn is_safe_file_stem(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_become_files() {
        assert!(is_safe_file_stem("service_1"));
        assert!(is_safe_file_stem("proxy-eu.2"));
        for bad in ["", "../etc/passwd", "a/b", ".hidden", "a b", "x\0"] {
            assert!(!is_safe_file_stem(bad), "{bad:?}");
        }
    }

    #[test]
    fn targets_print_without_credentials() {
        let t = MongoTarget::new("mongodb://root:secret@db:27017/?replicaSet=rs0");
        assert_eq!(format!("{t:?}"), "mongodb://db:27017/espoir.nodes");
    }
}
