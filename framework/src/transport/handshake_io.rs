//! Drives the sans-IO handshake of [`crate::secure`] over a TCP stream.

use bytes::BytesMut;
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::Decoder;

use super::error::LinkError;
use crate::codec::{RpcDecoder, RpcEncoder, RpcFrameError};
use crate::proto::Handshake;
use crate::secure::{Dialer, Established, HandshakeError, HandshakeParams, Listener, NONCE_LEN};

/// Handshake messages are a few hundred bytes; anything larger is hostile.
const MAX_HANDSHAKE_FRAME: usize = 1024;

/// A stream during its handshake. Bytes read past the last handshake
/// message (the peer may send frames right after its verdict) are kept for
/// the link's reader.
struct HandshakeIo<'a> {
    stream: &'a mut TcpStream,
    buf: BytesMut,
    decoder: RpcDecoder,
}

impl<'a> HandshakeIo<'a> {
    fn new(stream: &'a mut TcpStream) -> Self {
        HandshakeIo {
            stream,
            buf: BytesMut::with_capacity(512),
            decoder: RpcDecoder::new(MAX_HANDSHAKE_FRAME),
        }
    }

    async fn read(&mut self) -> Result<Handshake, LinkError> {
        loop {
            if let Some(frame) = self.decoder.decode(&mut self.buf)? {
                return Handshake::decode(frame.freeze()).map_err(|_| {
                    LinkError::Handshake(HandshakeError::Malformed("undecodable handshake message"))
                });
            }
            if self.stream.read_buf(&mut self.buf).await? == 0 {
                return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
            }
        }
    }

    async fn write(&mut self, msg: &Handshake) -> Result<(), LinkError> {
        let mut out = BytesMut::with_capacity(msg.encoded_len() + 4);
        RpcEncoder::new(MAX_HANDSHAKE_FRAME).encode_with(&mut out, |b| {
            msg.encode(b).map_err(|_| RpcFrameError::TooLarge { max: MAX_HANDSHAKE_FRAME })
        })?;
        self.stream.write_all(&out).await?;
        Ok(())
    }
}

fn fresh_nonce() -> [u8; NONCE_LEN] {
    use rand::RngCore;
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    nonce
}

/// Authenticates an outbound connection. Returns the result and the bytes
/// already read past the handshake.
pub(crate) async fn dial(
    stream: &mut TcpStream,
    params: HandshakeParams,
) -> Result<(Established, BytesMut), LinkError> {
    let mut io = HandshakeIo::new(stream);
    let (dialer, hello) = Dialer::start(params, fresh_nonce());
    io.write(&hello).await?;
    let (awaiting, proof) = dialer.on_hello(io.read().await?)?;
    io.write(&proof).await?;
    let established = awaiting.on_verdict(io.read().await?)?;
    Ok((established, io.buf))
}

/// Authenticates an inbound connection. On failure the peer is told why
/// (without secrets) before the caller closes the socket.
pub(crate) async fn accept(
    stream: &mut TcpStream,
    params: HandshakeParams,
) -> Result<(Established, BytesMut), LinkError> {
    let mut io = HandshakeIo::new(stream);
    let hello = io.read().await?;
    let (awaiting, our_hello) = match Listener::on_hello(params, hello, fresh_nonce()) {
        Ok(ok) => ok,
        Err(err) => return Err(refuse(&mut io, err).await),
    };
    io.write(&our_hello).await?;
    let proof = io.read().await?;
    match awaiting.on_proof(proof) {
        Ok((established, verdict)) => {
            io.write(&verdict).await?;
            Ok((established, io.buf))
        }
        Err(err) => Err(refuse(&mut io, err).await),
    }
}

async fn refuse(io: &mut HandshakeIo<'_>, err: HandshakeError) -> LinkError {
    // Best effort: the peer may already be gone, and we close either way.
    let _ = io.write(&err.refusal()).await;
    LinkError::Handshake(err)
}
