//! `tls`: *Espoir extension.* TLS on the client-facing ports: `wss://` on
//! a proxy's websocket port and, unless turned off, HTTPS on the HTTP
//! port. RPC links between nodes are not covered: they keep their own
//! authentication and encryption (`rpc.encode`).
//!
//! ```json5
//! tls: {
//!   cert: "certs/proxy.pem",  // the chain, leaf first
//!   key: "certs/proxy.key",   // PKCS#8, PKCS#1 or SEC1 PEM
//!   http: true,               // HTTPS on http.port too (default)
//!   reload_interval: 10,      // seconds between checks of the two files
//! }
//! ```
//!
//! The files themselves are read when the node starts (a missing,
//! unreadable or mismatched pair stops it, naming the file) and again
//! whenever their content changes; see `docs/security.md`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::fields;

/// Shortest `reload_interval`: the files are read whole at each check.
const MIN_RELOAD_INTERVAL: Duration = Duration::from_secs(1);
/// Longest `reload_interval`: a renewed certificate should be served well
/// before the old one expires.
const MAX_RELOAD_INTERVAL: Duration = Duration::from_secs(24 * 3600);

/// The `tls` section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file with the certificate chain, the server's own certificate
    /// first. [`NodeConfig::load`](crate::NodeConfig::load) makes a
    /// relative path start at the config file's folder.
    pub cert: PathBuf,
    /// PEM file with the certificate's private key. Relative as `cert`.
    pub key: PathBuf,
    /// Serve HTTPS on `http.port` too. Default `true`; `false` keeps the
    /// HTTP port in clear (an admin port reached only from inside) while
    /// clients get `wss://`.
    #[serde(default = "defaults::http")]
    pub http: bool,
    /// Time between checks of the two files for new content, in seconds.
    /// Default 10 s; between 1 s and a day.
    #[serde(default = "defaults::reload_interval", deserialize_with = "fields::seconds")]
    pub reload_interval: Duration,
}

impl TlsConfig {
    /// TLS with the chain in `cert` and its key in `key`, defaults
    /// otherwise (for configs built in code).
    pub fn new(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        TlsConfig {
            cert: cert.into(),
            key: key.into(),
            http: defaults::http(),
            reload_interval: defaults::reload_interval(),
        }
    }

    /// Makes relative paths start at `folder` (the config file's).
    pub(crate) fn resolve_in(&mut self, folder: &Path) {
        for path in [&mut self.cert, &mut self.key] {
            if path.is_relative() {
                *path = folder.join(&*path);
            }
        }
    }

    /// Each field that breaks a rule, with why. The files' content is
    /// checked when the node starts, where they are read.
    pub(crate) fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if self.cert.as_os_str().is_empty() {
            problems.push(("tls.cert", "must name the PEM file of the certificate chain".to_owned()));
        }
        if self.key.as_os_str().is_empty() {
            problems.push(("tls.key", "must name the PEM file of the private key".to_owned()));
        }
        if !(MIN_RELOAD_INTERVAL..=MAX_RELOAD_INTERVAL).contains(&self.reload_interval) {
            problems
                .push(("tls.reload_interval", format!("{:?} is outside 1 s to 24 h", self.reload_interval)));
        }
        problems
    }
}

mod defaults {
    use std::time::Duration;

    pub(super) fn http() -> bool {
        true
    }

    pub(super) fn reload_interval() -> Duration {
        Duration::from_secs(10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_rules() {
        let tls: TlsConfig = serde_json5::from_str(r#"{cert: "a.pem", key: "a.key"}"#).unwrap();
        assert_eq!(tls, TlsConfig::new("a.pem", "a.key"));
        assert!(tls.http);
        assert!(tls.problems().is_empty());
        let bad: TlsConfig = serde_json5::from_str(r#"{cert: "", key: "", reload_interval: 0}"#).unwrap();
        let fields: Vec<_> = bad.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["tls.cert", "tls.key", "tls.reload_interval"]);
        assert!(serde_json5::from_str::<TlsConfig>(r#"{cert: "a", key: "b", certs: "c"}"#).is_err());
    }

    #[test]
    fn relative_paths_start_at_the_folder() {
        let mut tls = TlsConfig::new("certs/a.pem", "/abs/a.key");
        tls.resolve_in(Path::new("/etc/espoir"));
        assert_eq!(tls.cert, Path::new("/etc/espoir/certs/a.pem"));
        assert_eq!(tls.key, Path::new("/abs/a.key"));
    }
}
