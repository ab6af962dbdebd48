//! The connection: one task owns the websocket, reconnects it, and matches
//! replies to requests.
//!
//! Replies are matched by command id, first in first out: the proxy answers
//! one session's frames one at a time, in order, so the n-th reply with
//! command C answers the n-th request with command C, and a frame whose
//! command has no request waiting is a push. A request that times out keeps
//! its place, so its late reply is dropped instead of being taken for the
//! next request's (the proxy answers every request, with an error frame if
//! need be). Commands whose handler never replies go through
//! [`Client::send`].

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use espoir::{
    ClientDecoder, ClientFrame, Token,
    secure::{ClientLinkCipher, ClientLinkDialer},
    wire::Backoff,
};
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::error::ClientError;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The heartbeat command the proxy answers itself (`websocket.heartbeat_command`).
pub const HEARTBEAT_COMMAND: i32 = 10000;

/// How a [`Client`] connects and behaves.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The proxy's websocket, `ws://host:port`.
    pub url: String,
    /// `websocket.token`, when the proxy encrypts client links (`encode: 1`).
    pub token: Option<Token>,
    /// How long a request waits for its reply. Default 15 s, longer than
    /// the proxy's own call timeout (10 s), which answers with an error.
    pub request_timeout: Duration,
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
}

impl ClientOptions {
    /// Defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        ClientOptions {
            url: url.into(),
            token: None,
            request_timeout: Duration::from_secs(15),
            heartbeat: Some(Duration::from_secs(20)),
            reconnect: Some((Duration::from_millis(500), Duration::from_secs(15))),
            max_frame: espoir::DEFAULT_MAX_CLIENT_FRAME,
            fallback_urls: Vec::new(),
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
    fn urls(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.url.as_str()).chain(self.fallback_urls.iter().map(String::as_str))
    }

    /// Encrypts the link with `token` (the proxy's `websocket.token`).
    pub fn encrypted(mut self, token: impl Into<Token>) -> Self {
        self.token = Some(token.into());
        self
    }
}

/// A frame the proxy sent that answered no request.
#[derive(Debug, Clone, PartialEq)]
pub struct Push {
    /// Its command id.
    pub command: i32,
    /// The header's version field (a push number, with session resume).
    pub version: i32,
    /// The JSON body (a string for a non-JSON body, null for an empty one).
    pub body: Value,
}

/// What happens to the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Connected (after the encryption hello, if any); `reconnected` after
    /// a loss. The server starts a new session: log in again.
    Connected {
        /// Whether this follows a lost connection.
        reconnected: bool,
    },
    /// The connection ended.
    Disconnected {
        /// Why.
        reason: String,
        /// Whether the client will try again.
        will_reconnect: bool,
    },
    /// Trying again after a delay.
    Reconnecting {
        /// 1 for the first retry.
        attempt: u32,
        /// The delay before it.
        delay: Duration,
    },
}

type Reply = Result<Value, ClientError>;

enum Command {
    Request { frame: ClientFrame, reply: Option<oneshot::Sender<Reply>> },
    Close,
}

/// A connection to a proxy. Cheap to clone; the connection closes when the
/// last clone is dropped or [`Client::close`] is called.
#[derive(Debug, Clone)]
pub struct Client {
    commands: mpsc::Sender<Command>,
    pushes: broadcast::Sender<Push>,
    events: broadcast::Sender<Event>,
    request_timeout: Duration,
    /// The proxy connected to now (or last), one of the options' urls.
    current: Arc<Mutex<String>>,
}

/// Requests that may wait for the connection task.
const COMMAND_QUEUE: usize = 256;
/// Pushes a slow subscriber may fall behind by before it misses some.
const PUSH_BUFFER: usize = 1024;

impl Client {
    /// Connects; fails if the first connection (and hello) fails. Later
    /// losses reconnect by themselves, as `options.reconnect` says.
    ///
    /// # Errors
    /// [`ClientError::Connect`] or [`ClientError::Link`].
    pub async fn connect(options: ClientOptions) -> Result<Client, ClientError> {
        let ws = dial(&options, &options.url).await?;
        let current = Arc::new(Mutex::new(options.url.clone()));
        let (commands, rx) = mpsc::channel(COMMAND_QUEUE);
        let (pushes, _) = broadcast::channel(PUSH_BUFFER);
        let (events, _) = broadcast::channel(64);
        let client = Client {
            commands,
            pushes: pushes.clone(),
            events: events.clone(),
            request_timeout: options.request_timeout,
            current: current.clone(),
        };
        tokio::spawn(run(options, ws, rx, pushes, events, current));
        Ok(client)
    }

