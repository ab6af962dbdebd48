//! How a client connection ends: the close codes the proxy sends, the
//! reason each ending gives the close notice, and the bounded goodbye.
//!
//! Every way a connection can end is a constructor of [`ConnEnd`] here, so
//! that the codes and the reasons backends see in the close notice are read
//! in one place.

use std::time::Duration;

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::codec::{ClientFrame, ClientFrameError};
use crate::handler::error_body;
use crate::secure::ClientLinkError;
use crate::sessions::Stop;
use crate::status::{Code, Status};

/// RFC 6455 normal closure: the client was idle too long.
pub(crate) const NORMAL: u16 = 1000;
/// RFC 6455 going away: the proxy drains or shuts down, or the session
/// was closed by the proxy; the client may reconnect.
pub(crate) const GOING_AWAY: u16 = 1001;
/// RFC 6455 unsupported data: a text message, which would corrupt the
/// binary frame header.
pub(crate) const UNSUPPORTED_DATA: u16 = 1003;
/// RFC 6455 policy violation: a broken limit (flood, pushes not read) or
/// an encrypted link that was not set up or no longer opens.
pub(crate) const POLICY_VIOLATION: u16 = 1008;
/// RFC 6455 message too big: a frame over `websocket.max_frame` (the
/// decoder's code; counted as a `max_frame` limit hit).
pub(crate) const MESSAGE_TOO_BIG: u16 = 1009;
/// A kicked session (application range 4000–4999).
pub(crate) const KICKED: u16 = 4001;
/// A session resumed on another connection.
pub(crate) const REPLACED: u16 = 4002;

/// Longest wait for a client's answer to our close frame.
const CLOSE_LINGER: Duration = Duration::from_millis(500);

/// A close frame with `code` and the text the client reads.
pub(crate) fn close_frame(code: u16, text: &str) -> Message {
    Message::Close(Some(CloseFrame { code: CloseCode::from(code), reason: text.into() }))
}

/// How a connection ended, and what to tell the client on the way out.
#[derive(Debug)]
pub(crate) struct ConnEnd {
    /// Frames to send before closing (a kick frame, a close frame); empty
    /// when the client is gone or closed first.
    pub(crate) goodbye: Vec<Message>,
    /// The network failed under the connection: a resumable session is
    /// detached and kept for its grace period instead of closed.
    pub(crate) network_lost: bool,
    /// Why, for the close notice backends receive and for the logs.
    pub(crate) reason: &'static str,
}

impl ConnEnd {
    /// Ends with a close frame carrying `code` and `text`.
    fn closing(code: u16, text: &str, reason: &'static str) -> ConnEnd {
        ConnEnd { goodbye: vec![close_frame(code, text)], network_lost: false, reason }
    }

    /// The client closed the websocket, or the session's queue closed
    /// under it: nothing more to say.
    pub(crate) fn closed() -> ConnEnd {
        ConnEnd { goodbye: Vec::new(), network_lost: false, reason: "closed" }
    }

    /// The socket failed or ended without a close handshake: the client
    /// may come back and resume.
    pub(crate) fn connection_lost() -> ConnEnd {
        ConnEnd { goodbye: Vec::new(), network_lost: true, reason: "connection lost" }
    }

    /// A write did not finish within `websocket.limits.write_timeout`.
    pub(crate) fn not_reading() -> ConnEnd {
        ConnEnd { goodbye: Vec::new(), network_lost: true, reason: "write timeout: client not reading" }
    }

    /// A frame failed to seal or open on an encrypted link.
    pub(crate) fn cipher_broken(err: &ClientLinkError) -> ConnEnd {
        ConnEnd::closing(POLICY_VIOLATION, &err.to_string(), "cipher")
    }

    /// The client broke the obespoir framing (the decoder picks the code).
    pub(crate) fn bad_framing(err: &ClientFrameError) -> ConnEnd {
        ConnEnd::closing(err.close_code(), &err.to_string(), "protocol error")
    }

    /// The client sent a text message.
    pub(crate) fn text_message() -> ConnEnd {
        ConnEnd::closing(
            UNSUPPORTED_DATA,
            "binary messages only: text would corrupt the frame header",
            "protocol error",
        )
    }

    /// The client kept sending past the message rate.
    pub(crate) fn flood() -> ConnEnd {
        ConnEnd::closing(POLICY_VIOLATION, "message rate exceeded: flooding", "flood")
    }

