//! The proxy's websocket gateway: one task per client connection.
//!
//! Each connection reads client frames (obespoir framing, see
//! [`crate::ClientDecoder`]) and handles them **one at a time, in arrival
//! order**: the next frame is forwarded only once the previous one is
//! answered, so a session's messages are handled in order end to end, while
//! different sessions proceed in parallel. Pushes are written as they come.
//!
//! The session itself (user, data, groups, pins, replay buffer) lives in
//! [`Sessions`], not in the connection task, so that a client that
//! reconnects can resume it (`sessions_resume.rs`).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};

use super::cipher;
use super::resume::{AckRequest, expire_later, resume_frames};
use crate::codec::{ClientDecoder, ClientFrame};
use crate::dispatch::run_handler;
use crate::handler::{Context, NodeApi, SessionView, error_body};
use crate::id::{NodeId, SessionId};
use crate::limits;
use crate::limits::ConnLimiter;
use crate::limits::{IpGuard, IpLimiter};
use crate::metrics::Via;
use crate::node::NodeShared;
use crate::proto::NodeType;
use crate::routing::Target;
use crate::sessions::Ending;
use crate::sessions::announce_closed;
use crate::sessions::{OpenSession, RequestInfo, Sessions, Stop};
use crate::status::{Code, Status};

use super::forward::forward;
use super::rates::{self, write};

/// Client frames decoded but not yet handled; past this the proxy stops
/// reading the socket until the session catches up.
const MAX_QUEUED_FRAMES: usize = 64;

/// First pause after a failing `accept`; doubles while it keeps failing.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(5);
/// Longest pause after a failing `accept`.
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Accepts client connections until shutdown.
pub(crate) async fn accept_loop(shared: Arc<NodeShared>, listener: TcpListener, max_connections: usize) {
    let permits = Arc::new(Semaphore::new(max_connections.max(1)));
    let limits = shared.config.websocket.as_ref().map(|ws| ws.limits.clone()).unwrap_or_default();
    let per_ip = IpLimiter::new(limits.max_connections_per_ip);
    let mut backoff = ACCEPT_BACKOFF_MIN;
    loop {
        let (stream, addr) = tokio::select! {
            () = shared.shutdown.cancelled() => return,
            // Dropping the listener refuses new clients at once, so load
            // balancers in front move them to another proxy.
            () = shared.drain.started() => {
                tracing::info!("draining: no longer accepting clients");
                return;
            }
            r = listener.accept() => match r {
                Ok(conn) => {
                    backoff = ACCEPT_BACKOFF_MIN;
                    conn
                }
                // Out of file descriptors (EMFILE/ENFILE) is the usual
                // cause: the pending connection stays in the backlog, so
                // retrying at once would spin. Wait, longer each time, until
                // a connection closes and frees a descriptor.
                Err(err) => {
                    tracing::error!(error = %err, ?backoff, "websocket accept failed; backing off");
                    tokio::select! {
                        () = shared.shutdown.cancelled() => return,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                    continue;
                }
            },
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            shared.metrics.client_refused();
            tracing::warn!(%addr, "client refused: connection limit reached");
            continue;
        };
        let Some(ip_slot) = per_ip.try_acquire(addr.ip()) else {
            shared.metrics.limit_hit("connections_per_ip");
            tracing::warn!(%addr, "client refused: websocket.limits.max_connections_per_ip reached");
            continue;
        };
        let task_shared = Arc::clone(&shared);
        // A connection is in-flight work: draining waits for it to finish.
        let slots = (permit, ip_slot);
        shared.shutdown.spawn(shared.drain.track(serve_client(task_shared, stream, addr, slots)));
    }
}

fn ws_config(max_frame: usize) -> WebSocketConfig {
    // tungstenite's defaults (128 KiB read and write buffers) would cost
    // far more than the session itself on an idle connection.
    WebSocketConfig::default()
        .read_buffer_size(1024)
        .write_buffer_size(0)
        .max_write_buffer_size(max_frame.saturating_mul(4).max(64 * 1024))
        .max_message_size(Some(max_frame))
        .max_frame_size(Some(max_frame))
}

/// The result of handling one client frame.
struct Outcome {
    command: i32,
    reply: Option<Bytes>,
    /// The node that answered.
    served: Option<(NodeType, NodeId)>,
    /// Whether the message was stateful, so that the session sticks to the
    /// node that answered.
    stateful: bool,
}

/// Why the connection ends, and what to tell the client.
pub(crate) fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame { code: CloseCode::from(code), reason: reason.into() }))
}

