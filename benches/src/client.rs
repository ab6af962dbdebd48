//! One websocket client speaking obespoir's client framing: 12-byte
//! little-endian header, JSON body, over `ws://` or `wss://`. Used by every
//! scenario.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use espoir::{ClientDecoder, ClientFrame, ClientFrameError, DEFAULT_MAX_CLIENT_FRAME};
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::http::Uri;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

/// Why a client could not go on.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL is not `ws://host:port[/path]` or `wss://host:port[/path]`.
    #[error("bad websocket url {0:?}: expected ws://host:port[/path] or wss://host:port[/path]")]
    BadUrl(String),
    /// A `wss://` URL without the certificate authority to trust.
    #[error("{0}: wss:// needs the CA that signed the server's certificate (--ca FILE)")]
    NoCa(String),
    /// The TCP connection failed.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// Where to.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The websocket layer failed (handshake, protocol, I/O).
    #[error("websocket: {0}")]
    Ws(#[from] tungstenite::Error),
    /// The server sent bytes that are not obespoir frames.
    #[error("bad frame from the server: {0}")]
    Frame(#[from] ClientFrameError),
    /// The server closed the connection.
    #[error("closed by the server")]
    Closed,
}

/// A connected client.
#[derive(Debug)]
pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    decoder: ClientDecoder,
    frames: VecDeque<ClientFrame>,
    scratch: Vec<ClientFrame>,
}

/// Host and port of a `ws://` or `wss://` URL.
fn socket_addr(url: &str) -> Result<(String, u16), ClientError> {
    let uri: Uri = url.parse().map_err(|_| ClientError::BadUrl(url.to_owned()))?;
    let default_port = match uri.scheme_str() {
        Some("ws") => 80,
        Some("wss") => 443,
        _ => return Err(ClientError::BadUrl(url.to_owned())),
    };
    let host = uri.host().ok_or_else(|| ClientError::BadUrl(url.to_owned()))?;
    // An IPv6 literal comes bracketed (`ws://[::1]:20000`); a lookup wants it bare.
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    Ok((host.to_owned(), uri.port_u16().unwrap_or(default_port)))
}

/// A rustls client config trusting the CA certificates in the PEM file at
/// `path`, and those alone: `wss://` against a private or test CA.
pub fn tls_trusting(path: &std::path::Path) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let fail = |why: String| format!("CA file {}: {why}", path.display());
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| fail(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(e.to_string()))?;
    let mut roots = rustls::RootCertStore::empty();
    if roots.add_parsable_certificates(certs).0 == 0 {
        return Err(fail("holds no usable CERTIFICATE block".into()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| fail(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

impl Client {
    /// Connects to `url`, from `source` when given (several loopback source
    /// addresses get past the ephemeral port range for many connections);
    /// a `wss://` url is dialed with `tls`.
    pub async fn connect(
        url: &str,
        source: Option<IpAddr>,
        tls: Option<&Arc<rustls::ClientConfig>>,
    ) -> Result<Client, ClientError> {
        let (host, port) = socket_addr(url)?;
        let connector = match (url.starts_with("wss:"), tls) {
            (false, _) => Connector::Plain,
            (true, Some(config)) => Connector::Rustls(Arc::clone(config)),
            (true, None) => return Err(ClientError::NoCa(url.to_owned())),
        };
        let connect_err = |source| ClientError::Connect { addr: format!("{host}:{port}"), source };
        let addr: SocketAddr = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(connect_err)?
            .next()
            .ok_or_else(|| connect_err(std::io::Error::other("no address")))?;
        let socket =
            if addr.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() }.map_err(connect_err)?;
        if let Some(ip) = source {
            socket.bind(SocketAddr::new(ip, 0)).map_err(connect_err)?;
        }
        let stream = socket.connect(addr).await.map_err(connect_err)?;
        stream.set_nodelay(true).map_err(connect_err)?;
        // Small buffers: the idle scenario holds ~19,000 of these in one
        // process, and tungstenite's 128 KiB default would need gigabytes.
        let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
        let (ws, _) =
            tokio_tungstenite::client_async_tls_with_config(url, stream, Some(config), Some(connector))
                .await?;
        Ok(Client {
            ws,
            decoder: ClientDecoder::new(DEFAULT_MAX_CLIENT_FRAME),
            frames: VecDeque::new(),
            scratch: Vec::new(),
        })
    }

    /// Sends one already-encoded frame as one binary message.
    pub async fn send(&mut self, frame: Bytes) -> Result<(), ClientError> {
        self.ws.send(Message::Binary(frame)).await?;
        Ok(())
    }

    /// The next frame from the server, whatever its command.
    pub async fn recv(&mut self) -> Result<ClientFrame, ClientError> {
        loop {
            if let Some(frame) = self.frames.pop_front() {
                return Ok(frame);
            }
            match self.ws.next().await {
                Some(Ok(Message::Binary(bytes))) => {
                    self.decoder.feed(bytes, &mut self.scratch)?;
                    self.frames.extend(self.scratch.drain(..));
                }
                Some(Ok(Message::Close(_))) | None => return Err(ClientError::Closed),
                Some(Ok(_)) => {} // ping/pong/text: not frames
                Some(Err(err)) => return Err(err.into()),
            }
        }
    }

    /// Sends `frame` and waits for the next frame carrying `command`;
    /// pushes with other commands in between are skipped.
    pub async fn request(&mut self, frame: Bytes, command: i32) -> Result<ClientFrame, ClientError> {
        self.send(frame).await?;
        loop {
            let reply = self.recv().await?;
            if reply.command == command {
                return Ok(reply);
            }
        }
    }

    /// Closes the websocket politely.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// Whether a reply body reports an error: a JSON object whose `code` is a
/// number other than 200 (obespoir's and espoir's success code).
pub(crate) fn is_error_reply(body: &[u8]) -> bool {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(map)) => {
            map.get("code").and_then(serde_json::Value::as_i64).is_some_and(|code| code != 200)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        assert_eq!(socket_addr("ws://127.0.0.1:20000").unwrap(), ("127.0.0.1".into(), 20000));
        assert_eq!(socket_addr("ws://localhost:9/x").unwrap(), ("localhost".into(), 9));
        assert_eq!(socket_addr("ws://[::1]:20000").unwrap(), ("::1".into(), 20000), "IPv6 literal");
        assert_eq!(socket_addr("wss://localhost:9").unwrap(), ("localhost".into(), 9));
        assert_eq!(socket_addr("wss://localhost").unwrap(), ("localhost".into(), 443));
        assert!(matches!(socket_addr("http://127.0.0.1:1"), Err(ClientError::BadUrl(_))));
        assert!(matches!(socket_addr("nonsense"), Err(ClientError::BadUrl(_))));
    }

    #[test]
    fn error_replies_are_told_apart() {
        assert!(!is_error_reply(br#"{"code":200,"data":{}}"#));
        assert!(is_error_reply(br#"{"code":503,"msg":"no service"}"#));
        assert!(!is_error_reply(br#"{"user_id":10}"#));
        assert!(!is_error_reply(b"not json"));
    }
}
