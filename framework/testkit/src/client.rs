//! Websocket test clients speaking obespoir's client framing: [`Client`],
//! well-behaved, and [`RawWs`], which sends whatever it is told.

use std::collections::VecDeque;

use bytes::Bytes;
use espoir::{ClientDecoder, ClientFrame};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::wait::WAIT;

/// The largest frame [`Client`] sends or accepts.
const CLIENT_MAX_FRAME: usize = 1 << 20;
/// The largest frame [`RawWs`] sends or accepts.
const RAW_MAX_FRAME: usize = 1 << 24;

/// A websocket connection as tokio-tungstenite gives it.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The JSON body of a frame, or `Null` when it is not JSON.
pub fn json_of(frame: &ClientFrame) -> Value {
    serde_json::from_slice(&frame.body).unwrap_or(Value::Null)
}

/// A websocket client speaking obespoir's framing. Every read waits at most
/// [`WAIT`].
#[derive(Debug)]
pub struct Client {
    ws: Ws,
    decoder: ClientDecoder,
    /// Frames decoded but not yet returned.
    pending: VecDeque<ClientFrame>,
}

impl Client {
    /// Connects to `url`.
    ///
    /// # Panics
    /// When the websocket handshake fails.
    pub async fn connect(url: &str) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("websocket connects");
        Client { ws, decoder: ClientDecoder::new(CLIENT_MAX_FRAME), pending: VecDeque::new() }
    }

    /// Sends one frame with a JSON body.
    pub async fn send(&mut self, command: i32, body: &Value) {
        let frame =
            ClientFrame::new(command, serde_json::to_vec(body).unwrap()).encode(CLIENT_MAX_FRAME).unwrap();
        self.ws.send(Message::Binary(frame)).await.unwrap();
    }

    /// Sends `bytes` as one binary message.
    pub async fn send_raw(&mut self, bytes: Vec<u8>) {
        self.ws.send(Message::Binary(Bytes::from(bytes))).await.unwrap();
    }

    /// The next frame, or `None` if the connection closed.
    ///
    /// # Panics
    /// When nothing arrives within [`WAIT`].
    pub async fn recv(&mut self) -> Option<ClientFrame> {
        loop {
            if let Some(frame) = self.pending.pop_front() {
                return Some(frame);
            }
            let msg = tokio::time::timeout(WAIT, self.ws.next()).await.expect("a frame within the wait")?;
            match msg {
                Ok(Message::Binary(data)) => {
                    let mut out = Vec::new();
                    self.decoder.feed(data, &mut out).expect("server frames are valid");
                    assert_eq!(out.len(), 1, "one frame per message from the server");
                    self.pending.extend(out);
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    /// The close code the server sent, waiting for it.
    pub async fn close_code(&mut self) -> Option<u16> {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next()).await.expect("closed within the wait") {
                Some(Ok(Message::Close(Some(frame)))) => return Some(frame.code.into()),
                Some(Ok(Message::Close(None))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => {}
            }
        }
    }

    /// Sends a request and returns the next frame's command and JSON body.
    ///
    /// # Panics
    /// When the connection closes first.
    pub async fn request(&mut self, command: i32, body: &Value) -> (i32, Value) {
        self.send(command, body).await;
        let frame = self.recv().await.expect("a reply");
        (frame.command, json_of(&frame))
    }

    /// Sends a request and returns the body of its reply (the next frame
    /// with the same command), keeping frames of other commands that arrive
    /// first for later reads.
    ///
    /// # Panics
    /// When the connection closes first.
    pub async fn call(&mut self, command: i32, body: &Value) -> Value {
        self.send(command, body).await;
        let mut others = Vec::new();
        let reply = loop {
            let frame =
                self.recv().await.unwrap_or_else(|| panic!("connection ended before the {command} reply"));
            if frame.command == command {
                break frame;
            }
            others.push(frame);
        };
        for frame in others.into_iter().rev() {
            self.pending.push_front(frame);
        }
        json_of(&reply)
    }

    /// The next frame with `command`, skipping others.
    ///
    /// # Panics
    /// When the connection closes first.
    pub async fn next_of(&mut self, command: i32) -> ClientFrame {
        loop {
            let frame =
                self.recv().await.unwrap_or_else(|| panic!("connection closed before a {command} frame"));
            if frame.command == command {
                return frame;
            }
        }
    }

    /// The JSON body of the next push with `command`, skipping others.
    ///
    /// # Panics
    /// When the connection closes first.
    pub async fn push(&mut self, command: i32) -> Value {
        json_of(&self.next_of(command).await)
    }

    /// Closes the connection politely.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// How a raw connection ended, from the client's side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// A close frame with this code.
    Closed(u16),
    /// A close frame without a code, or the socket simply ended.
    Dropped,
}

/// A websocket client that sends whatever it is told, byte for byte: for
/// hostile-client and limits tests.
#[derive(Debug)]
pub struct RawWs {
    /// The connection, for tests that drive it directly.
    pub ws: Ws,
    decoder: ClientDecoder,
}

impl RawWs {
    /// Connects to `url`.
    ///
    /// # Panics
    /// When the websocket handshake fails.
    pub async fn connect(url: &str) -> RawWs {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("websocket connects");
        RawWs { ws, decoder: ClientDecoder::new(RAW_MAX_FRAME) }
    }

    /// Sends one binary message; false once the server has gone.
    pub async fn send_bytes(&mut self, bytes: impl Into<Bytes>) -> bool {
        self.ws.send(Message::Binary(bytes.into())).await.is_ok()
    }

    /// Sends one well-formed frame; false once the server has gone.
    pub async fn send_frame(&mut self, command: i32, body: &Value) -> bool {
        let frame =
            ClientFrame::new(command, serde_json::to_vec(body).unwrap()).encode(RAW_MAX_FRAME).unwrap();
        self.send_bytes(frame).await
    }

    /// Queues one well-formed frame without sending it (see [`RawWs::flush`]).
    pub async fn feed_frame(&mut self, command: i32, body: &Value) {
        let frame =
            ClientFrame::new(command, serde_json::to_vec(body).unwrap()).encode(RAW_MAX_FRAME).unwrap();
        self.ws.feed(Message::Binary(frame)).await.expect("queued");
    }

    /// Sends everything queued; false once the server has gone.
    pub async fn flush(&mut self) -> bool {
        self.ws.flush().await.is_ok()
    }

    /// Reads frames until the connection ends; returns them and how it
    /// ended.
    pub async fn drain(&mut self) -> (Vec<ClientFrame>, Ending) {
        let mut frames = Vec::new();
        loop {
            let msg =
                tokio::time::timeout(WAIT, self.ws.next()).await.expect("the server ends the connection");
            match msg {
                Some(Ok(Message::Binary(data))) => {
                    self.decoder.feed(data, &mut frames).expect("server frames are valid");
                }
                Some(Ok(Message::Close(Some(frame)))) => return (frames, Ending::Closed(frame.code.into())),
                Some(Ok(Message::Close(None))) | None | Some(Err(_)) => return (frames, Ending::Dropped),
                Some(Ok(_)) => {}
            }
        }
    }

    /// The next frame, failing if the connection ends first.
    pub async fn recv(&mut self) -> ClientFrame {
        let mut frames = Vec::new();
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next()).await.expect("a frame within the wait");
            match msg {
                Some(Ok(Message::Binary(data))) => {
                    self.decoder.feed(data, &mut frames).expect("server frames are valid");
                    if let Some(frame) = frames.pop() {
                        assert!(frames.is_empty(), "one frame per server message");
                        return frame;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                    panic!("connection ended; a frame was due")
                }
                Some(Ok(_)) => {}
            }
        }
    }
}

/// A client frame header announcing `length` (which counts the header
/// itself) for `command`.
pub fn header(length: i32, command: i32) -> Vec<u8> {
    let mut out = Vec::with_capacity(12);
    out.extend_from_slice(&length.to_le_bytes());
    out.extend_from_slice(&command.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out
}

/// The `code` field of an error body.
pub fn code_of(frame: &ClientFrame) -> Option<u64> {
    serde_json::from_slice::<Value>(&frame.body).ok()?.get("code")?.as_u64()
}
