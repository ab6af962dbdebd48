//! Who is where on one proxy: user id → sessions and group → sessions.
//!
//! Both indexes hold only this proxy's live sessions; a session leaves them
//! when it closes, so they never hold more entries than sessions times the
//! per-session group limit.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Longest user id, in bytes.
pub(crate) const MAX_UID_LEN: usize = 128;
/// Longest group name, in bytes.
pub(crate) const MAX_GROUP_LEN: usize = 128;
/// Longest kick reason, in bytes (longer ones are cut).
pub(crate) const MAX_REASON_LEN: usize = 256;

/// Local sessions by user id. A user usually has one session; without
/// unique login it may have one per device.
#[derive(Debug, Default)]
pub(crate) struct UserIndex {
    by_uid: HashMap<Arc<str>, Vec<u64>>,
}

impl UserIndex {
    pub(crate) fn add(&mut self, uid: &Arc<str>, seq: u64) {
        let seqs = self.by_uid.entry(Arc::clone(uid)).or_default();
        if !seqs.contains(&seq) {
            seqs.push(seq);
        }
    }

    pub(crate) fn remove(&mut self, uid: &str, seq: u64) {
        if let Some(seqs) = self.by_uid.get_mut(uid) {
            seqs.retain(|s| *s != seq);
            if seqs.is_empty() {
                self.by_uid.remove(uid);
            }
        }
    }

    /// The local sessions bound to `uid`.
    pub(crate) fn sessions(&self, uid: &str) -> &[u64] {
        self.by_uid.get(uid).map_or(&[], Vec::as_slice)
    }

    /// Users with at least one session here.
    pub(crate) fn len(&self) -> usize {
        self.by_uid.len()
    }
}

/// Local members of each group.
#[derive(Debug, Default)]
pub(crate) struct GroupIndex {
    members: HashMap<Arc<str>, HashSet<u64>>,
}

impl GroupIndex {
    /// Adds `seq` to `group`; returns the shared name to remember on the
    /// session (for cleanup) if it was not a member yet.
    pub(crate) fn join(&mut self, group: &str, seq: u64) -> Option<Arc<str>> {
        if let Some((name, members)) = self.members.get_key_value(group) {
            if members.contains(&seq) {
                return None;
            }
            let name = Arc::clone(name);
            self.members.get_mut(group)?.insert(seq);
            return Some(name);
        }
        let name: Arc<str> = Arc::from(group);
        self.members.insert(Arc::clone(&name), HashSet::from([seq]));
        Some(name)
    }

    /// Removes `seq` from `group`; true if it was a member. An empty group
    /// is forgotten.
    pub(crate) fn leave(&mut self, group: &str, seq: u64) -> bool {
        let Some(members) = self.members.get_mut(group) else { return false };
        let was = members.remove(&seq);
        if members.is_empty() {
            self.members.remove(group);
        }
        was
    }

    /// The local members of `group`.
    pub(crate) fn members(&self, group: &str) -> impl Iterator<Item = u64> + '_ {
        self.members.get(group).into_iter().flatten().copied()
    }

    /// Groups with at least one member here.
    pub(crate) fn len(&self) -> usize {
        self.members.len()
    }
}

/// Checks a user id before it is sent anywhere.
pub(crate) fn check_uid(uid: &str) -> Result<(), String> {
    if uid.is_empty() || uid.len() > MAX_UID_LEN {
        Err(format!("user ids are 1 to {MAX_UID_LEN} bytes"))
    } else {
        Ok(())
    }
}

/// Checks a group name before it is sent anywhere.
pub(crate) fn check_group(group: &str) -> Result<(), String> {
    if group.is_empty() || group.len() > MAX_GROUP_LEN {
        Err(format!("group names are 1 to {MAX_GROUP_LEN} bytes"))
    } else {
        Ok(())
    }
}

/// A kick reason cut to [`MAX_REASON_LEN`] bytes on a character boundary.
pub(crate) fn clip_reason(reason: &str) -> String {
    let mut end = reason.len().min(MAX_REASON_LEN);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_map_to_their_sessions_and_vanish_with_the_last_one() {
        let mut users = UserIndex::default();
        let alice: Arc<str> = Arc::from("alice");
        users.add(&alice, 1);
        users.add(&alice, 2);
        users.add(&alice, 2);
        assert_eq!(users.sessions("alice"), [1, 2]);
        users.remove("alice", 1);
        users.remove("alice", 9);
        assert_eq!(users.sessions("alice"), [2]);
        users.remove("alice", 2);
        assert!(users.sessions("alice").is_empty());
        assert_eq!(users.len(), 0);
    }

    #[test]
    fn groups_share_one_name_and_empty_groups_are_forgotten() {
        let mut groups = GroupIndex::default();
        let a = groups.join("quotes", 1).unwrap();
        let b = groups.join("quotes", 2).unwrap();
        assert!(Arc::ptr_eq(&a, &b), "one allocation per group name");
        assert!(groups.join("quotes", 2).is_none(), "joining twice is a no-op");
        let mut members: Vec<u64> = groups.members("quotes").collect();
        members.sort_unstable();
        assert_eq!(members, [1, 2]);
        assert!(groups.leave("quotes", 1));
        assert!(!groups.leave("quotes", 1));
        assert!(groups.leave("quotes", 2));
        assert_eq!(groups.len(), 0);
        assert_eq!(groups.members("quotes").count(), 0);
    }

    #[test]
    fn names_are_checked_and_reasons_clipped_on_char_boundaries() {
        assert!(check_uid("").is_err() && check_uid(&"u".repeat(MAX_UID_LEN + 1)).is_err());
        assert!(check_uid("42").is_ok());
        assert!(check_group("").is_err() && check_group("room:1").is_ok());
        let long = "é".repeat(MAX_REASON_LEN);
        let clipped = clip_reason(&long);
        assert!(clipped.len() <= MAX_REASON_LEN && clipped.chars().all(|c| c == 'é'));
    }
}
