//! One connection, served until it ends: requests out, replies matched to
//! them, pushes out to subscribers, heartbeats, and the resume protocol
//! (`resume.rs`) at its start and on every numbered push.
//!
//! Replies are matched by command id, first in first out: the proxy answers
//! one session's frames one at a time, in order, so the n-th reply with
//! command C answers the n-th request with command C, and a frame whose
//! command has no request waiting (or that carries a push number) is a
//! push. A request that times out keeps its place, so its late reply is
//! dropped instead of being taken for the next request's.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use bytes::Bytes;
use espoir::{ClientDecoder, ClientFrame, secure::ClientLinkCipher};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::error::ClientError;
use crate::event::{Event, Push};
use crate::options::ClientOptions;
use crate::resume::{ACK_COMMAND, Answer, RESUME_COMMAND, Resume, Verdict};

pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The heartbeat command the proxy answers itself (`websocket.heartbeat_command`).
pub const HEARTBEAT_COMMAND: i32 = 10000;

/// A request's outcome: the reply body, or why there is none.
pub(crate) type Reply = Result<Value, ClientError>;

/// What a [`Client`](crate::Client) asks of its connection task.
pub(crate) enum Command {
    /// Send a frame; `reply` waits for its answer (`None`: none comes).
    Request { frame: ClientFrame, reply: Option<oneshot::Sender<Reply>> },
    /// Close for good; `done` fires once the closing handshake is over.
    Close { done: oneshot::Sender<()> },
}

/// How long a closing client waits for the proxy's answer to its close
/// frame before it drops the socket anyway.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// Pushes wait at most this long for their acknowledgement.
const ACK_AFTER: Duration = Duration::from_secs(1);

/// Who waits for a reply.
enum Slot {
    /// A caller of `Client::request` (gone if it timed out).
    Caller(oneshot::Sender<Reply>),
    /// The heartbeat's own slot.
    Heartbeat,
    /// The resume frame; `presented` when it carried a token.
    Resume { presented: bool },
}

/// What a connection shares with the client for its lifetime.
pub(crate) struct Shared<'a> {
    pub(crate) options: &'a ClientOptions,
    pub(crate) commands: &'a mut mpsc::Receiver<Command>,
    pub(crate) pushes: &'a broadcast::Sender<Push>,
    pub(crate) events: &'a broadcast::Sender<Event>,
    pub(crate) resume: &'a mut Resume,
}

/// The writing half: frames are sealed (on an encrypted link) in the order
/// they are written, as the link's nonces require.
struct Writer {
    sink: SplitSink<Ws, Message>,
    cipher: Option<ClientLinkCipher>,
    max_frame: usize,
}

impl Writer {
    /// Encodes (and seals) a frame. The size is checked before sealing, so
    /// a refused frame never spends a nonce.
    fn encode(&mut self, frame: &ClientFrame) -> Result<Bytes, ClientError> {
        let plain = frame.encode(self.max_frame).map_err(|e| ClientError::Frame(e.to_string()))?;
        match &mut self.cipher {
            Some(cipher) => Ok(cipher.seal_encoded(&plain)?),
            None => Ok(plain),
        }
    }

    /// Writes a frame of the client's own (heartbeat, resume, ack); an
    /// error means the link is unusable.
    async fn write(&mut self, command: i32, body: &Value) -> Result<(), String> {
        let frame = ClientFrame::new(command, body.to_string());
        let bytes = self.encode(&frame).map_err(|e| e.to_string())?;
        self.sink.send(Message::Binary(bytes)).await.map_err(|e| e.to_string())
    }
}

/// One connection's state, beside its reading half.
struct Connection<'a> {
    shared: Shared<'a>,
    writer: Writer,
    waiting: HashMap<i32, VecDeque<Slot>>,
    /// When the pushes received since the last acknowledgement get one.
    ack_at: Option<Instant>,
    /// A heartbeat still unanswered at the next one means a dead link.
    heartbeat_pending: bool,
    /// This follows a lost connection (for [`Event::Connected`]).
    reconnected: bool,
}

