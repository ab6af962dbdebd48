//! The subcommands and their flags.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::LogFormat;

#[derive(Debug, Parser)]
#[command(
    name = "espoir",
    version = concat!("(espoir ", env!("CARGO_PKG_VERSION"), ")"),
    about = "Run game-server nodes built on espoir"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
pub(super) enum Command {
    /// Run one node from its config file.
    Node {
        /// The node's JSON5 config file.
        file: PathBuf,
        /// Seconds in-flight work may take to finish on shutdown.
        #[arg(long, default_value_t = 10)]
        grace: u64,
        /// Log lines as `text` or `json`, overriding the config's
        /// `logs.format`.
        #[arg(long, value_name = "FORMAT")]
        log_format: Option<LogFormat>,
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
        /// Log lines as `text` or `json`, overriding every config's
        /// `logs.format`.
        #[arg(long, value_name = "FORMAT")]
        log_format: Option<LogFormat>,
    },
    /// Move node configs between a folder and MongoDB.
    #[cfg(feature = "mongodb")]
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

#[cfg(feature = "mongodb")]
#[derive(Debug, Subcommand)]
pub(super) enum ConfigAction {
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

#[cfg(feature = "mongodb")]
#[derive(Debug, clap::Args)]
pub(super) struct Store {
    /// MongoDB connection string (a replica set: pushes are transactions).
    #[arg(long, env = "ESPOIR_MONGO_URI")]
    mongo: String,
    /// Database.
    #[arg(long, default_value = crate::mongo::DEFAULT_DATABASE)]
    database: String,
    /// Collection.
    #[arg(long, default_value = crate::mongo::DEFAULT_COLLECTION)]
    collection: String,
}

#[cfg(feature = "mongodb")]
impl Store {
    pub(super) fn target(self) -> crate::mongo::MongoTarget {
        crate::mongo::MongoTarget { uri: self.mongo, database: self.database, collection: self.collection }
    }
}

/// The program's name (from the first argument: a game's binary is named
/// after the game) and its command. Exits, as clap does, on `--help`,
/// `--version` and usage errors.
pub(super) fn parse<I, T>(args: I) -> (String, Command)
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let program = args
        .first()
        .and_then(|first| Path::new(first).file_stem())
        .map_or_else(|| "espoir".to_owned(), |stem| stem.to_string_lossy().into_owned());
    let matches = Cli::command().name(program.clone()).bin_name(program.clone()).get_matches_from(args);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit());
    (program, cli.command)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_is_named_after_the_binary() {
        let (program, command) = parse(["/opt/games/chat", "check", "configs"]);
        assert_eq!(program, "chat");
        assert!(matches!(command, Command::Check { paths } if paths == [PathBuf::from("configs")]));
        let (_, command) = parse(["chat", "up", "dir", "--grace", "3", "--no-watch"]);
        assert!(matches!(command, Command::Up { grace: 3, no_watch: true, .. }));
        let (_, command) = parse(["chat", "node", "proxy.json5", "--grace", "30"]);
        assert!(matches!(command, Command::Node { grace: 30, .. }));
        let (_, command) = parse(["chat", "node", "proxy.json5"]);
        assert!(matches!(command, Command::Node { grace: 10, log_format: None, .. }), "up's default");
        let (_, command) = parse(["chat", "up", "dir", "--log-format", "json"]);
        assert!(matches!(command, Command::Up { log_format: Some(LogFormat::Json), .. }));
    }

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
