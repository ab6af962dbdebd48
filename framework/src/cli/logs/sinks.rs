//! Where lines go: stderr, or a node's files under its `log_dir`, each
//! through a non-blocking writer. A writer's own thread does the blocking
//! writes, so the async threads never wait on a disk or a terminal; its
//! queue is bounded and, when full, the logging thread waits rather than
//! drop lines.

use std::path::Path;

use tracing_appender::non_blocking::{NonBlocking, NonBlockingBuilder, WorkerGuard};
use tracing_appender::rolling::{RollingFileAppender, Rotation};

use super::super::error::LoggingError;
use crate::config::{LogRotation, LogsConfig};

/// Lines that may wait for a writer's thread (tracing-appender's default).
const QUEUED_LINES: usize = 128_000;

fn non_blocking<W: std::io::Write + Send + 'static>(writer: W, thread: &str) -> (NonBlocking, WorkerGuard) {
    NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(QUEUED_LINES)
        .thread_name(thread)
        .finish(writer)
}

/// The process's stderr.
pub(super) fn stderr() -> (NonBlocking, WorkerGuard) {
    non_blocking(std::io::stderr(), "espoir-log-stderr")
}

/// The files of node `name` under `dir`: `{name}.{date}.log` rotated as
/// `logs` says, or `{name}.log` without rotation.
pub(super) fn node_files(
    dir: &Path,
    name: &str,
    logs: &LogsConfig,
) -> Result<(NonBlocking, WorkerGuard), LoggingError> {
    std::fs::create_dir_all(dir)
        .map_err(|source| LoggingError::CreateDir { dir: dir.to_path_buf(), source })?;
    let rotation = match logs.rotation {
        LogRotation::Daily => Rotation::DAILY,
        LogRotation::Hourly => Rotation::HOURLY,
        LogRotation::Never => Rotation::NEVER,
    };
    let mut builder =
        RollingFileAppender::builder().rotation(rotation).filename_prefix(name).filename_suffix("log");
    if logs.rotation != LogRotation::Never {
        builder = builder.max_log_files(logs.max_files);
    }
    let appender = builder.build(dir).map_err(|err| LoggingError::Open {
        file: dir.join(format!("{name}.log")),
        source: std::io::Error::other(err),
    })?;
    Ok(non_blocking(appender, "espoir-log-file"))
}