    /// The proxy url connected to now, or last: [`ClientOptions::url`] or,
    /// after a failover, one of its fallbacks.
    pub fn url(&self) -> String {
        self.current.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Pushes from now on (every command; filter by [`Push::command`]).
    pub fn pushes(&self) -> broadcast::Receiver<Push> {
        self.pushes.subscribe()
    }

    /// Connection events from now on.
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Sends a request and waits for its reply body.
    ///
    /// # Errors
    /// [`ClientError::Status`] for an error reply (`{"code", "msg"}`),
    /// [`ClientError::Timeout`], [`ClientError::Disconnected`] when not
    /// connected or the connection was lost before the reply.
    pub async fn request(&self, command: i32, body: &impl Serialize) -> Result<Value, ClientError> {
        let frame = ClientFrame::new(command, serde_json::to_vec(body)?);
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Request { frame, reply: Some(tx) })
            .await
            .map_err(|_| ClientError::Closed)?;
        match tokio::time::timeout(self.request_timeout, rx).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => Err(ClientError::Closed),
            Err(_) => Err(ClientError::Timeout { command, after: self.request_timeout }),
        }
    }

    /// As [`Client::request`], decoding the reply.
    ///
    /// # Errors
    /// As [`Client::request`], or [`ClientError::Json`].
    pub async fn request_as<T: DeserializeOwned>(
        &self,
        command: i32,
        body: &impl Serialize,
    ) -> Result<T, ClientError> {
        Ok(serde_json::from_value(self.request(command, body).await?)?)
    }

    /// Sends a frame that gets no reply (handlers with `need_return = false`).
    ///
    /// # Errors
    /// [`ClientError::Closed`] once the client is closed.
    pub async fn send(&self, command: i32, body: &impl Serialize) -> Result<(), ClientError> {
        let frame = ClientFrame::new(command, serde_json::to_vec(body)?);
        self.commands.send(Command::Request { frame, reply: None }).await.map_err(|_| ClientError::Closed)
    }

    /// Closes the connection for good.
    pub async fn close(&self) {
        let _ = self.commands.send(Command::Close).await;
    }
}

/// One reconnection attempt: each proxy once, starting with the one last
/// connected to (a proxy that merely dropped this client is likely up),
/// then the others in the configured order. Returns the link and its url.
async fn redial(options: &ClientOptions, last: &str) -> Option<((Ws, Option<ClientLinkCipher>), String)> {
    let others = options.urls().filter(|u| *u != last);
    for url in std::iter::once(last).chain(others) {
        match dial(options, url).await {
            Ok(link) => return Some((link, url.to_owned())),
            Err(err) => tracing::debug!(url, error = %err, "reconnect attempt failed"),
        }
    }
    None
}

/// Opens the websocket to `url` and, for an encrypted link, runs the hello.
async fn dial(options: &ClientOptions, url: &str) -> Result<(Ws, Option<ClientLinkCipher>), ClientError> {
    // A proxy host that vanished may swallow the SYN: bound the attempt so
    // the next proxy gets its turn.
    let (mut ws, _) = tokio::time::timeout(options.request_timeout, tokio_tungstenite::connect_async(url))
        .await
        .map_err(|_| ClientError::Connect(format!("{url}: no answer in time")))?
        .map_err(|e| ClientError::Connect(e.to_string()))?;
    let Some(token) = &options.token else { return Ok((ws, None)) };
    let (dialer, hello) = ClientLinkDialer::start(token.clone(), rand::random());
    let hello = hello.encode(options.max_frame).map_err(|e| ClientError::Connect(e.to_string()))?;
    ws.send(Message::Binary(hello)).await.map_err(|e| ClientError::Connect(e.to_string()))?;
    let reply = loop {
        match tokio::time::timeout(options.request_timeout, ws.next()).await {
            Ok(Some(Ok(Message::Binary(data)))) => break data,
            Ok(Some(Ok(Message::Close(frame)))) => {
                let why = frame.map(|f| f.reason.to_string()).unwrap_or_default();
                return Err(ClientError::Connect(format!("the proxy closed during the hello: {why}")));
            }
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(e))) => return Err(ClientError::Connect(e.to_string())),
            Ok(None) => return Err(ClientError::Connect("closed during the hello".into())),
            Err(_) => return Err(ClientError::Connect("no hello from the proxy in time".into())),
        }
    };
    let mut frames = Vec::new();
    ClientDecoder::new(options.max_frame)
        .feed(reply, &mut frames)
        .map_err(|e| ClientError::Connect(e.to_string()))?;
    let frame = frames.pop().ok_or_else(|| ClientError::Connect("empty hello".into()))?;
    Ok((ws, Some(dialer.finish(&frame)?)))
}

