//! `check`: validate config files and folders.
//!
//! A folder is checked as one cluster (ports, names and ids must not clash
//! across its files); its subfolders are checked too, each as its own
//! cluster, so `check configs/` validates every ready cluster.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::error::CliError;
use crate::config::{ConfigError, NodeConfig};
use crate::node::HandlerGroups;

/// Checks every path; prints one line per file (and per problem).
pub(super) fn run(paths: &[PathBuf], groups: &HandlerGroups) -> Result<ExitCode, CliError> {
    let mut failed = false;
    for path in paths {
        if path.is_dir() {
            failed |= !check_dir(path, groups);
        } else {
            failed |= !report(NodeConfig::load(path).map(|c| vec![(path.clone(), c)]), groups);
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Checks `dir` as a cluster, then each subfolder. True when all is valid.
fn check_dir(dir: &Path, groups: &HandlerGroups) -> bool {
    let mut ok = report(NodeConfig::load_dir(dir), groups);
    let mut subdirs: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect(),
        Err(err) => {
            eprintln!("error {}: {err}", dir.display());
            return false;
        }
    };
    subdirs.sort();
    for sub in subdirs {
        ok &= check_dir(&sub, groups);
    }
    ok
}

fn report(loaded: Result<Vec<(PathBuf, NodeConfig)>, ConfigError>, groups: &HandlerGroups) -> bool {
    let configs = match loaded {
        Ok(configs) => configs,
        Err(err) => {
            eprintln!("error {err}");
            return false;
        }
    };
    let mut ok = true;
    let cluster: Vec<NodeConfig> = configs.iter().map(|(_, c)| c.clone()).collect();
    for (file, config) in &configs {
        // The groups' own settings (`app.<group>`) too, not just their names.
        match groups.check(config, &cluster) {
            Ok(()) => {
                println!(
                    "ok    {} ({} {:?}, id {})",
                    file.display(),
                    config.name,
                    config.role,
                    config.node_id()
                );
                for warning in config.warnings() {
                    println!("warn  {}: {warning}", file.display());
                }
            }
            Err(problems) => {
                ok = false;
                for problem in problems {
                    eprintln!("error {}: {problem}", file.display());
                }
            }
        }
    }
    ok
}

/// Every problem `check` would report for the cluster of `configs`, one
/// line each, naming the file: what stops `up` before any node starts.
pub(super) fn problems(configs: &[(PathBuf, NodeConfig)], groups: &HandlerGroups) -> Vec<String> {
    let cluster: Vec<NodeConfig> = configs.iter().map(|(_, c)| c.clone()).collect();
    configs
        .iter()
        .filter_map(|(file, c)| groups.check(c, &cluster).err().map(|p| (file, p)))
        .flat_map(|(file, p)| p.into_iter().map(move |why| format!("{}: {why}", file.display())))
        .collect()
}
