//! One established, authenticated RPC link and its I/O task.
//!
//! A link is full duplex: whichever side dialed, both may send. One task per
//! link drives a reader and a writer concurrently:
//!
//! * the **writer** takes the first queued envelope, then everything else
//!   already queued (up to `coalesce_bytes`), encodes and seals them into one
//!   buffer and writes it with one call. A busy link pays one syscall per
//!   batch, not per frame; an idle link sends a heartbeat every interval.
//! * the **reader** decodes frames, opens sealed ones, answers waiting calls
//!   and hands everything else to the node. Anything that breaks the
//!   protocol, or silence past `dead_after`, closes the link.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::BytesMut;
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;
use tokio_util::codec::Decoder;
use tokio_util::sync::CancellationToken;

use super::error::{LinkError, SendError};
use super::origin;
use super::pending::PendingCalls;
use super::registry::LinkRegistry;
use super::settings::LinkSettings;
use super::stats::TransportStats;
use crate::codec::{RpcDecoder, RpcEncoder, RpcFrameError};
use crate::id::NodeId;
use crate::proto::{Envelope, Kind, NodeType};
use crate::secure::{Established, Opener, PROTOCOL_VERSION, Sealer, TAG_LEN};
use crate::shutdown::Shutdown;

/// Control command: a heartbeat. Carries nothing; receiving any frame
/// proves the peer alive.
pub(crate) const CONTROL_HEARTBEAT: i32 = 1;

/// Which side opened the TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The peer dialed us.
    Inbound,
    /// We dialed the peer.
    Outbound,
}

/// An envelope received on a link, for the node to route or handle.
#[derive(Debug)]
pub struct Incoming {
    /// The link it arrived on (to answer on the same link if wanted).
    pub link: Link,
    /// The message.
    pub envelope: Envelope,
}

/// Receives what links read, inline in each link's reader task.
///
/// Implementations must not block: they decide and hand work off (queue a
/// frame on another link, spawn a handler). Handling inline keeps every
/// link's frames in order end to end (a push its handler sent before
/// replying reaches the client before the reply) and saves a queue hop.
pub trait InboundHandler: Send + Sync + 'static {
    /// Handles one envelope that is not the answer to a local call or a
    /// heartbeat.
    fn handle(&self, incoming: Incoming);

    /// A link was established (either direction) and is registered. Runs
    /// before the link reads anything, so a frame queued here is the first
    /// the peer receives from us.
    fn link_up(&self, _link: &Link) {}

    /// A link closed and is no longer registered.
    fn link_down(&self, _link: &Link) {}
}

/// Where a link hands what it reads.
pub(crate) enum Inbound {
    /// A bounded queue; the reader waits when it is full, so TCP pushes
    /// back on the peer.
    Channel(mpsc::Sender<Incoming>),
    /// Inline handling.
    Handler(Arc<dyn InboundHandler>),
}

impl std::fmt::Debug for Inbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Inbound::Channel(_) => "Inbound::Channel",
            Inbound::Handler(_) => "Inbound::Handler",
        })
    }
}

/// What a link needs from its node.
#[derive(Debug)]
pub(crate) struct LinkContext {
    pub(crate) self_id: NodeId,
    pub(crate) settings: LinkSettings,
    pub(crate) stats: Arc<TransportStats>,
    pub(crate) pending: Arc<PendingCalls>,
    pub(crate) inbound: Inbound,
    pub(crate) links: Arc<LinkRegistry>,
}

/// A handle to an established link. Cheap to clone.
#[derive(Clone)]
pub struct Link {
    inner: Arc<LinkInner>,
}

