//! The `espoir` command: the library's command line ([`espoir::cli`])
//! serving the built-in apps (`apps.rs`).
//!
//! * `espoir node FILE`: runs one node from its config file.
//! * `espoir up DIR`: runs every config in DIR as one local cluster, in
//!   one process, applying edits of the files by themselves; Ctrl-C (or
//!   SIGTERM) drains and stops it.
//! * `espoir check PATH…`: validates config files and folders.
//! * `espoir config push DIR --mongo URI` / `espoir config pull DIR --mongo
//!   URI`: node configs between a folder and MongoDB.
//!
//! A game's own binary is the same few lines with its own groups (see
//! `docs/first-game.md`).

use std::process::ExitCode;

mod apps;

fn main() -> ExitCode {
    espoir::cli::run(apps::groups())
}
