//! Logging set-up: tracing, at the configured level, to stderr or files.

use std::fs::{File, OpenOptions};
use std::path::Path;
use std::sync::Mutex;

use espoir::LogLevel;
use tracing_subscriber::EnvFilter;

/// Installs the process's subscriber. `RUST_LOG` overrides `level`. With a
/// `log_dir`, logs go to `{log_dir}/{name}.log` (appended) instead of stderr.
pub(crate) fn init(level: LogLevel, log_dir: Option<&Path>, name: &str) -> Result<(), String> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level.as_str()));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    match log_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create log_dir {}: {e}", dir.display()))?;
            let path = dir.join(format!("{name}.log"));
            let file: File = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| format!("cannot open log file {}: {e}", path.display()))?;
            builder.with_ansi(false).with_writer(Mutex::new(file)).init();
        }
        None => {
            use std::io::IsTerminal;
            let ansi = std::io::stderr().is_terminal();
            builder.with_ansi(ansi).with_writer(std::io::stderr).init();
        }
    }
    Ok(())
}