/// Close code of a kicked session (application range 4000–4999).
const CLOSE_KICKED: u16 = 4001;
/// Close code of a connection whose session was resumed on another one.
const CLOSE_REPLACED: u16 = 4002;

/// How a connection ended.
pub(crate) struct End {
    /// Frames to send before closing (a kick frame, a close frame).
    pub(crate) goodbye: Vec<Message>,
    /// The network failed under it: a resumable session is kept.
    pub(crate) lost: bool,
    /// For the close notice.
    pub(crate) reason: &'static str,
}

impl End {
    pub(crate) fn quiet(lost: bool, reason: &'static str) -> End {
        End { goodbye: Vec::new(), lost, reason }
    }

    pub(crate) fn closing(code: u16, text: &str, reason: &'static str) -> End {
        End { goodbye: vec![close(code, text)], lost: false, reason }
    }
}

/// What to tell a client whose kick token fired.
fn stopped(shared: &NodeShared, sessions: &Sessions, open: &OpenSession, session: &SessionId) -> End {
    match sessions.stop_reason(session.seq(), open.generation) {
        Some(Stop::Kicked(why)) => {
            let kick = sessions.config().kick_command;
            let body = error_body(&Status::new(Code(u32::from(CLOSE_KICKED)), why.clone()));
            let mut goodbye: Vec<Message> = ClientFrame::new(kick, body)
                .encode(usize::MAX)
                .ok()
                .map(Message::Binary)
                .into_iter()
                .collect();
            goodbye.push(close(CLOSE_KICKED, &why));
            End { goodbye, lost: false, reason: "kicked" }
        }
        Some(Stop::TooSlow) => End::closing(1008, "too slow: pushes not read", "too slow"),
        Some(Stop::Replaced) => {
            End::closing(CLOSE_REPLACED, "session resumed on another connection", "replaced")
        }
        None if shared.shutdown.is_triggered() => End::closing(1001, "server shutting down", "shutdown"),
        None => End::closing(1001, "session closed", "closed"),
    }
}

