//! Users on one proxy: binding a session to a user id, unique login's
//! kicks, pushes to a user, kicks by session or user.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;

use super::record::{Stop, Table, deliver, gone};
use super::table::{Closed, Sessions};
use crate::id::{NodeId, SessionId};
use crate::proto::NodeType;
use crate::session::{LoginNotice, LoginOrder, SessionStats};
use crate::status::Status;

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

impl Sessions {
    /// Pushes to every local session bound to `uid`; returns how many.
    pub(crate) fn push_user(&self, uid: &str, command: i32, body: &Bytes) -> Result<usize, Status> {
        self.check_size(body)?;
        let mut table = self.lock();
        let Table { slots, users, .. } = &mut *table;
        let mut sent = 0;
        for seq in users.sessions(uid) {
            if let Some(slot) = slots.get_mut(seq)
                && deliver(slot, command, body, &self.stats).is_ok()
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
}
