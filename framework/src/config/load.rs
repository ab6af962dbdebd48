//! Reading config files: one file, or every file of a cluster's directory.

use std::fs;
use std::path::{Path, PathBuf};

use super::de::{self, Tree};
use super::error::{ConfigError, Problem};
use super::node::NodeConfig;
use super::{cluster, validate};

impl NodeConfig {
    /// Parses and validates one node's config from JSON5 text (so `//`
    /// comments and trailing commas are fine, and plain JSON is too).
    /// `origin` names the text in errors, usually its file's path.
    ///
    /// # Errors
    /// [`ConfigError::Syntax`] for text that is not JSON5, and
    /// [`ConfigError::Invalid`] naming the field and the reason otherwise:
    /// every validation problem at once, or the first structural one (an
    /// unknown key, a missing key, a value of the wrong type or range).
    pub fn from_json5_str(text: &str, origin: &Path) -> Result<Self, ConfigError> {
        // Editors on Windows like to start files with a byte-order mark.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let tree: Tree = serde_json5::from_str(text).map_err(|err| syntax_error(origin, err))?;
        let config: NodeConfig = de::from_tree(&tree).map_err(|err| ConfigError::Invalid {
            problems: vec![Problem::new(origin, err.path.unwrap_or_default(), err.reason)],
        })?;
        let problems = validate::node(&config, origin);
        if problems.is_empty() { Ok(config) } else { Err(ConfigError::Invalid { problems }) }
    }

    /// Reads, parses and validates the config file at `path`.
    ///
    /// # Errors
    /// [`ConfigError::Read`] when the file cannot be read (or is not
    /// UTF-8), otherwise as [`NodeConfig::from_json5_str`].
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { file: path.to_path_buf(), source })?;
        NodeConfig::from_file_text(&text, path)
    }

    /// As [`NodeConfig::load`], from the text already read from `path`.
    pub(crate) fn from_file_text(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let mut config = NodeConfig::from_json5_str(text, path)?;
        // A relative `http.static_dir` names a folder beside the file, so a
        // cluster folder works from any working directory.
        if let (Some(http), Some(folder)) = (config.http.as_mut(), path.parent())
            && let Some(dir) = http.static_dir.as_mut().filter(|d| d.is_relative())
        {
            *dir = folder.join(&*dir);
        }
        // The same for the certificate files.
        if let (Some(tls), Some(folder)) = (config.tls.as_mut(), path.parent()) {
            tls.resolve_in(folder);
        }
        Ok(config)
    }

    /// Loads every `*.json5` and `*.json` file in `dir` (not its
    /// subdirectories), sorted by file name, and checks them as one
    /// cluster: no two nodes may share a name, a node id, or a
    /// `host:port` (websocket, http or rpc); and a `remote_ports` entry
    /// naming one of these nodes must agree with its type and token.
    ///
    /// A directory without config files gives an empty list.
    ///
    /// # Errors
    /// Every failing file's error and all cluster-wide problems, combined
    /// into [`ConfigError::Several`] when there is more than one;
    /// [`ConfigError::ReadDir`] when `dir` cannot be listed.
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<Vec<(PathBuf, NodeConfig)>, ConfigError> {
        let dir = dir.as_ref();
        let read_dir_error = |source| ConfigError::ReadDir { dir: dir.to_path_buf(), source };
        let mut files = Vec::new();
        for entry in fs::read_dir(dir).map_err(read_dir_error)? {
            let path = entry.map_err(read_dir_error)?.path();
            if is_config_file(&path) {
                files.push(path);
            }
        }
        files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));

        let mut nodes = Vec::with_capacity(files.len());
        let mut errors = Vec::new();
        for file in files {
            match NodeConfig::load(&file) {
                Ok(config) => nodes.push((file, config)),
                Err(err) => errors.push(err),
            }
        }
        let problems = cluster::check(&nodes);
        if !problems.is_empty() {
            errors.push(ConfigError::Invalid { problems });
        }
        match ConfigError::combine(errors) {
            None => Ok(nodes),
            Some(err) => Err(err),
        }
    }
}

/// A regular file (or a link to one) named `*.json5` or `*.json`.
fn is_config_file(path: &Path) -> bool {
    let named_like_config = path
        .extension()
        .and_then(|ext| ext.to_str())
        .is_some_and(|ext| ext.eq_ignore_ascii_case("json5") || ext.eq_ignore_ascii_case("json"));
    named_like_config && fs::metadata(path).is_ok_and(|meta| meta.is_file())
}

/// Turns the parser's error into [`ConfigError::Syntax`]. The parser's
/// message repeats the offending line with a caret under it; only its
/// `= expected …` part is kept, since the position is reported separately.
fn syntax_error(origin: &Path, err: serde_json5::Error) -> ConfigError {
    let serde_json5::Error::Message { msg, location } = err;
    let expected: Vec<&str> =
        msg.lines().filter_map(|line| line.trim_start().strip_prefix("= ")).map(str::trim).collect();
    let reason = if expected.is_empty() { msg.trim().to_owned() } else { expected.join("; ") };
    ConfigError::Syntax { file: origin.to_path_buf(), position: location.map(|l| (l.line, l.column)), reason }
}

#[cfg(test)]
#[path = "tests/load.rs"]
mod tests;