/// The closing handshake: the client's close frame, then the proxy's
/// answer (at most [`CLOSE_WAIT`]). Without it a process that exits right
/// after closing drops the socket unannounced, and the proxy holds a
/// resumable session for its resume window as if the network had failed.
async fn goodbye(sink: &mut SplitSink<Ws, Message>, stream: &mut SplitStream<Ws>) {
    if sink.send(Message::Close(None)).await.is_err() {
        return;
    }
    let answered = async {
        while let Some(Ok(msg)) = stream.next().await {
            if msg.is_close() {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(CLOSE_WAIT, answered).await;
}

/// Serves one connection until it ends; returns why, and whether the
/// client was closed on purpose. Announces [`Event::Connected`] once the
/// session is settled (resumed, or new).
pub(crate) async fn serve(
    shared: Shared<'_>,
    ws: Ws,
    cipher: Option<ClientLinkCipher>,
    reconnected: bool,
) -> (String, bool) {
    let (sink, mut stream) = ws.split();
    let options = shared.options;
    let mut conn = Connection {
        writer: Writer { sink, cipher, max_frame: options.max_frame },
        shared,
        waiting: HashMap::new(),
        ack_at: None,
        heartbeat_pending: false,
        reconnected,
    };
    let mut decoder = ClientDecoder::new(options.max_frame);
    let heartbeat_every = options.heartbeat.unwrap_or(Duration::from_secs(3600));
    let mut heartbeat = tokio::time::interval_at(Instant::now() + heartbeat_every, heartbeat_every);

    let started = if options.resume {
        // The first frame: the proxy only takes a session back then.
        conn.send_resume().await
    } else {
        conn.connected(false);
        Ok(())
    };
    let result = match started {
        Err(e) => (e, false),
        Ok(()) => loop {
            let ack_at = conn.ack_at;
            let ack_due = async {
                match ack_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                cmd = conn.shared.commands.recv() => match cmd {
                    Some(Command::Request { frame, reply }) => {
                        if let Err(e) = conn.request(frame, reply).await {
                            break (e, false);
                        }
                    }
                    Some(Command::Close { done }) => {
                        goodbye(&mut conn.writer.sink, &mut stream).await;
                        let _ = done.send(());
                        break ("closed by the client".to_owned(), true);
                    }
                    None => {
                        goodbye(&mut conn.writer.sink, &mut stream).await;
                        break ("closed by the client".to_owned(), true);
                    }
                },
                _ = heartbeat.tick(), if options.heartbeat.is_some() => {
                    if conn.heartbeat_pending {
                        break ("heartbeat unanswered".to_owned(), false);
                    }
                    if let Err(e) = conn.writer.write(HEARTBEAT_COMMAND, &json!({})).await {
                        break (format!("heartbeat could not be sent: {e}"), false);
                    }
                    conn.waiting.entry(HEARTBEAT_COMMAND).or_default().push_back(Slot::Heartbeat);
                    conn.heartbeat_pending = true;
                }
                () = ack_due => {
                    if let Err(e) = conn.ack().await {
                        break (e, false);
                    }
                }
                msg = stream.next() => {
                    let data = match msg {
                        Some(Ok(Message::Binary(data))) => data,
                        Some(Ok(Message::Close(frame))) => {
                            break (frame.map(|f| format!("closed by the proxy: {} {}", f.code, f.reason)).unwrap_or_else(|| "closed by the proxy".into()), false);
                        }
                        Some(Ok(_)) => continue,
                        Some(Err(e)) => break (e.to_string(), false),
                        None => break ("connection lost".to_owned(), false),
                    };
                    let mut frames = Vec::new();
                    if let Err(e) = decoder.feed(data, &mut frames) {
                        break (e.to_string(), false);
                    }
                    if let Err(why) = conn.incoming(frames).await {
                        break (why, false);
                    }
                }
            }
        },
    };
    for slot in conn.waiting.into_values().flatten() {
        if let Slot::Caller(tx) = slot {
            let _ = tx.send(Err(ClientError::Disconnected));
        }
    }
    result
}

impl Connection<'_> {
    /// Sends a caller's frame; an error means the link is lost.
    async fn request(
        &mut self,
        frame: ClientFrame,
        reply: Option<oneshot::Sender<Reply>>,
    ) -> Result<(), String> {
        let command = frame.command;
        let bytes = match self.writer.encode(&frame) {
            Ok(bytes) => bytes,
            Err(e) => {
                // This frame cannot be sent; the link is fine.
                if let Some(tx) = reply {
                    let _ = tx.send(Err(e));
                }
                return Ok(());
            }
        };
        if let Err(e) = self.writer.sink.send(Message::Binary(bytes)).await {
            if let Some(tx) = reply {
                let _ = tx.send(Err(ClientError::Disconnected));
            }
            return Err(e.to_string());
        }
        if let Some(tx) = reply {
            self.waiting.entry(command).or_default().push_back(Slot::Caller(tx));
        }
        Ok(())
    }

    /// Sends the resume frame: the token when there is a session to take
    /// back, else an opt-in.
    async fn send_resume(&mut self) -> Result<(), String> {
        let (body, presented) = self.shared.resume.hello();
        self.writer.write(RESUME_COMMAND, &body).await?;
        self.waiting.entry(RESUME_COMMAND).or_default().push_back(Slot::Resume { presented });
        Ok(())
    }

    /// Acknowledges the pushes received so far.
    async fn ack(&mut self) -> Result<(), String> {
        self.ack_at = None;
        match self.shared.resume.ack() {
            Some(body) => self.writer.write(ACK_COMMAND, &body).await,
            None => Ok(()),
        }
    }

    fn connected(&self, resumed: bool) {
        let _ = self.shared.events.send(Event::Connected { reconnected: self.reconnected, resumed });
    }

    /// Handles the frames of one message; an error ends the connection.
    async fn incoming(&mut self, frames: Vec<ClientFrame>) -> Result<(), String> {
        for frame in frames {
            let frame = match &mut self.writer.cipher {
                Some(c) => c.open(frame).map_err(|e| e.to_string())?,
                None => frame,
            };
            let body = parse_body(&frame.body);
            // Replies keep version 0; a numbered frame is always a push.
            let slot = match frame.version {
                0 => self.waiting.get_mut(&frame.command).and_then(VecDeque::pop_front),
                _ => None,
            };
            match slot {
                Some(Slot::Caller(tx)) => {
                    let _ = tx.send(reply_of(body));
                }
                Some(Slot::Heartbeat) => self.heartbeat_pending = false,
                Some(Slot::Resume { presented }) => self.resume_answered(presented, reply_of(body)).await?,
                None => self.push(frame.command, frame.version, body).await?,
            }
        }
        Ok(())
    }

    async fn resume_answered(&mut self, presented: bool, reply: Reply) -> Result<(), String> {
        match self.shared.resume.answer(presented, reply.as_ref().map_err(|_| ())) {
            Answer::Resumed => self.connected(true),
            Answer::Refused => {
                tracing::info!(error = ?reply.err(), "session resume refused: a new session");
                // Opt the new session in (no longer the first frame, which
                // only matters for taking a session back).
                self.send_resume().await?;
            }
            Answer::OptedIn | Answer::Unavailable => self.connected(false),
        }
        Ok(())
    }

    async fn push(&mut self, command: i32, version: i32, body: Value) -> Result<(), String> {
        let Verdict::Deliver { ack_now, first_unacked } = self.shared.resume.push(version) else {
            return Ok(()); // seen before the cut
        };
        // Delivered before the acknowledgement is written: a write that
        // fails ends the connection, and the push counts as received.
        let _ = self.shared.pushes.send(Push { command, version, body });
        if ack_now {
            self.ack().await?;
        } else if first_unacked {
            self.ack_at = Some(Instant::now() + ACK_AFTER);
        }
        Ok(())
    }
}

/// A body as JSON; text when it is not JSON, null when empty.
pub(crate) fn parse_body(body: &[u8]) -> Value {
    if body.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

/// An error body (`{"code" ≠ 200, "msg"}`) becomes an error.
fn reply_of(body: Value) -> Reply {
    let code = body.get("code").and_then(Value::as_u64);
    match (code, body.get("msg").and_then(Value::as_str)) {
        (Some(code), Some(msg)) if code != 200 => {
            Err(ClientError::Status { code: u32::try_from(code).unwrap_or(u32::MAX), msg: msg.to_owned() })
        }
        _ => Ok(body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_become_errors_and_the_rest_are_replies() {
        assert!(matches!(
            reply_of(serde_json::json!({"code": 6014, "msg": "insufficient balance"})),
            Err(ClientError::Status { code: 6014, .. })
        ));
        assert_eq!(reply_of(serde_json::json!({"code": 200})).unwrap(), serde_json::json!({"code": 200}));
        assert_eq!(reply_of(serde_json::json!({"balance": 5})).unwrap(), serde_json::json!({"balance": 5}));
        assert_eq!(parse_body(b""), Value::Null);
        assert_eq!(parse_body(b"hello"), Value::String("hello".into()));
    }
}
