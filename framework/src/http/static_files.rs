//! Static files on the HTTP port (`http.static_dir`): web pages and the
//! browser client, served where no endpoint claims the path.
//!
//! * Only `GET` and `HEAD`. A path is percent-decoded, then taken apart by
//!   `/`; segments that are empty, `.`, `..`, start with a dot (`.git`,
//!   `.env`) or hold `\` or NUL are refused before the disk is touched.
//! * The resolved file is canonicalised and must still be under the
//!   (canonical) root, so a symlink cannot lead out of it either.
//! * A directory serves its `index.html`. Files over [`MAX_STATIC_FILE`]
//!   are not served: the HTTP port is for pages, not downloads.
//! * Responses carry a content type by extension, `nosniff`, an `ETag`
//!   (size and modification time) and `Cache-Control: no-cache`, so
//!   browsers revalidate and get a `304` while the file is unchanged.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use bytes::Bytes;
use percent_encoding::percent_decode_str;

/// Largest file served: pages, scripts and images, not downloads.
pub(crate) const MAX_STATIC_FILE: u64 = 8 * 1024 * 1024;

/// A static file response, before it becomes an HTTP response.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct StaticReply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Bytes,
}

impl StaticReply {
    fn error(status: u16, msg: &str) -> StaticReply {
        StaticReply {
            status,
            headers: vec![("content-type", "application/json".into())],
            body: Bytes::from(serde_json::json!({ "code": status, "msg": msg }).to_string()),
        }
    }
}

/// Why a request path was refused before touching the disk.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BadPath {
    /// Not valid percent-encoded UTF-8.
    Encoding,
    /// A segment that could leave the root or name a hidden file.
    Segment,
}

/// The files under one directory.
#[derive(Debug, Clone)]
pub(crate) struct StaticFiles {
    /// Canonical, so resolved files can be checked to stay inside it.
    root: PathBuf,
}

impl StaticFiles {
    /// Serves the files under `dir`, which must be a directory.
    ///
    /// # Errors
    /// When `dir` does not exist or is not a directory.
    pub(crate) fn open(dir: &Path) -> std::io::Result<StaticFiles> {
        let root = std::fs::canonicalize(dir)?;
        if !root.is_dir() {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a directory"));
        }
        Ok(StaticFiles { root })
    }

    /// Answers a `GET` or `HEAD` of `path` (the URL path, still
    /// percent-encoded).
    pub(crate) async fn serve(&self, method: &str, path: &str, if_none_match: Option<&str>) -> StaticReply {
        if method != "GET" && method != "HEAD" {
            let mut reply = StaticReply::error(405, "static files answer GET and HEAD only");
            reply.headers.push(("allow", "GET, HEAD".into()));
            return reply;
        }
        let Ok(relative) = resolve(path) else { return StaticReply::error(404, "not found") };
        let mut file = self.root.join(relative);
        if tokio::fs::metadata(&file).await.is_ok_and(|m| m.is_dir()) {
            file.push("index.html");
        }
        // Canonicalising follows symlinks: the real file must be inside.
        let file = match tokio::fs::canonicalize(&file).await {
            Ok(real) if real.starts_with(&self.root) => real,
            _ => return StaticReply::error(404, "not found"),
        };
        let meta = match tokio::fs::metadata(&file).await {
            Ok(meta) if meta.is_file() => meta,
            _ => return StaticReply::error(404, "not found"),
        };
        if meta.len() > MAX_STATIC_FILE {
            tracing::warn!(file = %file.display(), size = meta.len(), "static file too large to serve");
            return StaticReply::error(500, "file too large to serve");
        }
        let modified =
            meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).unwrap_or_default();
        let etag = format!("W/\"{:x}-{:x}\"", meta.len(), modified.as_nanos());
        let mut headers = vec![
            ("content-type", content_type(&file).to_owned()),
            ("cache-control", "no-cache".to_owned()),
            ("x-content-type-options", "nosniff".to_owned()),
            ("etag", etag.clone()),
        ];
        if if_none_match.is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag || t.trim() == "*")) {
            headers.retain(|(name, _)| *name != "content-type");
            return StaticReply { status: 304, headers, body: Bytes::new() };
        }
        match tokio::fs::read(&file).await {
            Ok(bytes) => StaticReply { status: 200, headers, body: Bytes::from(bytes) },
            Err(err) => {
                tracing::warn!(file = %file.display(), error = %err, "static file unreadable");
                StaticReply::error(500, "file unreadable")
            }
        }
    }
}

/// The relative file path a URL path names, or why it is refused.
pub(crate) fn resolve(path: &str) -> Result<PathBuf, BadPath> {
    let decoded = percent_decode_str(path).decode_utf8().map_err(|_| BadPath::Encoding)?;
    let mut out = PathBuf::new();
    // Leading, trailing and doubled slashes leave empty segments: skipped.
    for segment in decoded.split('/').filter(|s| !s.is_empty()) {
        if segment.starts_with('.') || segment.contains(['\\', '\0']) {
            return Err(BadPath::Segment);
        }
        out.push(segment);
    }
    Ok(out)
}

/// The content type for a file, by extension.
pub(crate) fn content_type(path: &Path) -> &'static str {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        // Module scripts are refused by browsers without a JavaScript type.
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("txt" | "md") => "text/plain; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("ico") => "image/x-icon",
        Some("wasm") => "application/wasm",
        Some("woff2") => "font/woff2",
        Some("woff") => "font/woff",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
#[path = "static_files_tests.rs"]
mod tests;
