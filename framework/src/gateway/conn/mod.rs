//! One client connection after its handshake: [`ClientConn`].
//!
//! Each connection reads client frames (obespoir framing, see
//! [`crate::ClientDecoder`]) and handles them **one at a time, in arrival
//! order**: the next frame is forwarded only once the previous one is
//! answered, so a session's messages are handled in order end to end, while
//! different sessions proceed in parallel. Pushes are written as they come.
//! Heartbeats the proxy answers itself are answered on arrival, even behind
//! a request in flight: a slow handler must not make the client take its
//! link for dead.
//!
//! The session itself (user, data, groups, pins, replay buffer) lives in
//! [`Sessions`], not in the connection, so that a client that reconnects
//! can resume it (`sessions/resume.rs`).
//!
//! A connection that reads slower than its topics are published has its
//! topic messages conflated (`sessions/topics.rs`): it drains the latest
//! per key once its push queue is empty.
//!
//! `write`: how frames reach the client's socket (sealing, write timeout,
//! several frames per write); `answered`: the frames the connection
//! answers itself (heartbeats, rate refusals, resume, acks).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::{SplitSink, SplitStream};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

mod answered;
mod write;

use super::cipher;
use super::close::{self, ConnEnd};
use super::request::{FrameOutcome, handle_frame, proxy_heartbeat};
use super::resume::expire_later;
use crate::codec::{ClientDecoder, ClientFrame};
use crate::config::WebsocketConfig;
use crate::id::SessionId;
use crate::limits::ConnLimiter;
use crate::metrics::Via;
use crate::node::NodeState;
use crate::secure::ClientLinkCipher;
use crate::sessions::{Ending, OpenSession, Sessions, announce_closed};
use crate::tls::MaybeTls;

/// Client frames decoded but not yet handled; past this the proxy stops
/// reading the socket until the session catches up.
const MAX_QUEUED_FRAMES: usize = 64;

/// Pushes already queued that go out in one write with the one that woke
/// the connection; bounded so that a flood of pushes still lets the loop
/// turn (replies, reads, the idle timer).
const MAX_PUSH_BATCH: usize = 64;

type Sink = SplitSink<WebSocketStream<MaybeTls>, Message>;
type Source = SplitStream<WebSocketStream<MaybeTls>>;

/// The commands a resumable session answers on the connection itself.
#[derive(Clone, Copy, Debug)]
struct ResumeCommands {
    resume: i32,
    ack: i32,
}

/// A client connection's state, from the end of its handshake to its close.
pub(crate) struct ClientConn {
    shared: Arc<NodeState>,
    sessions: Arc<Sessions>,
    /// The client's address, for the logs.
    addr: SocketAddr,
    /// The session the connection serves; a resume swaps it for the one
    /// the client takes back.
    session: SessionId,
    /// The session's push queue, send budget and kick token, as opened for
    /// this connection (`generation` tells it from a later one).
    open: OpenSession,
    sink: Sink,
    source: Source,
    /// Seals and opens frames on an encrypted link. Boxed: two AES-GCM key
    /// schedules inline would grow every connection, encrypted or not.
    cipher: Option<Box<ClientLinkCipher>>,
    decoder: ClientDecoder,
    /// The frames of one websocket message, before they join `queue`;
    /// kept to reuse its allocation.
    decoded: Vec<ClientFrame>,
    /// Frames read but not yet handled, in arrival order.
    queue: VecDeque<ClientFrame>,
    /// The frame being handled; the next waits for its answer. Boxed: the
    /// handling future is large and most connections idle without one.
    inflight: Option<BoxFuture<'static, FrameOutcome>>,
    /// When the frame in flight arrived (its round trip ends at the reply).
    inflight_since: Option<std::time::Instant>,
    /// Frames taken off the queue so far: a resume must be the first.
    frames_seen: u64,
    /// The heartbeat command the proxy answers itself, if any.
    heartbeat: Option<i32>,
    /// Heartbeats read and not yet answered; they skip the queue.
    heartbeats_due: u32,
    /// Set when sessions may be resumed.
    resume: Option<ResumeCommands>,
    limiter: ConnLimiter,
    /// `websocket.timeout`: silence after which the connection closes.
    idle_timeout: Duration,
    /// `websocket.limits.write_timeout`: bounds every write and the goodbye.
    write_timeout: Duration,
    /// Once the node drains, no more frames are read: the client gets the
    /// answers to what it already sent, then a `1001 going away`.
    draining: bool,
}

