//! The `espoir` command.
//!
//! * `espoir node FILE`: runs one node from its config file.
//! * `espoir up DIR`: runs every config in DIR as one local cluster, in
//!   one process, applying edits of the files by themselves; Ctrl-C (or
//!   SIGTERM) drains and stops it.
//! * `espoir check PATH…`: validates config files and folders.
//! * `espoir config push DIR --mongo URI` / `espoir config pull DIR --mongo
//!   URI`: node configs between a folder and MongoDB.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

mod apps;
mod check;
mod config_cmd;
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
    /// Move node configs between a folder and MongoDB.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Validate config files or folders; exits non-zero on any error.
    Check {
        /// Files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigAction {
    /// Validate every file of DIR as one cluster, then store one document
    /// per node (all or nothing); nothing is written if any file is invalid.
    Push {
        /// Folder of JSON5 config files.
        dir: PathBuf,
        #[command(flatten)]
        store: Store,
    },
    /// Write every node document back out as DIR/<name>.json5.
    Pull {
        /// Folder to write (created if missing).
        dir: PathBuf,
        #[command(flatten)]
        store: Store,
    },
}

#[derive(Debug, clap::Args)]
struct Store {
    /// MongoDB connection string (a replica set: pushes are transactions).
    #[arg(long, env = "ESPOIR_MONGO_URI")]
    mongo: String,
    /// Database.
    #[arg(long, default_value = espoir::DEFAULT_DATABASE)]
    database: String,
    /// Collection.
    #[arg(long, default_value = espoir::DEFAULT_COLLECTION)]
    collection: String,
}

impl Store {
    fn target(self) -> espoir::MongoTarget {
        espoir::MongoTarget { uri: self.mongo, database: self.database, collection: self.collection }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { paths } => check::run(&paths),
        Command::Config { action: ConfigAction::Push { dir, store } } => {
            config_cmd::run(config_cmd::Direction::Push, &dir, store.target())
        }
        Command::Config { action: ConfigAction::Pull { dir, store } } => {
            config_cmd::run(config_cmd::Direction::Pull, &dir, store.target())
        }
        Command::Node { file } => run::node(&file, Duration::from_secs(10)),
        Command::Up { dir, grace, no_watch } => run::up(&dir, Duration::from_secs(grace), !no_watch),
    }
}