/// The connection task: serves one connection after another.
async fn run(
    options: ClientOptions,
    first: (Ws, Option<ClientLinkCipher>),
    mut commands: mpsc::Receiver<Command>,
    pushes: broadcast::Sender<Push>,
    events: broadcast::Sender<Event>,
    current: Arc<Mutex<String>>,
) {
    let mut link = Some(first);
    let mut backoff = options.reconnect.map(|(min, max)| Backoff::new(min, max));
    let mut attempt = 0;
    let mut reconnected = false;
    loop {
        let (reason, closed) = match link.take() {
            Some((ws, cipher)) => {
                attempt = 0;
                if let Some(b) = backoff.as_mut() {
                    b.reset();
                }
                let _ = events.send(Event::Connected { reconnected });
                serve(&options, ws, cipher, &mut commands, &pushes).await
            }
            None => ("reconnect failed".to_owned(), false),
        };
        reconnected = true;
        let will_reconnect = backoff.is_some() && !closed;
        let _ = events.send(Event::Disconnected { reason, will_reconnect });
        let Some(b) = backoff.as_mut().filter(|_| will_reconnect) else { break };
        attempt += 1;
        let delay = b.next_delay();
        let _ = events.send(Event::Reconnecting { attempt, delay });
        // Requests while disconnected fail at once rather than wait.
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => break,
                cmd = commands.recv() => match cmd {
                    Some(Command::Request { reply: Some(tx), .. }) => { let _ = tx.send(Err(ClientError::Disconnected)); }
                    Some(Command::Request { reply: None, .. }) => {}
                    Some(Command::Close) | None => return,
                },
            }
        }
        let last = current.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        link = redial(&options, &last).await.map(|(link, url)| {
            if url != last {
                tracing::info!(from = %last, to = %url, "failed over to another proxy");
            }
            *current.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = url;
            link
        });
    }
    // Given up: fail whatever still arrives.
    while let Some(cmd) = commands.recv().await {
        if let Command::Request { reply: Some(tx), .. } = cmd {
            let _ = tx.send(Err(ClientError::Closed));
        }
    }
}

/// Serves one connection until it ends; returns why, and whether the
/// client was closed on purpose.
async fn serve(
    options: &ClientOptions,
    ws: Ws,
    mut cipher: Option<ClientLinkCipher>,
    commands: &mut mpsc::Receiver<Command>,
    pushes: &broadcast::Sender<Push>,
) -> (String, bool) {
    let (mut sink, mut stream) = ws.split();
    let mut decoder = ClientDecoder::new(options.max_frame);
    let mut waiting: HashMap<i32, VecDeque<Option<oneshot::Sender<Reply>>>> = HashMap::new();
    let heartbeat_every = options.heartbeat.unwrap_or(Duration::from_secs(3600));
    let mut heartbeat =
        tokio::time::interval_at(tokio::time::Instant::now() + heartbeat_every, heartbeat_every);
    // A heartbeat still unanswered at the next one means a dead link.
    let mut heartbeat_pending = false;
    let result = loop {
        tokio::select! {
            cmd = commands.recv() => {
                let Some(Command::Request { frame, reply }) = cmd else {
                    let _ = sink.send(Message::Close(None)).await;
                    break ("closed by the client".to_owned(), true);
                };
                let command = frame.command;
                match encode(&mut cipher, &frame, options.max_frame) {
                    Ok(bytes) => {
                        if let Err(e) = sink.send(Message::Binary(bytes)).await {
                            if let Some(tx) = reply { let _ = tx.send(Err(ClientError::Disconnected)); }
                            break (e.to_string(), false);
                        }
                        if let Some(tx) = reply { waiting.entry(command).or_default().push_back(Some(tx)); }
                    }
                    Err(e) => if let Some(tx) = reply { let _ = tx.send(Err(e)); },
                }
            }
            _ = heartbeat.tick(), if options.heartbeat.is_some() => {
                if heartbeat_pending {
                    break ("heartbeat unanswered".to_owned(), false);
                }
                let frame = ClientFrame::new(HEARTBEAT_COMMAND, Bytes::from_static(b"{}"));
                let sent = match encode(&mut cipher, &frame, options.max_frame) {
                    Ok(bytes) => sink.send(Message::Binary(bytes)).await.is_ok(),
                    Err(_) => false,
                };
                if !sent {
                    break ("heartbeat could not be sent".to_owned(), false);
                }
                // None marks the heartbeat's own slot in the queue.
                waiting.entry(HEARTBEAT_COMMAND).or_default().push_back(None);
                heartbeat_pending = true;
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
                for frame in frames {
                    let frame = match &mut cipher {
                        Some(c) => match c.open(frame) {
                            Ok(f) => f,
                            Err(e) => return (e.to_string(), false),
                        },
                        None => frame,
                    };
                    let body = parse_body(&frame.body);
                    match waiting.get_mut(&frame.command).and_then(VecDeque::pop_front) {
                        Some(Some(tx)) => { let _ = tx.send(reply_of(body)); }
                        Some(None) => heartbeat_pending = false,
                        None => { let _ = pushes.send(Push { command: frame.command, version: frame.version, body }); }
                    }
                }
            }
        }
    };
    for tx in waiting.into_values().flatten().flatten() {
        let _ = tx.send(Err(ClientError::Disconnected));
    }
    result
}

fn encode(
    cipher: &mut Option<ClientLinkCipher>,
    frame: &ClientFrame,
    max: usize,
) -> Result<Bytes, ClientError> {
    let sealed;
    let frame = match cipher {
        Some(c) => {
            sealed = c.seal(frame)?;
            &sealed
        }
        None => frame,
    };
    frame.encode(max).map_err(|e| ClientError::Frame(e.to_string()))
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
