//! What can go wrong loading configuration.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// One problem in one config file: which file, which field, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file (or the `origin` given to [`NodeConfig::from_json5_str`]).
    ///
    /// [`NodeConfig::from_json5_str`]: super::NodeConfig::from_json5_str
    pub file: PathBuf,
    /// The field, as a path such as `rpc.route.range.service[1]`; empty for
    /// the document as a whole.
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Problem {
    pub(crate) fn new(file: &Path, field: impl Into<String>, reason: impl Into<String>) -> Self {
        Problem { file: file.to_path_buf(), field: field.into(), reason: reason.into() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = if self.field.is_empty() { "(top level)" } else { &self.field };
        write!(f, "{}: {field}: {}", self.file.display(), self.reason)
    }
}

/// Why configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A directory could not be listed.
    #[error("cannot list {}: {source}", dir.display())]
    ReadDir {
        /// The directory.
        dir: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The text is not JSON5.
    #[error("{}{}: not valid JSON5: {reason}", file.display(), Position(*position))]
    Syntax {
        /// The file.
        file: PathBuf,
        /// 1-based `(line, column)` of the error, when known.
        position: Option<(usize, usize)>,
        /// What the parser expected.
        reason: String,
    },
    /// The text is JSON5 but not a valid config. Lists every problem found:
    /// all validation problems of every file, or the first structural one
    /// (wrong type, unknown or missing key) of a file, since the rest of
    /// such a file cannot be read reliably.
    #[error("{}", ProblemList(problems))]
    Invalid {
        /// At least one problem.
        problems: Vec<Problem>,
    },
    /// A config store (MongoDB) could not be reached or read. Not the
    /// config's fault: the running config stays, and the read is retried.
    #[error("cannot read the config of {node} from {store}: {reason}")]
    Unavailable {
        /// The store, without credentials.
        store: String,
        /// The node whose config was asked for.
        node: String,
        /// What failed.
        reason: String,
    },
    /// Several files of a directory failed ([`NodeConfig::load_dir`]).
    ///
    /// [`NodeConfig::load_dir`]: super::NodeConfig::load_dir
    #[error("{}", ErrorList(errors))]
    Several {
        /// One error per failing file, plus one for cluster-wide problems.
        errors: Vec<ConfigError>,
    },
}

impl ConfigError {
    /// Every [`Problem`] this error lists, including those inside
    /// [`ConfigError::Several`]. Empty for I/O and syntax errors.
    pub fn problems(&self) -> Vec<&Problem> {
        match self {
            ConfigError::Invalid { problems } => problems.iter().collect(),
            ConfigError::Several { errors } => errors.iter().flat_map(ConfigError::problems).collect(),
            ConfigError::Read { .. }
            | ConfigError::ReadDir { .. }
            | ConfigError::Syntax { .. }
            | ConfigError::Unavailable { .. } => Vec::new(),
        }
    }

    /// One error from several, or `None` for none.
    pub(crate) fn combine(mut errors: Vec<ConfigError>) -> Option<ConfigError> {
        match errors.len() {
            0 => None,
            1 => errors.pop(),
            _ => Some(ConfigError::Several { errors }),
        }
    }
}

struct Position(Option<(usize, usize)>);

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some((line, column)) => write!(f, ":{line}:{column}"),
            None => Ok(()),
        }
    }
}

struct ProblemList<'a>(&'a [Problem]);

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            [one] => write!(f, "{one}"),
            many => {
                write!(f, "{} configuration problems:", many.len())?;
                many.iter().try_for_each(|p| write!(f, "\n  {p}"))
            }
        }
    }
}

struct ErrorList<'a>(&'a [ConfigError]);

impl fmt::Display for ErrorList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for err in self.0 {
            if !first {
                f.write_str("\n")?;
            }
            first = false;
            write!(f, "{err}")?;
        }
        Ok(())
    }
}
