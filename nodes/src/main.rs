//! The `espoir` command.
//!
//! * `espoir node FILE`: runs one node from its config file.
//! * `espoir up DIR`: runs every config in DIR as one local cluster, in
//!   one process, applying edits of the files by themselves; Ctrl-C (or
//!   SIGTERM) drains and stops it.
//! * `espoir check PATH…`: validates config files and folders.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

mod apps;
mod check;
mod logging;
mod run;

#[derive(Debug, Parser)]
#[command(name = "espoir", version, about = "Run espoir game-server nodes")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one node from its config file.
    Node {
        /// The node's JSON5 config file.
        file: PathBuf,
    },
    /// Run every config in a folder as one local cluster.
    Up {
        /// Folder of JSON5 config files.
        dir: PathBuf,
        /// Seconds in-flight work may take to finish on shutdown.
        #[arg(long, default_value_t = 10)]
        grace: u64,
        /// Do not apply config file edits by themselves (they still apply
        /// through POST /update_remote_rpc_config).
        #[arg(long)]
        no_watch: bool,
    },
    /// Validate config files or folders; exits non-zero on any error.
    Check {
        /// Files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { paths } => check::run(&paths),
        Command::Node { file } => run::node(&file, Duration::from_secs(10)),
        Command::Up { dir, grace, no_watch } => run::up(&dir, Duration::from_secs(grace), !no_watch),
    }
}
