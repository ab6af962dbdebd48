//! Who is logged in on which session, for this betting node.
//!
//! Stateful commands stick to one service node, so the node that handled a
//! session's login sees all of its later commands. The uid → sessions side
//! is what pushes need. This is the seam to replace with the framework's
//! own session binding once it has one: nothing else in the app touches
//! these maps.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use espoir::SessionId;

/// Sessions by user and users by session.
#[derive(Debug, Default)]
pub struct Presence {
    maps: Mutex<Maps>,
}

#[derive(Debug, Default)]
struct Maps {
    user_of: HashMap<SessionId, u64>,
    sessions_of: HashMap<u64, Vec<SessionId>>,
}

impl Presence {
    fn maps(&self) -> MutexGuard<'_, Maps> {
        // Every operation leaves both maps consistent before it can panic.
        self.maps.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records that `session` is logged in as `uid` (replacing an earlier
    /// login of the same session).
    pub fn bind(&self, session: &SessionId, uid: u64) {
        let mut maps = self.maps();
        if let Some(previous) = maps.user_of.insert(session.clone(), uid) {
            maps.remove_session(previous, session);
        }
        maps.sessions_of.entry(uid).or_default().push(session.clone());
    }

    /// The user logged in on `session`.
    pub fn user_of(&self, session: &SessionId) -> Option<u64> {
        self.maps().user_of.get(session).copied()
    }

    /// Every session of `uid` on this node.
    pub fn sessions_of(&self, uid: u64) -> Vec<SessionId> {
        self.maps().sessions_of.get(&uid).cloned().unwrap_or_default()
    }

    /// Forgets `session` (the client went offline); returns its user.
    pub fn unbind(&self, session: &SessionId) -> Option<u64> {
        let mut maps = self.maps();
        let uid = maps.user_of.remove(session)?;
        maps.remove_session(uid, session);
        Some(uid)
    }

    /// Logged-in sessions.
    pub fn len(&self) -> usize {
        self.maps().user_of.len()
    }

    /// True when nobody is logged in.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Maps {
    fn remove_session(&mut self, uid: u64, session: &SessionId) {
        if let Some(list) = self.sessions_of.get_mut(&uid) {
            list.retain(|s| s != session);
            if list.is_empty() {
                self.sessions_of.remove(&uid);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use espoir::NodeId;

    use super::*;

    fn session(seq: u64) -> SessionId {
        SessionId::new(NodeId::of("127.0.0.1", 1), seq)
    }

    #[test]
    fn sessions_bind_rebind_and_unbind_without_leaving_anything_behind() {
        let p = Presence::default();
        p.bind(&session(1), 10);
        p.bind(&session(2), 10);
        p.bind(&session(3), 20);
        assert_eq!(p.sessions_of(10), vec![session(1), session(2)]);
        assert_eq!(p.user_of(&session(3)), Some(20));
        p.bind(&session(2), 20); // logs in again as someone else
        assert_eq!(p.sessions_of(10), vec![session(1)]);
        assert_eq!(p.sessions_of(20), vec![session(3), session(2)]);
        assert_eq!(p.unbind(&session(1)), Some(10));
        assert_eq!(p.unbind(&session(1)), None);
        assert!(p.sessions_of(10).is_empty());
        p.unbind(&session(2));
        p.unbind(&session(3));
        assert!(p.is_empty());
        assert!(p.maps().sessions_of.is_empty(), "no empty lists left over");
    }
}
