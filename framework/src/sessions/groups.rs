//! Session data, pins set by handlers and group membership of the proxy's
//! sessions, and broadcasts to groups (see `sessions.rs` for the table itself).

use bytes::Bytes;

use super::record::{Table, deliver, gone};
use super::table::Sessions;
use crate::id::NodeId;
use crate::proto::NodeType;
use crate::session::SessionStats;
use crate::status::Status;

impl Sessions {
    /// Pushes to every local member of `group` but the session `except`
    /// (its sequence number); returns how many. The body is shared, never
    /// copied per member.
    pub(crate) fn broadcast(
        &self,
        group: &str,
        command: i32,
        body: &Bytes,
        except: Option<u64>,
    ) -> Result<usize, Status> {
        self.check_size(body)?;
        let mut table = self.lock();
        let Table { slots, groups, .. } = &mut *table;
        let mut sent = 0;
        for seq in groups.members(group).filter(|seq| Some(*seq) != except) {
            if let Some(slot) = slots.get_mut(&seq)
                && deliver(slot, command, body, &self.stats).is_ok()
            {
                sent += 1;
            }
        }
        SessionStats::add(&self.stats.broadcast_frames, sent);
        Ok(sent)
    }

    /// Pins the session to `node` for its type, as if `node` had answered
    /// a stateful message of it (see [`Sessions::remember`]).
    pub(crate) fn pin(&self, seq: u64, node_type: NodeType, node: NodeId) -> Result<(), Status> {
        if !self.lock().slots.contains_key(&seq) {
            return Err(gone());
        }
        self.remember(seq, node_type, node, true);
        Ok(())
    }

    /// The sessions pinned to `node`, for the lost-node notice.
    pub(crate) fn pinned_to(&self, node: &NodeId) -> Vec<u64> {
        let table = self.lock();
        table
            .slots
            .iter()
            .filter(|(_, slot)| slot.pins.iter().any(|p| p.node_id == node.as_str()))
            .map(|(seq, _)| *seq)
            .collect()
    }

    /// Sets (`Some`) or removes (`None`) one session data key.
    pub(crate) fn set_data(&self, seq: u64, key: &str, value: Option<&str>) -> Result<(), Status> {
        let mut table = self.lock();
        let slot = table.slots.get_mut(&seq).ok_or_else(gone)?;
        match value {
            Some(value) => slot
                .data
                .set(key, value, self.cfg.max_data_keys, self.cfg.max_data_bytes)
                .map_err(|e| Status::bad_request(e.to_string())),
            None => {
                slot.data.remove(key);
                Ok(())
            }
        }
    }

    /// Adds session `seq` to `group`.
    pub(crate) fn join(&self, group: &str, seq: u64) -> Result<(), Status> {
        let mut guard = self.lock();
        let table = &mut *guard;
        let slot = table.slots.get_mut(&seq).ok_or_else(gone)?;
        if slot.groups.iter().any(|g| &**g == group) {
            return Ok(());
        }
        if slot.groups.len() >= self.cfg.max_groups_per_session {
            return Err(Status::bad_request(format!(
                "a session may be in at most {} groups",
                self.cfg.max_groups_per_session
            )));
        }
        if let Some(name) = table.groups.join(group, seq) {
            slot.groups.push(name);
        }
        Ok(())
    }

    /// Adds every local session of `uid` to `group`; returns how many.
    pub(crate) fn join_user(&self, group: &str, uid: &str) -> usize {
        let seqs = self.lock().users.sessions(uid).to_vec();
        seqs.into_iter().filter(|seq| self.join(group, *seq).is_ok()).count()
    }

    /// Removes session `seq` from `group`.
    pub(crate) fn leave(&self, group: &str, seq: u64) -> Result<(), Status> {
        let mut guard = self.lock();
        let table = &mut *guard;
        let slot = table.slots.get_mut(&seq).ok_or_else(gone)?;
        slot.groups.retain(|g| &**g != group);
        table.groups.leave(group, seq);
        Ok(())
    }

    /// Removes every local session of `uid` from `group`.
    pub(crate) fn leave_user(&self, group: &str, uid: &str) {
        let seqs = self.lock().users.sessions(uid).to_vec();
        for seq in seqs {
            let _ = self.leave(group, seq);
        }
    }
}