async fn serve_client(
    shared: Arc<NodeShared>,
    stream: TcpStream,
    addr: SocketAddr,
    _slots: (OwnedSemaphorePermit, IpGuard),
) {
    let Some(sessions) = shared.sessions.clone() else { return };
    let Some(ws_settings) = shared.config.websocket.as_ref() else { return };
    let limits = &ws_settings.limits;
    let _ = stream.set_nodelay(true);
    // One deadline from the TCP accept to a usable link, hello included.
    let handshake_until = tokio::time::Instant::now() + limits.handshake_timeout;
    // Boxed, like every once-per-connection await below: the connection
    // task's future is as large as its largest await, and it lives as long
    // as the client does (an idle proxy holds tens of thousands of them).
    let origins = &ws_settings.allowed_origins;
    // The error type is tungstenite's (`Callback`), not ours to shrink.
    #[allow(clippy::result_large_err)]
    let check_origin = |request: &Request, response: Response| {
        let origin = request.headers().get("origin").map(|o| o.as_bytes());
        if origins.allows(origin) {
            return Ok(response);
        }
        shared.metrics.limit_hit("origin");
        tracing::debug!(%addr, origin = ?origin.map(String::from_utf8_lossy), "websocket origin refused");
        let mut refusal = ErrorResponse::new(Some("origin not allowed".to_owned()));
        *refusal.status_mut() = StatusCode::FORBIDDEN;
        Err(refusal)
    };
    let handshake = Box::pin(tokio_tungstenite::accept_hdr_async_with_config(
        stream,
        check_origin,
        Some(ws_config(ws_settings.max_frame)),
    ));
    let mut ws = match tokio::time::timeout_at(handshake_until, handshake).await {
        Ok(Ok(ws)) => ws,
        // No session was created, so there is nobody to announce offline
        // (obespoir sends an offline notice for failed handshakes, bug 35).
        Ok(Err(err)) => return tracing::debug!(%addr, error = %err, "websocket handshake failed"),
        Err(_) => {
            shared.metrics.limit_hit("handshake_timeout");
            return tracing::debug!(%addr, "websocket handshake timed out");
        }
    };
    // An encrypted link is set up before the session exists, so nothing
    // reaches the cluster from a client that cannot prove the token.
    let mut cipher = None;
    if ws_settings.encrypt {
        // Validation requires the token with encode 1; a hand-built config
        // without one refuses clients rather than serving them in clear.
        let Some(token) = ws_settings.token.as_ref() else {
            return tracing::error!("websocket.encode is 1 but websocket.token is missing: client refused");
        };
        let left = handshake_until.saturating_duration_since(tokio::time::Instant::now());
        match Box::pin(cipher::accept(&mut ws, token, ws_settings.max_frame, left)).await {
            // Boxed: two AES-GCM key schedules inline would grow every
            // connection, encrypted or not.
            Some(c) => cipher = Some(Box::new(c)),
            None => return tracing::debug!(%addr, "client did not set up the encrypted link"),
        }
    }
    let mut open = sessions.open(shared.shutdown.token());
    shared.metrics.client_accepted();
    let mut session = open.id.clone();
    tracing::debug!(%addr, %session, "client connected");
    let (mut sink, mut source) = ws.split();
    let mut decoder = ClientDecoder::new(ws_settings.max_frame);
    let mut decoded = Vec::new();
    let mut queue: VecDeque<ClientFrame> = VecDeque::new();
    let mut inflight: Option<BoxFuture<'static, Outcome>> = None;
    let mut frames_seen = 0u64;
    let resume = sessions.resume_enabled().then(|| sessions.config().clone());
    let idle = ws_settings.timeout;
    let idle_timer = tokio::time::sleep(idle);
    tokio::pin!(idle_timer);
    let write_timeout = limits.write_timeout;
    let mut limiter = ConnLimiter::new(limits, tokio::time::Instant::now());
    // Set while reading is paused by the bytes/s limit.
    let read_pause = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(read_pause);
    let mut paused = false;
    // Once the node drains, no more frames are read: the client gets the
    // answers to what it already sent, then a `1001 going away`.
    let mut draining = shared.drain.is_draining();
    // Made once, not per loop turn: a fresh wait future per turn would
    // register (and drop) a waiter on each token every time round.
    let drain_started = shared.drain.started();
    tokio::pin!(drain_started);
    let kicked = open.kick.clone().cancelled_owned();
    tokio::pin!(kicked);

    let end: End = 'conn: loop {
        if inflight.is_none()
            && let Some(frame) = queue.pop_front()
        {
            frames_seen += 1;
            shared.metrics.received(Via::Client, frame.command);
            let verdict = limiter.admit_frame(tokio::time::Instant::now());
            // The refusal path is boxed so its write does not grow every
            // connection's future; admitted frames (the norm) skip it.
            if verdict != crate::limits::Admit::Yes {
                match Box::pin(rates::admit(
                    &shared,
                    verdict,
                    &mut cipher,
                    &mut sink,
                    frame.command,
                    write_timeout,
                ))
                .await
                {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(end) => break 'conn end,
                }
            }
            match &resume {
                Some(cfg) if frame.command == cfg.resume_command => {
                    let first = frames_seen == 1;
                    for out in resume_frames(&shared, &sessions, &open, &mut session, first, &frame) {
                        let out = match cipher::outgoing(&mut cipher, out) {
                            Ok(out) => out,
                            Err(err) => {
                                break 'conn End {
                                    goodbye: vec![cipher::broken(&err)],
                                    lost: false,
                                    reason: "cipher",
                                };
                            }
                        };
                        if let Err(end) = write(&shared, &mut sink, Message::Binary(out), write_timeout).await
                        {
                            break 'conn end;
                        }
                    }
                    continue;
                }
                Some(cfg) if frame.command == cfg.ack_command => {
                    match serde_json::from_slice::<AckRequest>(&frame.body) {
                        Ok(ack) => sessions.ack(session.seq(), ack.seq),
                        Err(err) => tracing::debug!(%session, error = %err, "malformed ack ignored"),
                    }
                    continue;
                }
                _ => {
                    inflight = Some(Box::pin(handle_frame(Arc::clone(&shared), session.clone(), frame)));
                }
            }
        }
        if draining && inflight.is_none() && queue.is_empty() {
            break End::closing(1001, "server draining; reconnect", "draining");
        }
        tokio::select! {
            biased;
            () = &mut drain_started, if !draining => {
                draining = true;
            }
            () = &mut kicked => break stopped(&shared, &sessions, &open, &session),
            // Pushes first: a handler's pushes are queued before its reply
            // arrives, and must reach the client before it.
            push = open.outbound.recv() => {
                let Some(push) = push else { break End::quiet(false, "closed") };
                open.budget.release(push.cost());
                let push = match cipher::outgoing(&mut cipher, push.encode()) {
                    Ok(push) => push,
                    Err(err) => break End { goodbye: vec![cipher::broken(&err)], lost: false, reason: "cipher" },
                };
                if let Err(end) = write(&shared, &mut sink, Message::Binary(push), write_timeout).await {
                    break end;
                }
            }
            outcome = async { inflight.as_mut().expect("guarded by the branch condition").await }, if inflight.is_some() => {
                inflight = None;
                if let Some((node_type, node)) = outcome.served {
                    sessions.remember(session.seq(), node_type, node, outcome.stateful);
                }
                if let Some(reply) = outcome.reply {
                    let reply = match cipher::outgoing(&mut cipher, reply) {
                        Ok(reply) => reply,
                        Err(err) => break End { goodbye: vec![cipher::broken(&err)], lost: false, reason: "cipher" },
                    };
                    if let Err(end) = write(&shared, &mut sink, Message::Binary(reply), write_timeout).await {
                        break end;
                    }
                    shared.metrics.sent(Via::Client, outcome.command);
                }
            }
            () = &mut read_pause, if paused => {
                paused = false;
                // The client was not idle: the proxy chose not to read.
                idle_timer.as_mut().reset(tokio::time::Instant::now() + idle);
            }
            msg = source.next(), if queue.len() < MAX_QUEUED_FRAMES && !draining && !paused => {
                let now = tokio::time::Instant::now();
                idle_timer.as_mut().reset(now + idle);
                match msg {
                    Some(Ok(Message::Binary(data))) => {
                        let wait = limiter.read_bytes(data.len(), now);
                        if !wait.is_zero() {
                            shared.metrics.limit_hit("bytes_rate");
                            read_pause.as_mut().reset(now + wait);
                            paused = true;
                        }
                        let result = decoder.feed(data, &mut decoded);
                        if let Err(err) = cipher::incoming(&mut cipher, &mut decoded) {
                            tracing::debug!(%session, error = %err, "client frame failed to open");
                            break End { goodbye: vec![cipher::broken(&err)], lost: false, reason: "cipher" };
                        }
                        queue.extend(decoded.drain(..));
                        if let Err(err) = result {
                            if err.close_code() == 1009 {
                                shared.metrics.limit_hit("max_frame");
                            }
                            tracing::debug!(%session, error = %err, "client broke the framing");
                            break End::closing(err.close_code(), &err.to_string(), "protocol error");
                        }
                    }
                    Some(Ok(Message::Text(_))) => {
                        break End::closing(1003, "binary messages only: text would corrupt the frame header", "protocol error");
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                    Some(Ok(Message::Close(_))) => break End::quiet(false, "closed"),
                    // The socket ended without a close handshake: the
                    // network failed, the client may come back.
                    None => break End::quiet(true, "connection lost"),
                    Some(Err(err)) => {
                        tracing::debug!(%session, error = %err, "client connection failed");
                        break End::quiet(true, "connection lost");
                    }
                }
            }
            () = &mut idle_timer => {
                shared.metrics.limit_hit("idle_timeout");
                break End::closing(1000, "idle timeout", "idle timeout");
            }
        }
    };
    let close_sent = Box::pin(rates::farewell(&mut sink, end.goodbye, write_timeout)).await;
    match sessions.end(session.seq(), open.generation, end.lost, end.reason) {
        Ending::NotOurs => {}
        Ending::Detached { generation } => expire_later(&shared, session.seq(), generation),
        Ending::Closed(closed) => announce_closed(&shared, &closed),
    }
    if close_sent {
        Box::pin(rates::linger(&mut source, write_timeout)).await;
    }
    tracing::debug!(%addr, %session, reason = end.reason, "client disconnected");
}

