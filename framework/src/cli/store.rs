//! `config push` and `config pull`: node configs between a folder of
//! files and MongoDB.

use std::process::ExitCode;

use super::args::ConfigAction;
use super::error::CliError;
use crate::mongo::{pull_configs, push_configs};

/// Runs one transfer on a small runtime of its own.
pub(super) fn run(action: ConfigAction) -> Result<ExitCode, CliError> {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(CliError::Runtime)?;
    match action {
        ConfigAction::Push { dir, store } => {
            let target = store.target();
            let names = runtime.block_on(push_configs(&dir, &target))?;
            for name in &names {
                println!("pushed {name}");
            }
            println!("{} node config(s) from {} stored in {target:?}", names.len(), dir.display());
        }
        ConfigAction::Pull { dir, store } => {
            let target = store.target();
            let files = runtime.block_on(pull_configs(&target, &dir))?;
            for file in &files {
                println!("wrote {}", file.display());
            }
            println!("{} node config(s) from {target:?} written to {}", files.len(), dir.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