    /// No message within `websocket.timeout`.
    pub(crate) fn idle() -> ConnEnd {
        ConnEnd::closing(NORMAL, "idle timeout", "idle timeout")
    }

    /// The node drained, and every frame the client sent is answered.
    pub(crate) fn draining() -> ConnEnd {
        ConnEnd::closing(GOING_AWAY, "server draining; reconnect", "draining")
    }

    /// The session's kick token fired: `stop` says who stopped it (none
    /// when the session was closed or the node shuts down).
    pub(crate) fn stopped(stop: Option<Stop>, kick_command: i32, shutting_down: bool) -> ConnEnd {
        match stop {
            Some(Stop::Kicked(why)) => {
                // The kick frame first, so that clients that ignore close
                // reasons still learn why.
                let body = error_body(&Status::new(Code(u32::from(KICKED)), why.clone()));
                let mut goodbye: Vec<Message> = ClientFrame::new(kick_command, body)
                    .encode(usize::MAX)
                    .ok()
                    .map(Message::Binary)
                    .into_iter()
                    .collect();
                goodbye.push(close_frame(KICKED, &why));
                ConnEnd { goodbye, network_lost: false, reason: "kicked" }
            }
            Some(Stop::TooSlow) => {
                ConnEnd::closing(POLICY_VIOLATION, "too slow: pushes not read", "too slow")
            }
            Some(Stop::Replaced) => {
                ConnEnd::closing(REPLACED, "session resumed on another connection", "replaced")
            }
            None if shutting_down => ConnEnd::closing(GOING_AWAY, "server shutting down", "shutdown"),
            None => ConnEnd::closing(GOING_AWAY, "session closed", "closed"),
        }
    }
}

/// Sends the goodbye frames and closes, all within `deadline`: a client
/// that stopped reading must not keep the task (and its session) alive by
/// never taking them. True when a close frame went out.
pub(crate) async fn farewell<S>(sink: &mut S, goodbye: Vec<Message>, deadline: Duration) -> bool
where
    S: Sink<Message> + Unpin,
{
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
pub(crate) async fn linger<S, E>(source: &mut S, deadline: Duration)
where
    S: Stream<Item = Result<Message, E>> + Unpin,
{
    let until = tokio::time::Instant::now() + CLOSE_LINGER.min(deadline);
    while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(until, source.next()).await {
        if msg.is_close() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(end: &ConnEnd) -> Option<u16> {
        end.goodbye.iter().find_map(|msg| match msg {
            Message::Close(Some(frame)) => Some(u16::from(frame.code)),
            _ => None,
        })
    }

    #[test]
    fn each_stop_closes_with_its_code_and_reason() {
        let kicked = ConnEnd::stopped(Some(Stop::Kicked("logged in elsewhere".into())), 9, false);
        assert_eq!((code(&kicked), kicked.reason, kicked.goodbye.len()), (Some(KICKED), "kicked", 2));
        assert!(matches!(kicked.goodbye[0], Message::Binary(_)), "the kick frame goes before the close");
        let cases = [
            (Some(Stop::TooSlow), false, POLICY_VIOLATION, "too slow"),
            (Some(Stop::Replaced), false, REPLACED, "replaced"),
            (None, true, GOING_AWAY, "shutdown"),
            (None, false, GOING_AWAY, "closed"),
        ];
        for (stop, shutting_down, want_code, want_reason) in cases {
            let end = ConnEnd::stopped(stop, 9, shutting_down);
            assert_eq!((code(&end), end.reason, end.network_lost), (Some(want_code), want_reason, false));
        }
    }

    #[test]
    fn only_a_failed_network_keeps_the_session_for_a_resume() {
        assert!(ConnEnd::connection_lost().network_lost && ConnEnd::not_reading().network_lost);
        assert!(ConnEnd::connection_lost().goodbye.is_empty());
        for end in [
            ConnEnd::closed(),
            ConnEnd::flood(),
            ConnEnd::idle(),
            ConnEnd::draining(),
            ConnEnd::text_message(),
        ] {
            assert!(!end.network_lost, "{}", end.reason);
        }
        assert_eq!(code(&ConnEnd::idle()), Some(NORMAL));
        assert_eq!(code(&ConnEnd::text_message()), Some(UNSUPPORTED_DATA));
    }
}