impl ClientConn {
    /// Opens the session of a client whose handshake (and cipher hello)
    /// succeeded.
    pub(crate) fn open(
        shared: &Arc<NodeState>,
        sessions: Arc<Sessions>,
        settings: &WebsocketConfig,
        ws: WebSocketStream<MaybeTls>,
        cipher: Option<Box<ClientLinkCipher>>,
        addr: SocketAddr,
    ) -> ClientConn {
        let open = sessions.open(shared.shutdown.token());
        shared.metrics.client_accepted();
        let session = open.id.clone();
        tracing::debug!(%addr, %session, "client connected");
        let (sink, source) = ws.split();
        let resume = sessions.resume_enabled().then(|| {
            let config = sessions.config();
            ResumeCommands { resume: config.resume_command, ack: config.ack_command }
        });
        ClientConn {
            shared: Arc::clone(shared),
            sessions,
            addr,
            session,
            open,
            sink,
            source,
            cipher,
            decoder: ClientDecoder::new(settings.max_frame),
            decoded: Vec::new(),
            queue: VecDeque::new(),
            inflight: None,
            inflight_since: None,
            frames_seen: 0,
            heartbeat: proxy_heartbeat(shared),
            heartbeats_due: 0,
            resume,
            limiter: ConnLimiter::new(&settings.limits, Instant::now()),
            idle_timeout: settings.timeout,
            write_timeout: settings.limits.write_timeout,
            draining: shared.cluster.drain.is_draining(),
        }
    }

    /// Serves the client until the connection ends, then says goodbye and
    /// ends or detaches its session.
    pub(crate) async fn serve(&mut self) {
        let Err(end) = self.run().await;
        self.finish(end).await;
    }

    /// The connection's loop: one event at a time, each handled by its own
    /// method. Never returns `Ok`; the `Err` says how the connection ends.
    async fn run(&mut self) -> Result<Infallible, ConnEnd> {
        // The loop's wake-ups are made once, not per turn (a fresh wait
        // would register and drop a waiter every time round), and pinned
        // here so that the struct needs no pinning.
        let idle = tokio::time::sleep(self.idle_timeout);
        // Fires when the bytes/s limit lets reading resume.
        let read_pause = tokio::time::sleep(Duration::ZERO);
        let mut paused = false;
        // Its own reference: the wait must not borrow `self` for the loop.
        let shared = Arc::clone(&self.shared);
        let drain_started = shared.cluster.drain.started();
        let kicked = self.open.kick.clone().cancelled_owned();
        let pending = Arc::clone(&self.open.pending);
        tokio::pin!(idle, read_pause, drain_started, kicked);
        loop {
            self.answer_heartbeats().await?;
            self.start_queued_frames().await?;
            if self.draining && self.inflight.is_none() && self.queue.is_empty() {
                return Err(ConnEnd::draining());
            }
            let reading = self.queue.len() < MAX_QUEUED_FRAMES && !self.draining && !paused;
            tokio::select! {
                biased;
                () = &mut drain_started, if !self.draining => self.draining = true,
                () = &mut kicked => return Err(self.stopped()),
                // Pushes first: a handler's pushes are queued before its
                // reply arrives, and must reach the client before it.
                push = self.open.outbound.recv() => self.on_push(push).await?,
                // Conflated topic messages once the queue is empty: a key
                // waits there only behind its older messages in the queue.
                () = pending.ready.notified() => self.on_conflated().await?,
                outcome = answered(&mut self.inflight), if self.inflight.is_some() => {
                    self.on_answer(outcome).await?;
                }
                () = &mut read_pause, if paused => {
                    paused = false;
                    // The client was not idle: the proxy chose not to read.
                    idle.as_mut().reset(Instant::now() + self.idle_timeout);
                }
                msg = self.source.next(), if reading => {
                    let now = Instant::now();
                    idle.as_mut().reset(now + self.idle_timeout);
                    let pause = self.on_client_message(msg, now)?;
                    if !pause.is_zero() {
                        read_pause.as_mut().reset(now + pause);
                        paused = true;
                    }
                }
                () = &mut idle => return Err(self.on_idle()),
            }
        }
    }

    /// Takes queued frames, in order, until one is in flight: the rate
    /// limit, resume and acks are dealt with here and need no answer.
    async fn start_queued_frames(&mut self) -> Result<(), ConnEnd> {
        while self.inflight.is_none()
            && let Some(frame) = self.queue.pop_front()
        {
            self.start_frame(frame).await?;
        }
        Ok(())
    }

    async fn start_frame(&mut self, frame: ClientFrame) -> Result<(), ConnEnd> {
        self.frames_seen += 1;
        if !self.admit(frame.command).await? {
            return Ok(());
        }
        match self.resume {
            Some(commands) if frame.command == commands.resume => self.on_resume(&frame).await,
            Some(commands) if frame.command == commands.ack => {
                self.on_ack(&frame);
                Ok(())
            }
            _ => {
                let handling = handle_frame(Arc::clone(&self.shared), self.session.clone(), frame);
                self.inflight = Some(Box::pin(handling));
                self.inflight_since = Some(std::time::Instant::now());
                Ok(())
            }
        }
    }