pub(crate) fn error_frame(command: i32, status: &Status) -> Option<Bytes> {
    ClientFrame::new(command, error_body(status)).encode(usize::MAX).ok()
}

async fn handle_frame(shared: Arc<NodeShared>, session: SessionId, frame: ClientFrame) -> Outcome {
    let command = frame.command;
    let stateful = !shared.is_stateless(command);
    let heartbeat = shared.config.websocket.as_ref().map(|ws| ws.heartbeat_command);
    // A heartbeat proves the client↔proxy path alive; answering it here
    // costs no hop. A proxy-side handler for the id takes precedence.
    if Some(command) == heartbeat && shared.events.get(command).is_none() {
        let reply = ClientFrame::new(command, Bytes::from_static(br#"{"code":200}"#)).encode(usize::MAX).ok();
        return Outcome { command, reply, served: None, stateful: false };
    }
    // The close and bind notices are the proxy's word to backends that a
    // session ended or logged in; a client sending their ids would fake
    // them (obespoir bug 12: any client could send 999).
    if let Some(what) = reserved_notice(&shared, command) {
        let status = Status::new(
            Code::FORBIDDEN,
            format!("command {command} is the {what} notice; clients cannot send it"),
        );
        shared.metrics.error(&status);
        return Outcome { command, reply: error_frame(command, &status), served: None, stateful: false };
    }
    let info = match &shared.sessions {
        Some(sessions) => sessions.request_info(session.seq(), stateful),
        None => RequestInfo::default(),
    };
    let result = match shared.target(command) {
        Target::Local => handle_locally(&shared, &session, info, frame).await,
        Target::Forward(node_type) => forward(&shared, &session, info, frame, node_type).await,
    };
    match result {
        Ok((reply, served)) => Outcome {
            command,
            reply: reply.and_then(|body| ClientFrame::new(command, body).encode(usize::MAX).ok()),
            served,
            stateful,
        },
        Err(status) => {
            shared.metrics.error(&status);
            Outcome { command, reply: error_frame(command, &status), served: None, stateful }
        }
    }
}

/// Which proxy-only notice `command` is, if any.
fn reserved_notice(shared: &NodeShared, command: i32) -> Option<&'static str> {
    if shared.config.websocket.as_ref().is_some_and(|ws| ws.offline_command == command) {
        return Some("close");
    }
    if shared.sessions.as_ref().is_some_and(|s| s.config().bind_command == command) {
        return Some("bind");
    }
    None
}

pub(crate) type Handled = Result<(Option<Bytes>, Option<(NodeType, NodeId)>), Status>;

async fn handle_locally(
    shared: &Arc<NodeShared>,
    session: &SessionId,
    info: RequestInfo,
    frame: ClientFrame,
) -> Handled {
    let handler = shared
        .events
        .get(frame.command)
        .cloned()
        .ok_or_else(|| Status::not_found(format!("no handler for command {}", frame.command)))?;
    let view = SessionView::from_wire(info.uid.as_deref().unwrap_or_default(), info.data, info.pins);
    let ctx = Context::new(Arc::clone(shared) as Arc<dyn NodeApi>, Some(session.clone()), frame.command)
        .with_view(view);
    let _slot = limits::admit(shared, frame.command)?;
    let started = tokio::time::Instant::now();
    let result = run_handler(&*handler, ctx, frame.body, shared.handler_timeout).await;
    // Errors are counted once, where the client's error frame is made.
    shared.metrics.handled::<()>(frame.command, started.elapsed(), &Ok(()));
    Ok((result?, None))
}
