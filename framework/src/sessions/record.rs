//! What a proxy keeps for one session ([`SessionRecord`]) and the table of
//! them, and how a frame is queued for a session ([`deliver`]): numbered
//! for replay when the client opted in to resume, bounded by its queue and
//! byte budget.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::codec::{CLIENT_HEADER_LEN, ClientFrame};
use crate::id::NodeId;
use crate::limits::SendBudget;
use crate::proto::{NodeType, Pin};
use crate::session::{
    GroupIndex, LoginOrder, ReplayBuffer, ResumeSecret, SessionData, SessionStats, UserIndex,
};
use crate::status::Status;
use crate::topic::{Conflator, TopicIndex};

/// A frame waiting to be written to a client; its connection's task
/// encodes it. `seq` (0 when the session did not opt in to resume) goes in
/// the header's `version` field.
#[derive(Debug, Clone)]
pub(crate) struct Outbound {
    pub(crate) command: i32,
    pub(crate) seq: i32,
    pub(crate) body: Bytes,
}

impl Outbound {
    /// Bytes it holds while queued, as counted against the send budget.
    pub(crate) fn cost(&self) -> usize {
        CLIENT_HEADER_LEN + self.body.len()
    }

    /// The frame as one websocket message.
    pub(crate) fn encode(&self) -> Bytes {
        let frame = ClientFrame { command: self.command, version: self.seq, body: self.body.clone() };
        // Sizes were checked against max_frame when the push was accepted.
        frame.encode(usize::MAX).unwrap_or_default()
    }
}

/// Why a connection was told to stop (its kick token cancelled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Kicked, with the reason to tell the client.
    Kicked(String),
    /// Its push queue was full.
    TooSlow,
    /// A reconnecting client resumed the session on another connection.
    Replaced,
}

/// The connection currently attached to a session.
pub(crate) struct Conn {
    pub(crate) tx: mpsc::Sender<Outbound>,
    /// Bytes queued in `tx`, bounded by `websocket.limits.send_queue_bytes`.
    pub(crate) budget: Arc<SendBudget>,
    pub(crate) kick: CancellationToken,
    /// Tells this connection from a later one of the same session.
    pub(crate) generation: u64,
    /// Topic messages waiting, conflated, for a connection that reads
    /// slower than its topics are published (`sessions/topics.rs`).
    pub(crate) pending: Arc<PendingTopics>,
}

/// A connection's conflation map, shared by the session table (which
/// fills it when the push queue is full) and the connection's task (which
/// drains it when woken).
pub(crate) struct PendingTopics {
    pub(crate) map: std::sync::Mutex<Conflator>,
    pub(crate) ready: tokio::sync::Notify,
}

impl PendingTopics {
    pub(crate) fn new(max_keys: usize) -> PendingTopics {
        PendingTopics {
            map: std::sync::Mutex::new(Conflator::new(max_keys)),
            ready: tokio::sync::Notify::new(),
        }
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Conflator> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What the proxy keeps for one session.
pub(crate) struct SessionRecord {
    /// `None` while detached (awaiting resume).
    pub(crate) conn: Option<Conn>,
    pub(crate) stop: Option<Stop>,
    /// The bound user, and with unique login where this binding stands in
    /// the user's login order.
    pub(crate) uid: Option<(Arc<str>, Option<LoginOrder>)>,
    pub(crate) data: SessionData,
    pub(crate) groups: Vec<Arc<str>>,
    /// The topics it subscribes to (bounded by
    /// `topics.max_topics_per_session`).
    pub(crate) topics: Vec<Arc<str>>,
    /// Sticky node per node type (see `proxy.rs`).
    pub(crate) pins: Vec<Pin>,
    /// Every node that served the session: they get the close notice.
    pub(crate) served: Vec<(NodeType, NodeId)>,
    /// Set once the client opted in to resume.
    pub(crate) resume: Option<Resumable>,
}

#[derive(Default)]
pub(crate) struct Table {
    /// By session number (this proxy's own counter, so a fast hash).
    pub(crate) slots: HashMap<u64, SessionRecord, foldhash::fast::RandomState>,
    pub(crate) users: UserIndex,
    pub(crate) groups: GroupIndex,
    pub(crate) topics: TopicIndex,
}

/// Resume state of a session that opted in.
pub(crate) struct Resumable {
    pub(crate) secret: ResumeSecret,
    pub(crate) replay: ReplayBuffer,
    /// Set while detached: tells this detachment's timer from a later one.
    pub(crate) detached: Option<u64>,
}

pub(crate) fn gone() -> Status {
    Status::not_found("session is gone")
}

/// Queues one frame for a session: numbered and kept for replay when the
/// client opted in to resume; written at once when it is connected.
/// A client that cannot take the push is disconnected and counted in
/// `stats.slow_disconnects` (`espoir_client_queue_drops_total`).
pub(crate) fn deliver(
    slot: &mut SessionRecord,
    command: i32,
    body: &Bytes,
    stats: &SessionStats,
) -> Result<(), Status> {
    let seq = match slot.resume.as_mut() {
        Some(resume) => resume.replay.record(command, body.clone()).unwrap_or(0),
        None => 0,
    };
    let Some(conn) = &slot.conn else {
        // Detached: kept in the replay buffer for the client's return.
        return if slot.resume.is_some() { Ok(()) } else { Err(gone()) };
    };
    if slot.stop.is_some() {
        return Err(Status::not_found("session is closing"));
    }
    let push = Outbound { command, seq, body: body.clone() };
    let cost = push.cost();
    if !conn.budget.reserve(cost) {
        return Err(too_slow(slot, stats));
    }
    match conn.tx.try_send(push) {
        Ok(()) => Ok(()),
        Err(mpsc::error::TrySendError::Full(_)) => {
            conn.budget.release(cost);
            Err(too_slow(slot, stats))
        }
        Err(mpsc::error::TrySendError::Closed(_)) => {
            conn.budget.release(cost);
            Err(gone())
        }
    }
}

/// Stops a connection whose queue (frames or bytes) is full.
pub(crate) fn too_slow(slot: &mut SessionRecord, stats: &SessionStats) -> Status {
    slot.stop = Some(Stop::TooSlow);
    SessionStats::bump(&stats.slow_disconnects);
    if let Some(conn) = &slot.conn {
        conn.kick.cancel();
    }
    Status::overloaded("client is not reading its pushes; disconnected")
}
