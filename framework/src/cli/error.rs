//! What can stop a command, each said in one readable line.

use std::io;
use std::path::PathBuf;

use crate::config::ConfigError;
use crate::node::{NodeError, UnknownGroup};

/// A command that could not do its work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// The async runtime could not be started.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] io::Error),
    /// A config could not be read or is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `up` was given a folder without configs.
    #[error("no config files (*.json5, *.json) in {}", .0.display())]
    NoConfigs(PathBuf),
    /// `up` found problems in the cluster's configs (as `check` would),
    /// one line each, naming the file.
    #[error("{}", .0.join("\n"))]
    Problems(Vec<String>),
    /// The log could not be set up.
    #[error(transparent)]
    Logging(#[from] LoggingError),
    /// A config names a handler group the binary does not have.
    #[error("node {node}: {source}")]
    UnknownGroup {
        /// The node's name.
        node: String,
        /// Which group, and the groups there are.
        #[source]
        source: UnknownGroup,
    },
    /// A node did not start.
    #[error("node {node}: {source}")]
    Start {
        /// The node's name.
        node: String,
        /// Why.
        #[source]
        source: NodeError,
    },
    /// `config push` or `config pull` failed.
    #[cfg(feature = "mongodb")]
    #[error(transparent)]
    Transfer(#[from] crate::mongo::TransferError),
}

/// The log could not be set up ([`LogSetup`](super::LogSetup)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoggingError {
    /// `log_dir` could not be created.
    #[error("cannot create log_dir {}: {source}", dir.display())]
    CreateDir {
        /// The directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The log file could not be opened for appending (or a rotated
    /// file's directory could not be listed).
    #[error("cannot open log file {}: {source}", file.display())]
    Open {
        /// The file.
        file: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// `RUST_LOG` is not a list of `target=level` directives.
    #[error("RUST_LOG={value:?} is not a list of target=level directives: {reason}")]
    RustLog {
        /// The variable's value.
        value: String,
        /// Why.
        reason: String,
    },
    /// The process already has a log subscriber: logging is set up once
    /// per process.
    #[error("the process's log is already set up")]
    AlreadySet,
}
