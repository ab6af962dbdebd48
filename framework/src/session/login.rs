//! The order of one user's logins, for unique login: which binding is the
//! latest, decided the same way on every proxy without trusting clocks.
//!
//! Two proxies' wall clocks cannot order two logins: two logins in the same
//! clock tick, or on hosts whose clocks differ, would keep the wrong one. So
//! each binding is ordered by one **authority** for its user, picked by
//! rendezvous hashing ([`authority`]) among the routes a proxy links to (or,
//! with no route, among the proxies it links to and itself):
//!
//! 1. The binding proxy marks the session [`LoginOrder::Pending`] on that
//!    authority and sends it a claim (a `Bound` notice with stamp 0).
//! 2. The authority stamps claims from its [`LoginClock`] in the order it
//!    sees them (strictly increasing) and sends the stamped notice to every
//!    proxy, the claimant included.
//! 3. A proxy that gets a notice kicks its sessions of that user the notice
//!    supersedes ([`LoginOrder::superseded_by`]) and records the stamp of
//!    its own session.
//!
//! A pending session is newer than any notice from its own authority: the
//! authority sends notices to each proxy over one ordered link, so one that
//! arrives before the session's own stamp was stamped before it. Only when
//! proxies disagree on the authority (their links differ for a moment)
//! does the order fall back to comparing the claim's clock time.

use std::sync::atomic::{AtomicU64, Ordering};

/// A binding the cluster has ordered: the payload of a stamped `Bound`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoginNotice {
    /// The bound session.
    pub(crate) session: String,
    pub(crate) stamp: u64,
    /// The node that stamped it.
    pub(crate) authority: String,
}

/// Where one local binding stands in its user's login order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LoginOrder {
    /// Claimed from `authority`, not stamped yet; `claimed` is this proxy's
    /// clock in microseconds, used only when authorities disagree.
    Pending { authority: String, claimed: u64 },
    /// Stamped by the authority.
    Ordered { stamp: u64, session: String },
}

impl LoginOrder {
    /// Whether the binding `notice` describes is later than this one.
    pub(crate) fn superseded_by(&self, notice: &LoginNotice) -> bool {
        match self {
            // Stamped later by the same authority, or by another one whose
            // clock says later: see the module docs.
            LoginOrder::Pending { authority, claimed } => {
                authority != &notice.authority && *claimed < notice.stamp
            }
            // Stamps of one authority never tie; the session id breaks ties
            // between two authorities the same way everywhere.
            LoginOrder::Ordered { stamp, session } => {
                (*stamp, session.as_str()) < (notice.stamp, notice.session.as_str())
            }
        }
    }
}

/// An authority's stamps: strictly increasing, and close to the wall clock
/// in microseconds so that a new authority (after membership changes)
/// usually stamps after the one it replaces.
#[derive(Debug, Default)]
pub(crate) struct LoginClock {
    last: AtomicU64,
}

impl LoginClock {
    /// The next stamp: later than every stamp this clock gave before.
    pub(crate) fn next(&self) -> u64 {
        let now = now_micros();
        let prev = self
            .last
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |last| Some(now.max(last.saturating_add(1))))
            .unwrap_or_else(|last| last);
        now.max(prev.saturating_add(1))
    }
}

/// Microseconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn now_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// The authority for `uid` among `candidates`: see
/// [`rendezvous`](crate::routing::rendezvous).
pub(crate) fn authority<'a, I>(uid: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    crate::routing::rendezvous(uid, candidates)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(stamp: u64, session: &str, authority: &str) -> LoginNotice {
        LoginNotice { session: session.into(), stamp, authority: authority.into() }
    }

    #[test]
    fn an_ordered_binding_loses_to_a_later_stamp_only() {
        let mine = LoginOrder::Ordered { stamp: 10, session: "p_2".into() };
        assert!(mine.superseded_by(&notice(11, "q_1", "r")));
        assert!(!mine.superseded_by(&notice(9, "q_1", "r")));
        // A tie (two authorities) is broken by the session id, both ways round.
        assert!(mine.superseded_by(&notice(10, "p_3", "r2")));
        let theirs = LoginOrder::Ordered { stamp: 10, session: "p_3".into() };
        assert!(!theirs.superseded_by(&notice(10, "p_2", "r")));
    }

    #[test]
    fn a_pending_binding_is_newer_than_any_notice_of_its_own_authority() {
        let pending = LoginOrder::Pending { authority: "r".into(), claimed: 5 };
        assert!(!pending.superseded_by(&notice(u64::MAX, "q_1", "r")));
        // Another authority: the claim's clock decides.
        assert!(pending.superseded_by(&notice(6, "q_1", "r2")));
        assert!(!pending.superseded_by(&notice(4, "q_1", "r2")));
    }

    #[test]
    fn the_clock_never_repeats_or_goes_back() {
        let clock = LoginClock::default();
        let stamps: Vec<u64> = (0..1000).map(|_| clock.next()).collect();
        assert!(stamps.windows(2).all(|w| w[0] < w[1]));
        // Even when the wall clock is behind the last stamp.
        clock.last.store(u64::MAX - 2, Ordering::Release);
        assert_eq!(clock.next(), u64::MAX - 1);
    }

    #[test]
    fn every_node_picks_the_same_authority_whatever_the_order() {
        let nodes = ["route_a", "route_b", "route_c"];
        for uid in ["u", "alice", "1234", ""] {
            let forward = authority(uid, nodes.iter().copied());
            let backward = authority(uid, nodes.iter().rev().copied());
            assert_eq!(forward, backward);
            assert!(forward.is_some());
        }
        assert_eq!(authority("u", std::iter::empty()), None);
        // Users spread over the candidates.
        let picked: std::collections::HashSet<&str> =
            (0..64).filter_map(|i| authority(&format!("user{i}"), nodes.iter().copied())).collect();
        assert_eq!(picked.len(), 3);
    }

    #[test]
    fn losing_a_candidate_moves_only_its_users() {
        let all = ["a", "b", "c"];
        for i in 0..64 {
            let uid = format!("user{i}");
            let before = authority(&uid, all.iter().copied()).unwrap();
            let after = authority(&uid, all.iter().copied().filter(|n| *n != "c")).unwrap();
            if before != "c" {
                assert_eq!(before, after, "{uid}");
            }
        }
    }
}
