//! `espoir config push` and `espoir config pull`: node configs between a
//! folder of files and MongoDB.

use std::path::Path;
use std::process::ExitCode;

use espoir::{MongoTarget, pull_configs, push_configs};

/// Which way.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Direction {
    Push,
    Pull,
}

pub(crate) fn run(direction: Direction, dir: &Path, target: MongoTarget) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(err) => return fail(&format!("cannot start the async runtime: {err}")),
    };
    let store = format!("{target:?}");
    match direction {
        Direction::Push => match runtime.block_on(push_configs(dir, &target)) {
            Ok(names) => {
                for name in &names {
                    println!("pushed {name}");
                }
                println!("{} node config(s) from {} stored in {store}", names.len(), dir.display());
                ExitCode::SUCCESS
            }
            Err(err) => fail(&err.to_string()),
        },
        Direction::Pull => match runtime.block_on(pull_configs(&target, dir)) {
            Ok(files) => {
                for file in &files {
                    println!("wrote {}", file.display());
                }
                println!("{} node config(s) from {store} written to {}", files.len(), dir.display());
                ExitCode::SUCCESS
            }
            Err(err) => fail(&err.to_string()),
        },
    }
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("espoir: {msg}");
    ExitCode::FAILURE
}
