//! A handle to one established, authenticated RPC link: who the peer is,
//! whether the link is up, and a queue to send on. The task that moves the
//! link's bytes is in `link_task`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use prost::Message;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::error::SendError;
use super::stats::TransportStats;
use crate::codec::PROTOCOL_VERSION;
use crate::id::NodeId;
use crate::proto::{Envelope, NodeType};
use crate::routing::Lane;
use crate::secure::TAG_LEN;

/// Which side opened the TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The peer dialed us.
    Inbound,
    /// We dialed the peer.
    Outbound,
}

/// Names one link among those of its endpoint, for as long as the
/// endpoint lives (ids are never reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkId(pub(crate) u64);

/// A handle to an established link. Cheap to clone.
#[derive(Clone)]
pub struct Link {
    inner: Arc<LinkState>,
}

/// What a link handle shares with its I/O task.
pub(super) struct LinkState {
    pub(super) id: LinkId,
    pub(super) peer_id: NodeId,
    pub(super) peer_type: NodeType,
    pub(super) encrypted: bool,
    pub(super) direction: Direction,
    pub(super) remote: SocketAddr,
    pub(super) lane: Lane,
    pub(super) max_frame: usize,
    /// The writer's queue.
    pub(super) tx: mpsc::Sender<Envelope>,
    /// Cancelled when the link closes, from either side.
    pub(super) closed: CancellationToken,
    /// Set when the link closes. Routing asks "is it closed?" for every
    /// message; a token answers that under a mutex, a flag without one.
    pub(super) down: AtomicBool,
    /// Messages written and read on this link (heartbeats not counted);
    /// only this link's tasks write them, so they share no cache line.
    pub(super) messages_out: AtomicU64,
    pub(super) messages_in: AtomicU64,
    pub(super) stats: Arc<TransportStats>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("peer", &self.inner.peer_id)
            .field("peer_type", &self.inner.peer_type)
            .field("direction", &self.inner.direction)
            .field("remote", &self.inner.remote)
            .field("lane", &self.inner.lane)
            .field("encrypted", &self.inner.encrypted)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Link {
    /// A handle over the state a freshly started link task shares.
    pub(super) fn new(inner: LinkState) -> Link {
        Link { inner: Arc::new(inner) }
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

    /// This link's id among its endpoint's links.
    pub fn id(&self) -> LinkId {
        self.inner.id
    }

    /// Which of the dialer's lanes to this peer the link is.
    pub fn lane(&self) -> Lane {
        self.inner.lane
    }

    /// Messages sent on this link so far (heartbeats not counted).
    pub fn messages_sent(&self) -> u64 {
        self.inner.messages_out.load(Ordering::Relaxed)
    }

    /// Messages received on this link so far (heartbeats not counted).
    pub fn messages_received(&self) -> u64 {
        self.inner.messages_in.load(Ordering::Relaxed)
    }

    /// True once the link is closed (it never reopens; a peer link dials a
    /// new one). On node shutdown this turns true when the link's task has
    /// stopped, a moment after [`Link::closed`] resolves.
    pub fn is_closed(&self) -> bool {
        self.inner.down.load(Ordering::Acquire)
    }

    /// Resolves when the link closes.
    pub async fn closed(&self) {
        self.inner.closed.cancelled().await;
    }

    /// True if both handles are the same link.
    pub fn same(&self, other: &Link) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    pub(super) fn count_sent(&self, messages: u64) {
        self.inner.messages_out.fetch_add(messages, Ordering::Relaxed);
    }

    pub(super) fn count_received(&self) {
        self.inner.messages_in.fetch_add(1, Ordering::Relaxed);
    }

    /// Closes the link.
    pub fn close(&self) {
        self.inner.down.store(true, Ordering::Release);
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
