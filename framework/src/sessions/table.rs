//! The client sessions of a proxy and everything the proxy keeps for them:
//! where pushes go, the bound user, session data, groups, pins, and for
//! clients that opted in, the replay buffer behind resume.
//!
//! A session lives as long as its websocket, plus, for a client that opted
//! in to resume and lost its connection, a grace period in which it can
//! take the session back (`sessions_resume.rs`; data and groups are in
//! `sessions_groups.rs`). Its entry, and its place
//! in the user and group indexes, go when it ends, so nothing accumulates
//! (obespoir's session cache only ever grew, spec §12 bug 18).
//!
//! One lock guards the table. Every operation under it is a few hash
//! lookups and non-blocking queue writes; frames are encoded by each
//! connection's own task, so even a broadcast to 10 000 members holds the
//! lock only for 10 000 `try_send`s.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::record::{Conn, Outbound, PendingTopics, SessionRecord, Stop, Table, deliver, gone};

use crate::codec::CLIENT_HEADER_LEN;
use crate::config::{SessionsConfig, TopicsConfig};
use crate::id::{NodeId, SessionId, SessionIds};
use crate::limits::SendBudget;
use crate::proto::{NodeType, Pin};
use crate::session::{SessionData, SessionStats};
use crate::status::Status;
use crate::topic::TopicStats;

/// Sessions of one proxy, by sequence number.
pub(crate) struct Sessions {
    pub(crate) proxy: NodeId,
    ids: SessionIds,
    pub(crate) table: Mutex<Table>,
    queue: usize,
    /// Bytes of pushes queued per connection at most.
    send_bytes: usize,
    /// Bytes of pushes queued for all connections.
    buffered: Arc<AtomicUsize>,
    max_frame: usize,
    pub(crate) cfg: SessionsConfig,
    generations: AtomicU64,
    pub(crate) stats: Arc<SessionStats>,
    /// `topics`: bounds and policies of the topics held here.
    pub(crate) topics_cfg: TopicsConfig,
    pub(crate) topic_stats: Arc<TopicStats>,
}

/// What a connection task gets for its session.
pub(crate) struct OpenSession {
    pub(crate) id: SessionId,
    pub(crate) outbound: mpsc::Receiver<Outbound>,
    /// Give back a push's [`Outbound::cost`] once it is taken off
    /// `outbound`.
    pub(crate) budget: Arc<SendBudget>,
    pub(crate) kick: CancellationToken,
    pub(crate) generation: u64,
    /// Conflated topic messages waiting for the connection.
    pub(crate) pending: Arc<PendingTopics>,
}

/// A session that ended for good: the proxy sends its close notice.
#[derive(Debug)]
pub(crate) struct Closed {
    pub(crate) id: SessionId,
    pub(crate) uid: Option<Arc<str>>,
    pub(crate) data: HashMap<String, String>,
    pub(crate) served: Vec<(NodeType, NodeId)>,
    pub(crate) reason: String,
}

/// What a forwarded request carries from its session.
#[derive(Debug, Default)]
pub(crate) struct RequestInfo {
    pub(crate) pins: Vec<Pin>,
    pub(crate) uid: Option<Arc<str>>,
    pub(crate) data: HashMap<String, String>,
}

impl Sessions {
    pub(crate) fn new(
        proxy: NodeId,
        queue: usize,
        max_frame: usize,
        cfg: SessionsConfig,
        stats: Arc<SessionStats>,
    ) -> Sessions {
        Sessions::with_ids(SessionIds::new(proxy.clone()), proxy, queue, max_frame, cfg, stats)
    }

    /// [`Sessions::new`] with a given id allocator, so unit tests can count
    /// from 1.
    pub(crate) fn with_ids(
        ids: SessionIds,
        proxy: NodeId,
        queue: usize,
        max_frame: usize,
        cfg: SessionsConfig,
        stats: Arc<SessionStats>,
    ) -> Sessions {
        Sessions {
            ids,
            proxy,
            table: Mutex::default(),
            queue: queue.max(1),
            // As many bytes as the frame queue can hold, until the node
            // sets `websocket.limits.send_queue_bytes`.
            send_bytes: queue.max(1).saturating_mul(max_frame),
            buffered: Arc::default(),
            max_frame,
            cfg,
            generations: AtomicU64::new(1),
            stats,
            topics_cfg: TopicsConfig::default(),
            topic_stats: Arc::default(),
        }
    }

    /// Sets the topic bounds and policies, and where topic counters go.
    pub(crate) fn with_topics(mut self, cfg: TopicsConfig, stats: Arc<TopicStats>) -> Sessions {
        self.topics_cfg = cfg;
        self.topic_stats = stats;
        self
    }

    /// Bounds the bytes of pushes queued per connection.
    pub(crate) fn with_send_bytes(mut self, limit: usize) -> Sessions {
        self.send_bytes = limit;
        self
    }

