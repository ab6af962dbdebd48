//! Encrypted client websockets (`websocket.encode: 1`) on the proxy: the
//! hello exchange before a session exists, and sealing and opening frames
//! afterwards. The scheme itself is in `secure::client_link`.

use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use super::close::{POLICY_VIOLATION, close_frame};
use crate::codec::{ClientDecoder, ClientFrame};
use crate::secure::{ClientLinkCipher, ClientLinkError, Token, accept_client_hello};
use crate::tls::MaybeTls;

/// The close frame for a client that did not set up the encrypted link
/// (no hello, wrong token).
fn refuse(reason: &str) -> Message {
    close_frame(POLICY_VIOLATION, reason)
}

/// Waits for the client's hello (the first websocket message, within
/// `deadline`), answers it and returns the connection's cipher. On failure
/// the client has been sent a close frame saying why.
pub(crate) async fn accept(
    ws: &mut WebSocketStream<MaybeTls>,
    token: &Token,
    max_frame: usize,
    deadline: Duration,
) -> Option<ClientLinkCipher> {
    let first = match tokio::time::timeout(deadline, ws.next()).await {
        Ok(Some(Ok(Message::Binary(data)))) => data,
        Ok(Some(Ok(_))) => {
            let _ = ws.send(refuse("this proxy encrypts client links: send the hello frame first")).await;
            return None;
        }
        Ok(_) => return None,
        Err(_) => {
            let _ = ws.send(refuse("no encryption hello in time")).await;
            return None;
        }
    };
    let mut frames = Vec::new();
    let decoded = ClientDecoder::new(max_frame).feed(first, &mut frames);
    let hello = match (decoded, frames.len()) {
        (Ok(()), 1) => frames.remove(0),
        _ => {
            let _ = ws.send(refuse("the first message must be exactly one hello frame")).await;
            return None;
        }
    };
    match accept_client_hello(token, &hello, rand::random()) {
        Ok((cipher, reply)) => {
            // The reply is a small JSON object, far below any max_frame.
            let encoded = reply.encode(usize::MAX).ok()?;
            ws.send(Message::Binary(encoded)).await.ok()?;
            Some(cipher)
        }
        Err(err) => {
            tracing::debug!(error = %err, "client encryption hello refused");
            let _ = ws.send(refuse(&err.to_string())).await;
            None
        }
    }
}

/// Seals an encoded frame for the client when the link is encrypted.
pub(crate) fn outgoing(
    cipher: &mut Option<Box<ClientLinkCipher>>,
    frame: Bytes,
) -> Result<Bytes, ClientLinkError> {
    match cipher {
        Some(cipher) => cipher.seal_encoded(&frame),
        None => Ok(frame),
    }
}

/// Opens the frames of one client message when the link is encrypted.
pub(crate) fn incoming(
    cipher: &mut Option<Box<ClientLinkCipher>>,
    frames: &mut [ClientFrame],
) -> Result<(), ClientLinkError> {
    let Some(cipher) = cipher else { return Ok(()) };
    for frame in frames.iter_mut() {
        let sealed = std::mem::replace(frame, ClientFrame::new(0, Bytes::new()));
        *frame = cipher.open(sealed)?;
    }
    Ok(())
}
