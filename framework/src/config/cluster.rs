//! Checks between the nodes of one cluster directory
//! ([`NodeConfig::load_dir`]): names, node ids and listening addresses are
//! unique, and `remote_ports` entries agree with the nodes they name.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::{Path, PathBuf};

use super::error::Problem;
use super::fields::type_name;
use super::node::NodeConfig;

/// Problems between the nodes of one cluster directory. A clash is
/// reported on the later file (in load order) and names the first one; a
/// `remote_ports` disagreement is reported on the file with the entry.
pub(crate) fn check(nodes: &[(PathBuf, NodeConfig)]) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut names: HashMap<&str, &Path> = HashMap::new();
    let mut ids = HashMap::new();
    let mut endpoints: HashMap<(&str, u16), (&Path, &str)> = HashMap::new();
    let mut by_rpc: HashMap<(&str, u16), (&Path, &NodeConfig)> = HashMap::new();

    for (file, cfg) in nodes {
        if let Some(earlier) = first_of(&mut names, &cfg.name, file) {
            problems.push(Problem::new(
                file,
                "name",
                format!("{:?} is also the name of {}", cfg.name, short(earlier)),
            ));
        }
        let id = cfg.node_id();
        if let Some(earlier) = first_of(&mut ids, id.clone(), file) {
            problems.push(Problem::new(
                file,
                "rpc.port",
                format!("node id {id} ({}:{}) is also the id of {}", cfg.host, cfg.rpc.port, short(earlier)),
            ));
        }
        by_rpc.entry((&cfg.host, cfg.rpc.port)).or_insert((file, cfg));
        let listeners = [
            ("rpc.port", Some(cfg.rpc.port)),
            ("websocket.port", cfg.websocket.as_ref().map(|ws| ws.port)),
            ("http.port", cfg.http.as_ref().map(|http| http.port)),
        ];
        for (field, port) in listeners {
            let Some(port) = port.filter(|&p| p != 0) else { continue };
            match endpoints.entry((&cfg.host, port)) {
                // Two rpc listeners on one address are already reported as
                // a duplicate node id.
                Entry::Occupied(other) if field == "rpc.port" && other.get().1 == "rpc.port" => {}
                Entry::Occupied(other) => {
                    let (earlier, other_field) = *other.get();
                    problems.push(Problem::new(
                        file,
                        field,
                        format!("{}:{port} is also {other_field} of {}", cfg.host, short(earlier)),
                    ));
                }
                Entry::Vacant(slot) => {
                    slot.insert((file, field));
                }
            }
        }
    }

    for (file, cfg) in nodes {
        for (i, peer) in cfg.remote_ports.iter().enumerate() {
            let Some(&(peer_file, peer_cfg)) = by_rpc.get(&(peer.host.as_str(), peer.port)) else { continue };
            if peer_cfg.role != peer.node_type {
                problems.push(Problem::new(
                    file,
                    format!("remote_ports[{i}].type"),
                    format!(
                        "is {:?} but {} is a {} node",
                        type_name(peer.node_type),
                        short(peer_file),
                        type_name(peer_cfg.role)
                    ),
                ));
            }
            if peer_cfg.rpc.token != peer.token {
                problems.push(Problem::new(
                    file,
                    format!("remote_ports[{i}].token"),
                    format!(
                        "differs from rpc.token of {}; the link would fail to authenticate",
                        short(peer_file)
                    ),
                ));
            }
        }
    }
    problems
}

/// The file that claimed `key` first, or `None` after claiming it for `file`.
fn first_of<'a, K: Eq + std::hash::Hash>(
    claims: &mut HashMap<K, &'a Path>,
    key: K,
    file: &'a Path,
) -> Option<&'a Path> {
    match claims.entry(key) {
        Entry::Occupied(first) => Some(*first.get()),
        Entry::Vacant(slot) => {
            slot.insert(file);
            None
        }
    }
}

/// A file's name, for naming another file of the same directory.
fn short(file: &Path) -> String {
    file.file_name().map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned())
}

#[cfg(test)]
#[path = "tests/cluster.rs"]
mod tests;
