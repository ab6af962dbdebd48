//! Running `ip` and `nft`, and [`NetError`], what a failed one reports.

use std::io;
use std::process::{Command, Output};

/// Why a bed could not be built or a fault not set.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A command (`ip`, `nft`) failed.
    #[error("`{command}` failed: {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// A command could not run at all (not installed).
    #[error("cannot run `{command}`: {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// The cause.
        source: io::Error,
    },
    /// More hosts than the subnet holds.
    #[error("a bed holds at most {0} hosts")]
    Full(usize),
}

/// Runs `program args`, failing with its stderr.
pub(crate) fn run(program: &str, args: &[&str]) -> Result<Output, NetError> {
    let command = format!("{program} {}", args.join(" "));
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|source| NetError::Spawn { command: command.clone(), source })?;
    if !out.status.success() {
        return Err(NetError::Command { command, stderr: String::from_utf8_lossy(&out.stderr).into() });
    }
    Ok(out)
}
