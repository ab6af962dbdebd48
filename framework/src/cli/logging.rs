//! The process's log: tracing at a config's level, to stderr or a file.

use std::fs::OpenOptions;
use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

use super::error::LoggingError;
use crate::config::LogLevel;

/// Sets up the process's log, as `node` and `up` do: tracing at `level`
/// (`RUST_LOG` overrides it), to stderr, or with a `log_dir` appended to
/// `{log_dir}/{name}.log`. For a binary with its own `main`, call it with
/// the config's `log_level` and `log_dir`; without it (or another tracing
/// subscriber) those keys do nothing and the node logs nowhere.
///
/// # Errors
/// [`LoggingError`] when the directory or file cannot be made, or the
/// process already has a subscriber.
pub fn init_logging(level: LogLevel, log_dir: Option<&Path>, name: &str) -> Result<(), LoggingError> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level.as_str()));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    let installed = match log_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|source| LoggingError::CreateDir { dir: dir.to_path_buf(), source })?;
            let file = dir.join(format!("{name}.log"));
            let writer = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&file)
                .map_err(|source| LoggingError::Open { file: file.clone(), source })?;
            builder.with_ansi(false).with_writer(Mutex::new(writer)).try_init()
        }
        None => {
            use std::io::IsTerminal;
            let ansi = std::io::stderr().is_terminal();
            builder.with_ansi(ansi).with_writer(std::io::stderr).try_init()
        }
    };
    installed.map_err(|_| LoggingError::AlreadySet)
}