struct LinkInner {
    peer_id: NodeId,
    peer_type: NodeType,
    encrypted: bool,
    direction: Direction,
    remote: SocketAddr,
    max_frame: usize,
    tx: mpsc::Sender<Envelope>,
    closed: CancellationToken,
    stats: Arc<TransportStats>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("peer", &self.inner.peer_id)
            .field("peer_type", &self.inner.peer_type)
            .field("direction", &self.inner.direction)
            .field("remote", &self.inner.remote)
            .field("encrypted", &self.inner.encrypted)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Link {
    /// Starts the I/O task of a freshly authenticated connection.
    /// `leftover` holds bytes read past the handshake.
    pub(crate) fn spawn(
        stream: TcpStream,
        established: Established,
        leftover: BytesMut,
        direction: Direction,
        ctx: Arc<LinkContext>,
        shutdown: &Shutdown,
    ) -> Link {
        let remote = stream.peer_addr().unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        // We coalesce writes ourselves; Nagle would only add latency.
        let _ = stream.set_nodelay(true);
        let (tx, rx) = mpsc::channel(ctx.settings.send_queue.max(1));
        let link = Link {
            inner: Arc::new(LinkInner {
                peer_id: established.peer_id,
                peer_type: established.peer_type,
                encrypted: established.sealer.is_some(),
                direction,
                remote,
                max_frame: ctx.settings.max_frame,
                tx,
                closed: shutdown.token().child_token(),
                stats: Arc::clone(&ctx.stats),
            }),
        };
        TransportStats::bump(&ctx.stats.links_established);
        ctx.links.insert(link.clone());
        if let Inbound::Handler(handler) = &ctx.inbound {
            handler.link_up(&link);
        }
        let (read_half, write_half) = stream.into_split();
        let task_link = link.clone();
        shutdown.spawn(async move {
            let reader = read_loop(&task_link, read_half, leftover, established.opener, &ctx);
            let writer = write_loop(&task_link, write_half, rx, established.sealer, &ctx);
            let result = tokio::select! {
                r = reader => r,
                w = writer => w,
                () = task_link.inner.closed.cancelled() => Ok(()),
            };
            // Count first, then announce the close, so that whoever wakes
            // up on the close sees the counters already updated.
            let peer = &task_link.inner.peer_id;
            match result {
                Ok(()) => tracing::info!(%peer, remote = %task_link.inner.remote, "rpc link closed"),
                Err(err) => {
                    if err.is_protocol_violation() {
                        TransportStats::bump(&ctx.stats.protocol_errors);
                    }
                    if matches!(err, LinkError::Silent(_)) {
                        TransportStats::bump(&ctx.stats.heartbeat_timeouts);
                    }
                    tracing::warn!(%peer, remote = %task_link.inner.remote, error = %err, "rpc link lost");
                }
            }
            ctx.links.remove(&task_link);
            task_link.inner.closed.cancel();
            if let Inbound::Handler(handler) = &ctx.inbound {
                handler.link_down(&task_link);
            }
        });
        link
    }

    /// The peer's node id, proven by the handshake.
    pub fn peer_id(&self) -> &NodeId {
        &self.inner.peer_id
    }

    /// The peer's role.
    pub fn peer_type(&self) -> NodeType {
        self.inner.peer_type
    }

    /// Whether frames on this link are sealed.
    pub fn encrypted(&self) -> bool {
        self.inner.encrypted
    }

    /// Who dialed.
    pub fn direction(&self) -> Direction {
        self.inner.direction
    }

    /// The peer's socket address.
    pub fn remote_addr(&self) -> SocketAddr {
        self.inner.remote
    }

    /// True once the link is closed (it never reopens; a peer link dials a
    /// new one).
    pub fn is_closed(&self) -> bool {
        self.inner.closed.is_cancelled()
    }

    /// Resolves when the link closes.
    pub async fn closed(&self) {
        self.inner.closed.cancelled().await;
    }

    /// True if both handles are the same link.
    pub fn same(&self, other: &Link) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Closes the link.
    pub fn close(&self) {
        self.inner.closed.cancel();
    }

    /// Queues an envelope without waiting.
    ///
    /// # Errors
    /// [`SendError::QueueFull`] when the peer is not keeping up (counted as
    /// a queue drop), [`SendError::Closed`], or [`SendError::TooLarge`].
    pub fn send(&self, envelope: Envelope) -> Result<(), SendError> {
        self.send_or_return(envelope).map_err(|(err, _)| err)
    }

    /// As [`Link::send`], handing the envelope back on failure so that a
    /// relaying node can answer its sender without cloning every message
    /// (boxed: only the failure path pays for it).
    pub(crate) fn send_or_return(&self, mut envelope: Envelope) -> Result<(), (SendError, Box<Envelope>)> {
        envelope.version = PROTOCOL_VERSION;
        if envelope.encoded_len() + TAG_LEN > self.inner.max_frame {
            return Err((SendError::TooLarge, Box::new(envelope)));
        }
        self.inner.tx.try_send(envelope).map_err(|err| match err {
            mpsc::error::TrySendError::Full(env) => {
                TransportStats::bump(&self.inner.stats.queue_drops);
                (SendError::QueueFull, Box::new(env))
            }
            mpsc::error::TrySendError::Closed(env) => (SendError::Closed, Box::new(env)),
        })
    }
}

async fn read_loop(
    link: &Link,
    mut reader: OwnedReadHalf,
    mut buf: BytesMut,
    mut opener: Option<Opener>,
    ctx: &LinkContext,
) -> Result<(), LinkError> {
    let mut decoder = RpcDecoder::new(ctx.settings.max_frame);
    let dead_after = ctx.settings.dead_after;
    loop {
        let mut frame = loop {
            if let Some(frame) = decoder.decode(&mut buf)? {
                break frame;
            }
            // Keep a small buffer for an idle link; grow only as a large
            // frame needs it (the decoder reserves what a frame announces).
            buf.reserve(4096);
            match tokio::time::timeout(dead_after, reader.read_buf(&mut buf)).await {
                Err(_) => return Err(LinkError::Silent(dead_after)),
                Ok(Ok(0)) => return Ok(()),
                Ok(Ok(_)) => {}
                Ok(Err(err)) => return Err(err.into()),
            }
        };
        if let Some(opener) = opener.as_mut() {
            opener.open(&mut frame)?;
        }
        let envelope = Envelope::decode(frame.freeze())?;
        if envelope.version != PROTOCOL_VERSION {
            return Err(LinkError::Version(envelope.version));
        }
        if !origin::source_allowed(link.peer_id().as_str(), link.peer_type(), &envelope) {
            TransportStats::bump(&ctx.stats.forged_sources);
            tracing::warn!(peer = %link.peer_id(), source = %envelope.source, command = envelope.command,
                "dropping a message sent in another node's name (only routes relay)");
            continue;
        }
        match envelope.kind() {
            // Heartbeats only prove the peer alive; other control frames
            // (membership, drain notices) are the node's business.
            Kind::Control if envelope.command == CONTROL_HEARTBEAT => {}
            Kind::Response if envelope.to.is_empty() || envelope.to == ctx.self_id.as_str() => {
                if !ctx.pending.complete(envelope) {
                    TransportStats::bump(&ctx.stats.late_responses);
                }
            }
            _ => {
                let incoming = Incoming { link: link.clone(), envelope };
                match &ctx.inbound {
                    Inbound::Handler(handler) => handler.handle(incoming),
                    // Waiting here pushes back on the peer through TCP when
                    // the consumer falls behind, instead of buffering.
                    Inbound::Channel(tx) => {
                        if tx.send(incoming).await.is_err() {
                            return Ok(());
                        }
                    }
                }
            }
        }
    }
}

async fn write_loop(
    link: &Link,
    mut writer: OwnedWriteHalf,
    mut rx: mpsc::Receiver<Envelope>,
    mut sealer: Option<Sealer>,
    ctx: &LinkContext,
) -> Result<(), LinkError> {
    let encoder = RpcEncoder::new(ctx.settings.max_frame);
    let coalesce = ctx.settings.coalesce_bytes.max(1);
    let mut buf = BytesMut::with_capacity(4096);
    let mut heartbeat = tokio::time::interval(ctx.settings.heartbeat_interval);
    heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let beat = Envelope {
        version: PROTOCOL_VERSION,
        kind: Kind::Control as i32,
        command: CONTROL_HEARTBEAT,
        ..Envelope::default()
    };
    let mut encode = |buf: &mut BytesMut, env: &Envelope| {
        encoder.encode_with(buf, |b| {
            let start = b.len();
            env.encode(b)
                .map_err(|_| LinkError::Frame(RpcFrameError::TooLarge { max: ctx.settings.max_frame }))?;
            if let Some(sealer) = sealer.as_mut() {
                sealer.seal(b, start)?;
            }
            Ok::<_, LinkError>(())
        })
    };
    // Made once: a fresh wait per batch would register a waiter each time.
    let closed = link.inner.closed.cancelled();
    tokio::pin!(closed);
    loop {
        let first = tokio::select! {
            biased;
            env = rx.recv() => match env {
                Some(env) => env,
                None => return Ok(()),
            },
            _ = heartbeat.tick() => beat.clone(),
            () = &mut closed => return Ok(()),
        };
        encode(&mut buf, &first)?;
        let mut frames = 1u64;
        while buf.len() < coalesce {
            match rx.try_recv() {
                Ok(env) => {
                    encode(&mut buf, &env)?;
                    frames += 1;
                }
                Err(_) => break,
            }
        }
        writer.write_all(&buf).await?;
        ctx.stats.frames_written.fetch_add(frames, std::sync::atomic::Ordering::Relaxed);
        TransportStats::bump(&ctx.stats.writes);
        buf.clear();
        // A burst may have grown the buffer; give the memory back rather
        // than keep a large buffer on an idle link.
        if buf.capacity() > 4 * coalesce {
            buf = BytesMut::with_capacity(4096);
        }
    }
}
