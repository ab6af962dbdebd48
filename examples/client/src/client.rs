//! The client: its handle, and the one task that owns the websocket and
//! reconnects it (serving each connection is
//! `connection.rs`). Commands whose handler never replies go through
//! [`Client::send`].

use std::sync::{Arc, Mutex};
use std::time::Duration;

use espoir::{
    ClientDecoder, ClientFrame,
    secure::{ClientLinkCipher, ClientLinkDialer},
    wire::Backoff,
};
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

use crate::connection::{Command, Shared, Ws, serve};
use crate::error::ClientError;
use crate::event::{Event, Push};
use crate::options::ClientOptions;
use crate::resume::Resume;

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

    /// Closes the connection for good, with a closing handshake: when it
    /// returns the proxy knows the client left on purpose and ends its
    /// session at once (a resumable session is not held for a return).
    pub async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self.commands.send(Command::Close { done }).await.is_ok() {
            // An error: the connection task had already ended.
            let _ = closed.await;
        }
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

/// A failed dial: a refused certificate says why (expired, wrong name,
/// unknown issuer), apart from plain connection failures.
fn connect_error(url: &str, err: tokio_tungstenite::tungstenite::Error) -> ClientError {
    use tokio_tungstenite::tungstenite::Error;
    match err {
        Error::Tls(tls) => ClientError::Tls(format!("{url}: {tls}")),
        // tokio-rustls reports handshake failures as I/O errors carrying
        // the rustls error.
        Error::Io(io) if io.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) => {
            ClientError::Tls(format!("{url}: {io}"))
        }
        other => ClientError::Connect(other.to_string()),
    }
}

/// Opens the websocket to `url` and, for an encrypted link, runs the hello.
async fn dial(options: &ClientOptions, url: &str) -> Result<(Ws, Option<ClientLinkCipher>), ClientError> {
    // A proxy host that vanished may swallow the SYN: bound the attempt so
    // the next proxy gets its turn.
    let connector = options.tls.clone().map(tokio_tungstenite::Connector::Rustls);
    let connect = tokio_tungstenite::connect_async_tls_with_config(url, None, true, connector);
    let (mut ws, _) = tokio::time::timeout(options.connect_timeout, connect)
        .await
        .map_err(|_| ClientError::Connect(format!("{url}: no answer in time")))?
        .map_err(|e| connect_error(url, e))?;
    let Some(token) = &options.token else { return Ok((ws, None)) };
    let (dialer, hello) = ClientLinkDialer::start(token.clone(), rand::random());
    let hello = hello.encode(options.max_frame).map_err(|e| ClientError::Connect(e.to_string()))?;
    ws.send(Message::Binary(hello)).await.map_err(|e| ClientError::Connect(e.to_string()))?;
    let reply = loop {
        match tokio::time::timeout(options.connect_timeout, ws.next()).await {
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
    // Lives across connections: the token and the last push seen.
    let mut resume = Resume::default();
    loop {
        let (reason, closed) = match link.take() {
            Some((ws, cipher)) => {
                attempt = 0;
                if let Some(b) = backoff.as_mut() {
                    b.reset();
                }
                let shared = Shared {
                    options: &options,
                    commands: &mut commands,
                    pushes: &pushes,
                    events: &events,
                    resume: &mut resume,
                };
                serve(shared, ws, cipher, reconnected).await
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
                    Some(Command::Close { done }) => {
                        let _ = done.send(());
                        return;
                    }
                    None => return,
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
