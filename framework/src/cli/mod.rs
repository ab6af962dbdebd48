//! The command line of a game-server binary (feature `cli`, on by default).
//!
//! A game's whole `main` is its handler groups handed to [`run`]:
//!
//! ```no_run
//! use std::process::ExitCode;
//!
//! use espoir::{HandlerGroups, NodeBuilder};
//!
//! fn chat_service(node: NodeBuilder) -> NodeBuilder {
//!     node // .events(chat::events()).state(...)
//! }
//!
//! fn main() -> ExitCode {
//!     espoir::cli::run(HandlerGroups::new().add("chat.service", chat_service))
//! }
//! ```
//!
//! The binary then has every subcommand of the `espoir` binary, serving
//! the game's groups (configs name them in `api_path`):
//!
//! * `node FILE`: runs one node from its config file (or a MongoDB
//!   bootstrap file), logging at its `log_level`, to `log_dir` if set.
//! * `up DIR`: runs every config in DIR as one local cluster in one
//!   process, applying edits of the files by themselves; each node logs at
//!   its own level, to its own `log_dir`, every line naming it.
//! * `check PATH…`: validates config files and folders (a folder is one
//!   cluster), the groups' own settings included, without starting
//!   anything.
//! * `config push DIR` / `config pull DIR` (feature `mongodb`): node
//!   configs between a folder and MongoDB.
//!
//! SIGINT (Ctrl-C) and SIGTERM drain the nodes (proxies first, then
//! services, then routes) and stop them; an error is one line on stderr,
//! prefixed with the program's name, and a non-zero exit status.
//!
//! A binary that wants its own `main` can still use the pieces:
//! [`init_logging`] (or [`LogSetup`] for several nodes, or to add layers
//! of its own) for the log keys, and [`shutdown_signal`].
//!
//! * `args`: the subcommands and their flags (clap).
//! * `check`: `check`.
//! * `serve`: `node` and `up`: starting nodes, waiting for a signal,
//!   draining.
//! * `store`: `config push` and `config pull`.
//! * `logs`: the process's log, per node (level, files, format,
//!   rotation), non-blocking.
//! * `signal`: the process's stop signals.
//! * `error`: [`CliError`], what can stop a command.

mod args;
mod check;
mod error;
mod logs;
mod serve;
mod signal;
#[cfg(feature = "mongodb")]
mod store;

use std::ffi::OsString;
use std::process::ExitCode;

pub use error::{CliError, LoggingError};
pub use logs::{BoxedLayer, LogGuard, LogSetup, init_logging};
pub use signal::shutdown_signal;

use crate::node::HandlerGroups;

/// Runs the command line with the process's arguments, serving `groups`.
/// Returns the exit status for `main` to return: success, 1 for an error
/// (printed on stderr), 2 when a drain did not finish within its grace
/// period.
pub fn run(groups: HandlerGroups) -> ExitCode {
    run_from(groups, std::env::args_os())
}

/// As [`run`], with the arguments given; the first is the program's name.
pub fn run_from<I, T>(groups: HandlerGroups, args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let (program, command) = args::parse(args);
    let outcome = match command {
        args::Command::Check { paths } => check::run(&paths, &groups),
        #[cfg(feature = "mongodb")]
        args::Command::Config { action } => store::run(action),
        args::Command::Node { file, grace, log_format } => {
            serve::node(&file, &groups, std::time::Duration::from_secs(grace), log_format)
        }
        args::Command::Up { dir, grace, no_watch, log_format } => {
            serve::up(&dir, &groups, std::time::Duration::from_secs(grace), !no_watch, log_format)
        }
    };
    match outcome {
        Ok(code) => code,
        Err(err) => {
            eprintln!("{program}: {err}");
            ExitCode::FAILURE
        }
    }
}
