//! Reading the feed: a file, or an `http://` URL (GET, HTTP/1.1), bounded
//! in size and time. `https` feeds are refused at start: put a TLS
//! terminating proxy in front, or fetch the feed to a file.

use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::Uri;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

use super::parse::{FeedError, MAX_FEED_BYTES};

/// The whole fetch (connect, request, body) must end within this.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the feed comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    File(std::path::PathBuf),
    Http(Uri),
}

impl Source {
    /// Reads `text`: an `http://` URL, else a file path.
    ///
    /// # Errors
    /// Why the text names no usable source.
    pub(crate) fn parse(text: &str) -> Result<Source, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("must name a file or an http:// URL".into());
        }
        if text.starts_with("https://") {
            return Err("https feeds are not fetched (no TLS client here): use an http:// URL behind a TLS-terminating proxy, or a file".into());
        }
        if text.starts_with("http://") {
            let uri: Uri = text.parse().map_err(|e| format!("{text:?} is not a URL: {e}"))?;
            if uri.host().is_none_or(str::is_empty) {
                return Err(format!("{text:?} has no host"));
            }
            return Ok(Source::Http(uri));
        }
        if text.contains("://") {
            return Err(format!("{text:?}: only http:// URLs and file paths are feeds"));
        }
        Ok(Source::File(text.into()))
    }

    /// The feed's bytes.
    ///
    /// # Errors
    /// [`FeedError::Unreadable`], saying why.
    pub(crate) async fn read(&self) -> Result<Vec<u8>, FeedError> {
        let unreadable = |reason: String| FeedError::Unreadable { source_name: self.to_string(), reason };
        match self {
            Source::File(path) => {
                let meta = tokio::fs::metadata(path).await.map_err(|e| unreadable(e.to_string()))?;
                if meta.len() > MAX_FEED_BYTES as u64 {
                    return Err(unreadable(format!("{} bytes; at most {MAX_FEED_BYTES}", meta.len())));
                }
                tokio::fs::read(path).await.map_err(|e| unreadable(e.to_string()))
            }
            Source::Http(uri) => match tokio::time::timeout(FETCH_TIMEOUT, get(uri)).await {
                Ok(result) => result.map_err(unreadable),
                Err(_) => Err(unreadable(format!("no complete answer within {FETCH_TIMEOUT:?}"))),
            },
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::File(path) => write!(f, "{}", path.display()),
            Source::Http(uri) => write!(f, "{uri}"),
        }
    }
}

async fn get(uri: &Uri) -> Result<Vec<u8>, String> {
    let host = uri.host().unwrap_or_default();
    let port = uri.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host, port)).await.map_err(|e| format!("connect: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("http: {e}"))?;
    // The connection's own task; it ends with the exchange.
    let driver = tokio::spawn(conn);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, uri.authority().map_or(host, |a| a.as_str()))
        .header(hyper::header::ACCEPT, "application/json")
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("request: {e}"))?;
    let response = sender.send_request(request).await.map_err(|e| format!("http: {e}"))?;
    let status = response.status();
    let body = Limited::new(response.into_body(), MAX_FEED_BYTES)
        .collect()
        .await
        .map_err(|e| format!("body: {e} (at most {MAX_FEED_BYTES} bytes)"))?
        .to_bytes();
    driver.abort();
    if !status.is_success() {
        let snippet = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
        return Err(format!("HTTP {status}: {snippet}"));
    }
    Ok(body.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_files_or_http_urls() {
        assert_eq!(Source::parse("feeds/matches.json"), Ok(Source::File("feeds/matches.json".into())));
        assert!(matches!(Source::parse("http://127.0.0.1:8080/feed?x=1"), Ok(Source::Http(_))));
        assert!(Source::parse("https://example.com/feed").unwrap_err().contains("https"));
        assert!(Source::parse("ftp://x/feed").unwrap_err().contains("only http://"));
        assert!(Source::parse(" ").is_err());
    }
}
