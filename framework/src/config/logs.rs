//! The `logs` section (*Espoir extension*): how a node's log lines are
//! written. obespoir's own keys, `log_level` and `log_dir`, stay at the top
//! level of the file; this section adds the format and the rotation of the
//! files under `log_dir`.

use serde::Deserialize;

/// Most rotated files a node may keep: a bound, so a typo cannot fill a
/// disk with years of hourly files.
pub(crate) const MAX_LOG_FILES: usize = 10_000;

/// How a node's log lines are written (`logs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogsConfig {
    /// `"text"` (the default): one human-readable line per event, or
    /// `"json"`: one JSON object per line, for log shippers.
    #[serde(default)]
    pub format: LogFormat,
    /// When the file under `log_dir` starts anew: `"daily"` (the default),
    /// `"hourly"`, or `"never"` (one file, rotated by an outside tool).
    #[serde(default)]
    pub rotation: LogRotation,
    /// Rotated files kept under `log_dir`; the oldest are deleted past it.
    /// Default 7. Ignored with `rotation: "never"`.
    #[serde(default = "default_max_files")]
    pub max_files: usize,
}

impl Default for LogsConfig {
    fn default() -> Self {
        LogsConfig {
            format: LogFormat::default(),
            rotation: LogRotation::default(),
            max_files: default_max_files(),
        }
    }
}

fn default_max_files() -> usize {
    7
}

impl LogsConfig {
    /// `(field, reason)` for every problem, fields relative to `logs`.
    pub(crate) fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.max_files == 0 || self.max_files > MAX_LOG_FILES {
            out.push(("max_files", format!("must be between 1 and {MAX_LOG_FILES}")));
        }
        out
    }
}

/// The shape of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// `2026-12-04T19:51:14.123Z  INFO node{node=proxy_1}: message key=value`.
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `node`, `target`,
    /// `fields` (with `message`) and `spans`.
    Json,
}

impl LogFormat {
    /// The name used in configs and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(format!("{s:?} is not a log format: use \"text\" or \"json\"")),
        }
    }
}

/// When a log file starts anew. Files are named
/// `{name}.{date}.log` (`{name}.log` with `Never`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogRotation {
    /// A new file every day (UTC): `proxy_1.2026-12-04.log`.
    #[default]
    Daily,
    /// A new file every hour (UTC): `proxy_1.2026-12-04-19.log`.
    Hourly,
    /// One file, `proxy_1.log`, appended to forever; rotate it with an
    /// outside tool that copies and truncates (logrotate's `copytruncate`).
    Never,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_formats_and_bounds() {
        let cfg: LogsConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(cfg, LogsConfig::default());
        assert_eq!((cfg.format, cfg.rotation, cfg.max_files), (LogFormat::Text, LogRotation::Daily, 7));
        let cfg: LogsConfig =
            serde_json::from_str(r#"{"format": "json", "rotation": "hourly", "max_files": 48}"#).unwrap();
        assert_eq!((cfg.format, cfg.rotation, cfg.max_files), (LogFormat::Json, LogRotation::Hourly, 48));
        assert!(serde_json::from_str::<LogsConfig>(r#"{"format": "xml"}"#).is_err());
        assert!(serde_json::from_str::<LogsConfig>(r#"{"rotate": "daily"}"#).is_err(), "unknown keys");
        assert!(LogsConfig { max_files: 0, ..LogsConfig::default() }.problems()[0].0 == "max_files");
        assert!(LogsConfig { max_files: MAX_LOG_FILES + 1, ..LogsConfig::default() }.problems().len() == 1);
        assert!(LogsConfig::default().problems().is_empty());
        assert_eq!("JSON".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert!("yaml".parse::<LogFormat>().unwrap_err().contains("text"));
    }
}
