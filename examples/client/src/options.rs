//! How a client connects and behaves.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use espoir::Token;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::error::ClientError;

/// How a [`Client`](crate::Client) connects and behaves.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The proxy's websocket, `ws://host:port`, or `wss://host:port` when
    /// the proxy serves TLS (`tls` in its config).
    pub url: String,
    /// `websocket.token`, when the proxy encrypts client links (`encode: 1`).
    pub token: Option<Token>,
    /// How long a request waits for its reply. Default 15 s, longer than
    /// the proxy's own call timeout (10 s), which answers with an error.
    pub request_timeout: Duration,
    /// How long opening a connection may take: TCP, TLS, the websocket
    /// upgrade and, for an encrypted link, the hello. Default 5 s. Kept
    /// apart from `request_timeout` so that a proxy whose host went
    /// silent (its packets dropped, nothing refused) costs a reconnecting
    /// client this long, not a whole request timeout, before it tries the
    /// next proxy.
    pub connect_timeout: Duration,
    /// Time between heartbeats; `None` sends none. Default 20 s.
    pub heartbeat: Option<Duration>,
    /// Reconnect delays (jittered, doubling); `None` gives up on the first
    /// loss. Default 0.5 s to 15 s.
    pub reconnect: Option<(Duration, Duration)>,
    /// Largest frame accepted from the proxy. Default 1 MiB.
    pub max_frame: usize,
    /// Other proxies of the cluster to reconnect to when `url` is lost
    /// (tried in turn, after the proxy last connected to). Default none.
    pub fallback_urls: Vec<String>,
    /// Resume the session after a lost connection when the proxy offers it
    /// (docs/sessions.md): same session, login included, and the pushes
    /// missed meanwhile, each once and in order. Default on.
    pub resume: bool,
    /// TLS settings for `wss://` urls; `None` (the default) trusts the
    /// Mozilla root store (webpki-roots). See
    /// [`ClientOptions::with_ca_file`] for a private CA.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl ClientOptions {
    /// Defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        ClientOptions {
            url: url.into(),
            token: None,
            request_timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(5),
            heartbeat: Some(Duration::from_secs(20)),
            reconnect: Some((Duration::from_millis(500), Duration::from_secs(15))),
            max_frame: espoir::DEFAULT_MAX_CLIENT_FRAME,
            fallback_urls: Vec::new(),
            resume: true,
            tls: None,
        }
    }

    /// Reconnects to these proxies too, in turn, when the current one is
    /// lost: a killed proxy's clients move to a live one.
    pub fn with_fallbacks<I, S>(mut self, urls: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.fallback_urls = urls.into_iter().map(Into::into).collect();
        self
    }

    /// `url`, then the fallbacks.
    pub(crate) fn urls(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.url.as_str()).chain(self.fallback_urls.iter().map(String::as_str))
    }

    /// Dials `wss://` urls with this TLS config (its root store decides
    /// which certificates are trusted).
    pub fn with_tls(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Trusts the certificate authorities in the PEM file at `path`, and
    /// those alone, for `wss://` urls: a private CA, or a test one.
    ///
    /// # Errors
    /// [`ClientError::CaFile`] when the file cannot be read or holds no
    /// usable certificate.
    pub fn with_ca_file(self, path: impl AsRef<Path>) -> Result<Self, ClientError> {
        let path = path.as_ref();
        let fail = |reason: String| ClientError::CaFile { path: path.to_path_buf(), reason };
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| fail(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| fail(e.to_string()))?;
        let mut roots = rustls::RootCertStore::empty();
        let (added, _ignored) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(fail("holds no usable CERTIFICATE block".to_owned()));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| fail(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(self.with_tls(Arc::new(config)))
    }

    /// Encrypts the link with `token` (the proxy's `websocket.token`).
    pub fn encrypted(mut self, token: impl Into<Token>) -> Self {
        self.token = Some(token.into());
        self
    }
}
