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

use super::resume::Resumable;
use crate::codec::{CLIENT_HEADER_LEN, ClientFrame};
use crate::config::SessionsConfig;
use crate::id::{NodeId, SessionId, SessionIds};
use crate::limits::SendBudget;
use crate::proto::{NodeType, Pin};
use crate::session::{GroupIndex, LoginNotice, LoginOrder, SessionData, SessionStats, UserIndex};
use crate::status::Status;

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
}

pub(crate) struct Slot {
    /// `None` while detached (awaiting resume).
    pub(crate) conn: Option<Conn>,
    pub(crate) stop: Option<Stop>,
    /// The bound user, and with unique login where this binding stands in
    /// the user's login order.
    pub(crate) uid: Option<(Arc<str>, Option<LoginOrder>)>,
    pub(crate) data: SessionData,
    pub(crate) groups: Vec<Arc<str>>,
    /// Sticky node per node type (see `proxy.rs`).
    pub(crate) pins: Vec<Pin>,
    /// Every node that served the session: they get the close notice.
    pub(crate) served: Vec<(NodeType, NodeId)>,
    /// Set once the client opted in to resume.
    pub(crate) resume: Option<Resumable>,
}

#[derive(Default)]
pub(crate) struct Table {
    pub(crate) slots: HashMap<u64, Slot>,
    pub(crate) users: UserIndex,
    pub(crate) groups: GroupIndex,
}

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

/// The result of binding a session.
#[derive(Debug)]
pub(crate) struct BindOutcome {
    pub(crate) id: SessionId,
    pub(crate) uid: Option<Arc<str>>,
    /// The binding's login order, with unique login.
    pub(crate) order: Option<LoginOrder>,
    pub(crate) previous: Option<Arc<str>>,
    pub(crate) served: Vec<(NodeType, NodeId)>,
    pub(crate) data: HashMap<String, String>,
    /// Older local sessions of the user, closed by unique login.
    pub(crate) closed: Vec<Closed>,
}

pub(crate) fn gone() -> Status {
    Status::not_found("session is gone")
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
        }
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
        (Conn { tx, budget, kick: parent.child_token(), generation }, rx)
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
        };
        let slot = Slot {
            conn: Some(conn),
            stop: None,
            uid: None,
            data: SessionData::default(),
            groups: Vec::new(),
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
        deliver(slot, command, &body)
    }

    /// Pushes to every local session bound to `uid`; returns how many.
    pub(crate) fn push_user(&self, uid: &str, command: i32, body: &Bytes) -> Result<usize, Status> {
        self.check_size(body)?;
        let mut table = self.lock();
        let Table { slots, users, .. } = &mut *table;
        let mut sent = 0;
        for seq in users.sessions(uid) {
            if let Some(slot) = slots.get_mut(seq)
                && deliver(slot, command, body).is_ok()
            {
                sent += 1;
            }
        }
        SessionStats::add(&self.stats.user_push_frames, sent);
        Ok(sent)
    }

    /// Binds session `seq` to `uid` (`None` unbinds). With unique login
    /// (`order` given), the user's other sessions on this proxy are kicked:
    /// binds on one proxy are ordered by this table's lock.
    pub(crate) fn bind(
        &self,
        seq: u64,
        uid: Option<&str>,
        order: Option<LoginOrder>,
    ) -> Result<BindOutcome, Status> {
        let id = self.id(seq);
        let mut guard = self.lock();
        let table = &mut *guard;
        let slot = table.slots.get_mut(&seq).ok_or_else(gone)?;
        let previous = slot.uid.take().map(|(uid, _)| uid);
        if let Some(old) = &previous {
            table.users.remove(old, seq);
        }
        let order = order.filter(|_| self.cfg.unique_login && uid.is_some());
        let uid: Option<Arc<str>> = uid.map(Arc::from);
        if let Some(uid) = &uid {
            slot.uid = Some((Arc::clone(uid), order.clone()));
            table.users.add(uid, seq);
        }
        let (served, data) = (slot.served.clone(), slot.data.to_wire());
        let mut closed = Vec::new();
        if let (Some(uid), Some(_)) = (&uid, &order) {
            let others: Vec<u64> = table.users.sessions(uid).iter().copied().filter(|s| *s != seq).collect();
            for other in others {
                closed.extend(self.kick_locked(table, other, "logged in elsewhere"));
            }
        }
        Ok(BindOutcome { id, uid, order, previous, served, data, closed })
    }

    /// The user's authority ordered a binding of `uid`: records the stamp
    /// of a local session's own binding, and with unique login kicks the
    /// local sessions of `uid` the binding supersedes.
    pub(crate) fn ordered(&self, uid: &str, notice: &LoginNotice) -> Vec<Closed> {
        if !self.cfg.unique_login {
            return Vec::new();
        }
        let mut guard = self.lock();
        let table = &mut *guard;
        let mut older = Vec::new();
        for &seq in table.users.sessions(uid) {
            let Some((_, Some(order))) = table.slots.get_mut(&seq).and_then(|s| s.uid.as_mut()) else {
                continue;
            };
            if self.id(seq).to_string() == notice.session {
                *order = LoginOrder::Ordered { stamp: notice.stamp, session: notice.session.clone() };
            } else if order.superseded_by(notice) {
                older.push(seq);
            }
        }
        older.into_iter().filter_map(|seq| self.kick_locked(table, seq, "logged in elsewhere")).collect()
    }

    /// Kicks session `seq`. Returns the closed session when it was detached
    /// (closed at once); an attached one closes through its connection.
    pub(crate) fn kick(&self, seq: u64, reason: &str) -> Result<Option<Closed>, Status> {
        let mut table = self.lock();
        if !table.slots.contains_key(&seq) {
            return Err(gone());
        }
        Ok(self.kick_locked(&mut table, seq, reason))
    }

    /// Kicks every local session of `uid`.
    pub(crate) fn kick_user(&self, uid: &str, reason: &str) -> Vec<Closed> {
        let mut table = self.lock();
        let seqs = table.users.sessions(uid).to_vec();
        seqs.into_iter().filter_map(|seq| self.kick_locked(&mut table, seq, reason)).collect()
    }

    pub(crate) fn kick_locked(&self, table: &mut Table, seq: u64, reason: &str) -> Option<Closed> {
        let slot = table.slots.get_mut(&seq)?;
        SessionStats::bump(&self.stats.kicks);
        match &slot.conn {
            Some(conn) => {
                slot.stop.get_or_insert_with(|| Stop::Kicked(reason.to_owned()));
                conn.kick.cancel();
                None
            }
            None => self.remove_locked(table, seq, format!("kicked: {reason}")),
        }
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

/// Queues one frame for a session: numbered and kept for replay when the
/// client opted in to resume; written at once when it is connected.
pub(crate) fn deliver(slot: &mut Slot, command: i32, body: &Bytes) -> Result<(), Status> {
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
        return Err(too_slow(slot));
    }
    match conn.tx.try_send(push) {
        Ok(()) => Ok(()),
        Err(mpsc::error::TrySendError::Full(_)) => {
            conn.budget.release(cost);
            Err(too_slow(slot))
        }
        Err(mpsc::error::TrySendError::Closed(_)) => {
            conn.budget.release(cost);
            Err(gone())
        }
    }
}

/// Stops a connection whose queue (frames or bytes) is full.
fn too_slow(slot: &mut Slot) -> Status {
    slot.stop = Some(Stop::TooSlow);
    if let Some(conn) = &slot.conn {
        conn.kick.cancel();
    }
    Status::overloaded("client is not reading its pushes; disconnected")
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
