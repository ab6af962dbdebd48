//! A server connection in clear or in TLS, and the TLS handshake.

use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::either::Either;

/// Plaintext rustls holds for a slow reader, at most, before writes wait:
/// the websocket's own write buffer is bounded above this, so TLS adds
/// little to a connection's worst case (rustls's default is 64 KiB).
const TLS_SEND_BUFFER: usize = 16 * 1024;

/// A client connection: plain TCP, or TLS over it (boxed, so a plain
/// connection does not carry the TLS state's size).
pub(crate) type MaybeTls = Either<TcpStream, Box<TlsStream<TcpStream>>>;

/// Why a connection got no TLS session.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HandshakeError {
    /// The handshake failed: the client refused the certificate, spoke
    /// clear text, or broke off.
    #[error("tls handshake failed: {0}")]
    Failed(#[source] std::io::Error),
    /// The deadline passed first (a peer that sends no ClientHello).
    #[error("tls handshake timed out")]
    TimedOut,
}

/// `stream` as it is without `acceptor`, else after the server side of a
/// TLS handshake that must finish by `until` (the connection's handshake
/// deadline, shared with what follows).
pub(crate) async fn accept_until(
    acceptor: Option<&TlsAcceptor>,
    stream: TcpStream,
    until: Instant,
) -> Result<MaybeTls, HandshakeError> {
    let Some(acceptor) = acceptor else { return Ok(Either::Left(stream)) };
    // Boxed: the handshake's future holds the whole TLS state.
    let handshake = Box::pin(acceptor.accept(stream));
    let mut tls = tokio::time::timeout_at(until, handshake)
        .await
        .map_err(|_| HandshakeError::TimedOut)?
        .map_err(HandshakeError::Failed)?;
    tls.get_mut().1.set_buffer_limit(Some(TLS_SEND_BUFFER));
    Ok(Either::Right(Box::new(tls)))
}
