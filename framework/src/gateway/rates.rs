//! The proxy connection's side of the client limits (`docs/config.md`,
//! "Limits"): bounded writes, the message-rate verdict on each frame, and
//! a bounded goodbye. The rules themselves are pure, in `node/limits.rs`.

use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use super::cipher;
use super::conn::{End, error_frame};
use crate::limits::Admit;
use crate::node::NodeShared;
use crate::secure::ClientLinkCipher;
use crate::status::Status;

pub(crate) type Sink = SplitSink<WebSocketStream<TcpStream>, Message>;
type Source = SplitStream<WebSocketStream<TcpStream>>;

/// Close code of a connection closed for breaking a limit (policy
/// violation).
const CLOSE_POLICY: u16 = 1008;

/// Longest wait for a client's answer to our close frame.
const CLOSE_LINGER: Duration = Duration::from_millis(500);

/// Writes one message within `websocket.limits.write_timeout`: a client
/// that stops reading fills its socket buffer and stalls the write, and
/// is dropped rather than allowed to hold the connection task.
pub(crate) async fn write(
    shared: &NodeShared,
    sink: &mut Sink,
    msg: Message,
    deadline: Duration,
) -> Result<(), End> {
    match tokio::time::timeout(deadline, sink.send(msg)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(End::quiet(true, "connection lost")),
        Err(_) => {
            shared.metrics.limit_hit("write_timeout");
            Err(End::quiet(true, "write timeout: client not reading"))
        }
    }
}

/// Acts on the message-rate verdict for one client frame: `Ok(true)` to handle it,
/// `Ok(false)` when it was refused (answered with a 429 error frame), or
/// how the connection ends (a flood).
pub(crate) async fn admit(
    shared: &NodeShared,
    verdict: Admit,
    cipher: &mut Option<Box<ClientLinkCipher>>,
    sink: &mut Sink,
    command: i32,
    write_timeout: Duration,
) -> Result<bool, End> {
    match verdict {
        Admit::Yes => Ok(true),
        Admit::Refuse => {
            shared.metrics.limit_hit("message_rate");
            let status = Status::overloaded("message rate exceeded (websocket.limits.message_rate)");
            let refusal = error_frame(command, &status).unwrap_or_default();
            let refusal = cipher::outgoing(cipher, refusal).map_err(|err| End {
                goodbye: vec![cipher::broken(&err)],
                lost: false,
                reason: "cipher",
            })?;
            write(shared, sink, Message::Binary(refusal), write_timeout).await?;
            Ok(false)
        }
        Admit::Disconnect => {
            shared.metrics.limit_hit("message_flood");
            Err(End::closing(CLOSE_POLICY, "message rate exceeded: flooding", "flood"))
        }
    }
}

/// Sends the goodbye frames and closes, all within `deadline`: a client
/// that stopped reading must not keep the task (and its session) alive by
/// never taking them. True when a close frame went out.
pub(crate) async fn farewell(sink: &mut Sink, goodbye: Vec<Message>, deadline: Duration) -> bool {
    let closing = !goodbye.is_empty();
    let send = async {
        for msg in goodbye {
            sink.send(msg).await?;
        }
        sink.close().await
    };
    tokio::time::timeout(deadline, send).await.is_ok_and(|sent| sent.is_ok()) && closing
}

/// After our close frame: reads (and discards) until the client answers
/// it. Closing a socket with unread input resets it, and a client still
/// sending (a flood) would lose the close frame and its code. Briefly: a
/// client may read the close and never answer, and a drain waits for this
/// task.
pub(crate) async fn linger(source: &mut Source, deadline: Duration) {
    let until = tokio::time::Instant::now() + CLOSE_LINGER.min(deadline);
    while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(until, source.next()).await {
        if msg.is_close() {
            break;
        }
    }
}