    /// Bytes of pushes queued for all this proxy's connections.
    pub(crate) fn buffered_bytes(&self) -> usize {
        self.buffered.load(Ordering::Relaxed)
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn config(&self) -> &SessionsConfig {
        &self.cfg
    }

    pub(crate) fn id(&self, seq: u64) -> SessionId {
        SessionId::new(self.proxy.clone(), seq)
    }

    /// A number never handed out before, to tell connections (and
    /// detachments) of one session apart.
    pub(crate) fn next_generation(&self) -> u64 {
        self.generations.fetch_add(1, Ordering::Relaxed)
    }

    /// A fresh connection handle (queue, kick token, generation).
    fn connection(&self, parent: &CancellationToken) -> (Conn, mpsc::Receiver<Outbound>) {
        let (tx, rx) = mpsc::channel(self.queue);
        let generation = self.next_generation();
        let budget = Arc::new(SendBudget::new(self.send_bytes, Arc::clone(&self.buffered)));
        let pending = Arc::new(PendingTopics::new(self.topics_cfg.max_pending_keys));
        (Conn { tx, budget, kick: parent.child_token(), generation, pending }, rx)
    }

    /// Opens a session for a connection whose websocket handshake succeeded.
    pub(crate) fn open(&self, parent: &CancellationToken) -> OpenSession {
        let id = self.ids.next_id();
        let (conn, outbound) = self.connection(parent);
        let open = OpenSession {
            id: id.clone(),
            outbound,
            budget: Arc::clone(&conn.budget),
            kick: conn.kick.clone(),
            generation: conn.generation,
            pending: Arc::clone(&conn.pending),
        };
        let slot = SessionRecord {
            conn: Some(conn),
            stop: None,
            uid: None,
            data: SessionData::default(),
            groups: Vec::new(),
            topics: Vec::new(),
            pins: Vec::new(),
            served: Vec::new(),
            resume: None,
        };
        self.lock().slots.insert(id.seq(), slot);
        open
    }

    /// Live sessions (detached ones included).
    pub(crate) fn len(&self) -> usize {
        self.lock().slots.len()
    }

    /// Live sessions, users bound to at least one of them, and groups with
    /// at least one member here: one lock, so the three agree.
    pub(crate) fn counts(&self) -> (usize, usize, usize) {
        let table = self.lock();
        (table.slots.len(), table.users.len(), table.groups.len())
    }

    /// What a request of session `seq` carries: pins (stateful requests
    /// only), the bound user and the session data.
    pub(crate) fn request_info(&self, seq: u64, stateful: bool) -> RequestInfo {
        let table = self.lock();
        let Some(slot) = table.slots.get(&seq) else { return RequestInfo::default() };
        RequestInfo {
            pins: if stateful { slot.pins.clone() } else { Vec::new() },
            uid: slot.uid.as_ref().map(|(uid, _)| Arc::clone(uid)),
            data: slot.data.to_wire(),
        }
    }

    /// Records which node served the session: every such node gets the
    /// close notice, and after a stateful message the session sticks to it.
    pub(crate) fn remember(&self, seq: u64, node_type: NodeType, node: NodeId, stateful: bool) {
        let mut table = self.lock();
        let Some(slot) = table.slots.get_mut(&seq) else { return };
        if stateful {
            match slot.pins.iter_mut().find(|p| p.node_type == node_type as i32) {
                Some(pin) if pin.node_id == node.as_str() => {}
                Some(pin) => pin.node_id = node.to_string(),
                None => slot.pins.push(Pin { node_type: node_type as i32, node_id: node.to_string() }),
            }
        }
        if !slot.served.iter().any(|(_, n)| n == &node) {
            slot.served.push((node_type, node));
        }
    }

    pub(crate) fn check_size(&self, body: &Bytes) -> Result<(), Status> {
        if body.len() + CLIENT_HEADER_LEN > self.max_frame {
            return Err(Status::bad_request(format!(
                "push of {} bytes does not fit a client frame (max {})",
                body.len(),
                self.max_frame
            )));
        }
        Ok(())
    }

    /// Queues a push for the client of session `seq`, as one frame.
    ///
    /// A client whose queue is full is not keeping up: it is disconnected
    /// rather than allowed to grow the proxy's memory.
    pub(crate) fn push(&self, seq: u64, command: i32, body: Bytes) -> Result<(), Status> {
        self.check_size(&body)?;
        let mut table = self.lock();
        let slot = table.slots.get_mut(&seq).ok_or_else(gone)?;
        deliver(slot, command, &body, &self.stats)
    }

    /// Removes a session for good, from every index.
    pub(crate) fn remove_locked(&self, table: &mut Table, seq: u64, reason: String) -> Option<Closed> {
        let slot = table.slots.remove(&seq)?;
        if let Some((uid, _)) = &slot.uid {
            table.users.remove(uid, seq);
        }
        for group in &slot.groups {
            table.groups.leave(group, seq);
        }
        for topic in &slot.topics {
            table.topics.unsubscribe(topic, seq);
        }
        Some(Closed {
            id: self.id(seq),
            uid: slot.uid.map(|(uid, _)| uid),
            data: slot.data.to_wire(),
            served: slot.served,
            reason,
        })
    }

    /// Why connection `generation` of session `seq` was told to stop.
    pub(crate) fn stop_reason(&self, seq: u64, generation: u64) -> Option<Stop> {
        let table = self.lock();
        let slot = table.slots.get(&seq)?;
        match &slot.conn {
            Some(conn) if conn.generation == generation => slot.stop.clone(),
            // The session moved to another connection, or was closed.
            _ => Some(Stop::Replaced),
        }
    }
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
