//! `websocket.allowed_origins`: which web pages may open client
//! connections.
//!
//! A browser sends the page's origin (`Origin: https://game.example.com`)
//! with every websocket handshake, and lets any page connect anywhere: a
//! proxy that accepts every origin lets a hostile page drive a player's
//! browser against it. With a list, a handshake naming another origin is
//! refused (HTTP 403). A handshake without `Origin` comes from a native
//! client (mobile apps, servers), which could claim any origin anyway, so
//! it is not refused. An empty list (the default, as in obespoir), or
//! `"*"`, accepts every origin.

use serde::Deserialize;

/// The origins allowed to connect, compared case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct AllowedOrigins(Vec<String>);

impl AllowedOrigins {
    /// Allows exactly `origins` (for configs built in code).
    pub fn new(origins: impl IntoIterator<Item = impl Into<String>>) -> Self {
        AllowedOrigins(origins.into_iter().map(Into::into).collect())
    }

    /// Whether a handshake with this `Origin` header (if any) may proceed.
    pub fn allows(&self, origin: Option<&[u8]>) -> bool {
        match origin {
            _ if self.0.is_empty() || self.0.iter().any(|o| o == "*") => true,
            None => true,
            Some(origin) => self.0.iter().any(|o| o.as_bytes().eq_ignore_ascii_case(origin)),
        }
    }

    /// Each entry that could never match a browser's `Origin` (see
    /// [`check_origin`]; browsers send no path and no trailing slash).
    pub(crate) fn problems(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .enumerate()
            .filter_map(|(i, o)| {
                check_origin(o).err().map(|why| (format!("allowed_origins[{i}]"), why.to_owned()))
            })
            .collect()
    }
}

/// Checks one origin entry (`http.cors_origins`, `websocket.allowed_origins`):
/// `*`, or a serialised origin (`scheme://host[:port]`, no path), as
/// browsers send in `Origin`.
pub(crate) fn check_origin(origin: &str) -> Result<(), &'static str> {
    if origin == "*" {
        return Ok(());
    }
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .ok_or("an origin starts with http:// or https:// (or is \"*\")")?;
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
    if rest.is_empty() || rest.starts_with(':') || !rest.chars().all(valid) {
        return Err("an origin is scheme://host[:port], without a path or spaces");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_list_allows_all_and_a_list_allows_its_origins_and_native_clients() {
        assert!(AllowedOrigins::default().allows(Some(b"https://evil.example")));
        assert!(AllowedOrigins::new(["*"]).allows(Some(b"https://evil.example")), "\"*\" as for CORS");
        let list = AllowedOrigins::new(["https://game.example.com", "http://localhost:8080"]);
        assert!(list.allows(Some(b"https://game.example.com")));
        assert!(list.allows(Some(b"HTTPS://Game.Example.com")), "origins compare case-insensitively");
        assert!(list.allows(Some(b"http://localhost:8080")));
        assert!(!list.allows(Some(b"https://evil.example")));
        assert!(!list.allows(Some(b"https://game.example.com.evil.example")), "whole origins only");
        assert!(!list.allows(Some(b"http://game.example.com")), "the scheme counts");
        assert!(!list.allows(Some(b"null")), "sandboxed pages and files");
        assert!(list.allows(None), "no Origin: a native client");
    }

    #[test]
    fn entries_must_be_bare_origins() {
        let list = AllowedOrigins::new([
            "https://game.example.com",
            "http://[::1]:8080",
            "game.example.com",
            "https://game.example.com/",
            "https://game.example.com/play",
            "ftp://x",
            "https://",
        ]);
        let bad: Vec<String> = list.problems().into_iter().map(|(field, _)| field).collect();
        assert_eq!(
            bad,
            [
                "allowed_origins[2]",
                "allowed_origins[3]",
                "allowed_origins[4]",
                "allowed_origins[5]",
                "allowed_origins[6]"
            ]
        );
    }
}