    /// The frame in flight was handled: the session remembers who served
    /// it, and the client gets the reply.
    async fn on_answer(&mut self, outcome: FrameOutcome) -> Result<(), ConnEnd> {
        self.inflight = None;
        // Pushes queued before the answer go first: a frame the proxy
        // answers itself (a subscription) queues its pushes (the snapshot)
        // and answers in the same turn.
        while let Ok(push) = self.open.outbound.try_recv() {
            self.on_push(Some(push)).await?;
        }
        if let Some((node_type, node)) = outcome.served_by {
            self.sessions.remember(self.session.seq(), node_type, node, outcome.stateful);
        }
        if let Some(reply) = outcome.reply {
            self.send(reply).await?;
            self.shared.metrics.sent(Via::Client, outcome.command);
            if let Some(since) = self.inflight_since.take() {
                self.shared.metrics.client_request(since.elapsed());
            }
        }
        Ok(())
    }

    /// A websocket message from the client (`None`: the socket ended).
    /// Returns how long to stop reading for the bytes/s limit (zero to go
    /// on).
    fn on_client_message(
        &mut self,
        msg: Option<Result<Message, WsError>>,
        now: Instant,
    ) -> Result<Duration, ConnEnd> {
        match msg {
            Some(Ok(Message::Binary(data))) => {
                let pause = self.limiter.read_bytes(data.len(), now);
                if !pause.is_zero() {
                    self.shared.metrics.limit_hit("bytes_rate");
                }
                self.decode(data)?;
                Ok(pause)
            }
            Some(Ok(Message::Text(_))) => Err(ConnEnd::text_message()),
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => Ok(Duration::ZERO),
            Some(Ok(Message::Close(_))) => Err(ConnEnd::closed()),
            // The socket ended without a close handshake: the network
            // failed, the client may come back.
            None => Err(ConnEnd::connection_lost()),
            Some(Err(err)) => {
                tracing::debug!(session = %self.session, error = %err, "client connection failed");
                Err(ConnEnd::connection_lost())
            }
        }
    }

    /// Queues the frames of one binary message, opened when the link is
    /// encrypted. Frames complete before a framing error are still handled.
    fn decode(&mut self, data: Bytes) -> Result<(), ConnEnd> {
        let result = self.decoder.feed(data, &mut self.decoded);
        if let Err(err) = cipher::incoming(&mut self.cipher, &mut self.decoded) {
            tracing::debug!(session = %self.session, error = %err, "client frame failed to open");
            return Err(ConnEnd::cipher_broken(&err));
        }
        if let Some(beat) = self.heartbeat {
            let before = self.decoded.len();
            self.decoded.retain(|frame| frame.command != beat);
            let beats = u32::try_from(before - self.decoded.len()).unwrap_or(u32::MAX);
            self.heartbeats_due = self.heartbeats_due.saturating_add(beats);
        }
        self.queue.extend(self.decoded.drain(..));
        if let Err(err) = result {
            if err.close_code() == close::MESSAGE_TOO_BIG {
                self.shared.metrics.limit_hit("max_frame");
            }
            tracing::debug!(session = %self.session, error = %err, "client broke the framing");
            return Err(ConnEnd::bad_framing(&err));
        }
        Ok(())
    }

    /// No message within `websocket.timeout`.
    fn on_idle(&self) -> ConnEnd {
        self.shared.metrics.limit_hit("idle_timeout");
        ConnEnd::idle()
    }

    /// The session's kick token fired: the session table says why.
    fn stopped(&self) -> ConnEnd {
        let stop = self.sessions.stop_reason(self.session.seq(), self.open.generation);
        ConnEnd::stopped(stop, self.sessions.config().kick_command, self.shared.shutdown.is_triggered())
    }

    /// Says goodbye, ends the session (or detaches it for a resume) and
    /// waits briefly for the client's close.
    async fn finish(&mut self, end: ConnEnd) {
        let seq = self.session.seq();
        // Boxed, like every once-per-connection await: the connection's
        // future is as large as its largest await and lives as long as the
        // client does.
        let close_sent = Box::pin(close::farewell(&mut self.sink, end.goodbye, self.write_timeout)).await;
        match self.sessions.end(seq, self.open.generation, end.network_lost, end.reason) {
            Ending::NotOurs => {}
            Ending::Detached { generation } => expire_later(&self.shared, seq, generation),
            Ending::Closed(closed) => announce_closed(&self.shared, &closed),
        }
        if close_sent {
            Box::pin(close::linger(&mut self.source, self.write_timeout)).await;
        }
        tracing::debug!(addr = %self.addr, session = %self.session, reason = end.reason, "client disconnected");
    }
}

/// The answer of the frame in flight; only polled while there is one.
async fn answered(inflight: &mut Option<BoxFuture<'static, FrameOutcome>>) -> FrameOutcome {
    inflight.as_mut().expect("polled only while a frame is in flight").await
}
