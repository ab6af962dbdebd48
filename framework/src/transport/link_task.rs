//! The I/O task of one established link.
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

use super::error::LinkError;
use super::inbound::{Inbound, Incoming};
use super::link::{Direction, Link, LinkId, LinkState};
use super::origin;
use super::pending::PendingCalls;
use super::registry::LinkRegistry;
use super::settings::LinkSettings;
use super::stats::TransportStats;
use crate::codec::{PROTOCOL_VERSION, RpcDecoder, RpcEncoder, RpcFrameError};
use crate::id::NodeId;
use crate::proto::{Envelope, Kind};
use crate::secure::{Established, Opener, Sealer};
use crate::shutdown::Shutdown;

/// Control command: a heartbeat. Carries nothing; receiving any frame
/// proves the peer alive.
pub(crate) const CONTROL_HEARTBEAT: i32 = 1;

/// What a link needs from its node.
#[derive(Debug)]
pub(crate) struct LinkContext {
    pub(crate) self_id: NodeId,
    pub(crate) settings: LinkSettings,
    pub(crate) stats: Arc<TransportStats>,
    pub(crate) pending: Arc<PendingCalls>,
    pub(crate) inbound: Inbound,
    pub(crate) links: Arc<LinkRegistry>,
    /// The id of the next link made.
    pub(crate) next_link: std::sync::atomic::AtomicU64,
}

/// Starts the I/O task of a freshly authenticated connection and returns
/// the link's handle. `leftover` holds bytes read past the handshake.
pub(super) fn start(
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
    let id = LinkId(ctx.next_link.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let link = Link::new(LinkState {
        id,
        peer_id: established.peer_id,
        peer_type: established.peer_type,
        encrypted: established.sealer.is_some(),
        direction,
        remote,
        lane: established.lane,
        max_frame: ctx.settings.max_frame,
        tx,
        closed: shutdown.token().child_token(),
        down: std::sync::atomic::AtomicBool::new(false),
        messages_out: std::sync::atomic::AtomicU64::new(0),
        messages_in: std::sync::atomic::AtomicU64::new(0),
        stats: Arc::clone(&ctx.stats),
    });
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
            () = task_link.closed() => Ok(()),
        };
        // Count first, then announce the close, so that whoever wakes
        // up on the close sees the counters already updated.
        let peer = task_link.peer_id();
        let lane = task_link.lane().index;
        match result {
            Ok(()) => tracing::info!(%peer, lane, remote = %task_link.remote_addr(), "rpc link closed"),
            Err(err) => {
                if err.is_protocol_violation() {
                    TransportStats::bump(&ctx.stats.protocol_errors);
                }
                if matches!(err, LinkError::Silent(_)) {
                    TransportStats::bump(&ctx.stats.heartbeat_timeouts);
                }
                tracing::warn!(%peer, lane, remote = %task_link.remote_addr(), error = %err, "rpc link lost");
            }
        }
        // Closed before it leaves the registry, so that nothing picks it
        // between the two.
        task_link.close();
        ctx.links.remove(&task_link);
        if let Inbound::Handler(handler) = &ctx.inbound {
            handler.link_down(&task_link);
        }
    });
    link
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
            tracing::warn!(peer = %link.peer_id(), source = %String::from_utf8_lossy(&envelope.source), command = envelope.command,
                "dropping a message sent in another node's name (only routes relay)");
            continue;
        }
        // Heartbeats only prove the peer alive; other control frames
        // (membership, drain notices) are the node's business.
        if envelope.kind() == Kind::Control && envelope.command == CONTROL_HEARTBEAT {
            continue;
        }
        link.count_received();
        match envelope.kind() {
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
    let closed = link.closed();
    tokio::pin!(closed);
    loop {
        let (first, messages) = tokio::select! {
            biased;
            env = rx.recv() => match env {
                Some(env) => (env, 1),
                None => return Ok(()),
            },
            _ = heartbeat.tick() => (beat.clone(), 0),
            () = &mut closed => return Ok(()),
        };
        encode(&mut buf, &first)?;
        let mut frames = 1u64;
        let mut messages: u64 = messages;
        while buf.len() < coalesce {
            match rx.try_recv() {
                Ok(env) => {
                    encode(&mut buf, &env)?;
                    frames += 1;
                    messages += 1;
                }
                Err(_) => break,
            }
        }
        writer.write_all(&buf).await?;
        ctx.stats.frames_written.fetch_add(frames, std::sync::atomic::Ordering::Relaxed);
        link.count_sent(messages);
        TransportStats::bump(&ctx.stats.writes);
        buf.clear();
        // A burst may have grown the buffer; give the memory back rather
        // than keep a large buffer on an idle link.
        if buf.capacity() > 4 * coalesce {
            buf = BytesMut::with_capacity(4096);
        }
    }
}
