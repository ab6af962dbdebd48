//! Requests this node relayed and whose answers have not come back through
//! it yet, so that losing the next hop fails them at once.
//!
//! A caller waiting on a request it sent through a route cannot see the
//! route's link to the service die; without this ledger it would wait for
//! its call deadline. The route remembers each relayed request by the link
//! (lane) it went out on; when that link drops, it answers every
//! such request with `503` for the caller, right away.
//!
//! Bounded: at most [`MAX_ENTRIES`] requests are tracked (beyond that a
//! request simply falls back to the caller's deadline), and entries whose
//! answer took another path are swept once older than the call deadline.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::proto::{Envelope, Kind};
use crate::transport::LinkId;

/// Most relayed requests tracked at once.
pub(crate) const MAX_ENTRIES: usize = 65_536;

/// Inserts between sweeps of expired entries.
const SWEEP_EVERY: u64 = 1024;

#[derive(Debug)]
struct Entry {
    link: LinkId,
    /// What is needed to answer the caller: kind, command, request id,
    /// session and source of the original request.
    request: Envelope,
    at: Instant,
}

#[derive(Debug, Default)]
struct Inner {
    /// By (hash of the caller's id, request id): request ids are unique per
    /// caller, and a 64-bit hash of 32-hex ids does not collide in practice.
    entries: HashMap<(u64, u64), Entry>,
    inserts: u64,
}

/// The relayed requests of one node.
#[derive(Debug)]
pub(crate) struct RelayLedger {
    inner: Mutex<Inner>,
    hasher: RandomState,
    ttl: Duration,
}

impl RelayLedger {
    /// Entries older than `ttl` (the call deadline) are dropped.
    pub(crate) fn new(ttl: Duration) -> Self {
        RelayLedger { inner: Mutex::default(), hasher: RandomState::new(), ttl }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Short critical sections that never panic; recover from poison anyway.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn key(&self, caller: &[u8], request_id: u64) -> (u64, u64) {
        (self.hasher.hash_one(caller), request_id)
    }

    /// Records a request relayed on `link`. Only requests expecting an
    /// answer are tracked.
    pub(crate) fn relayed(&self, link: LinkId, envelope: &Envelope) {
        if envelope.kind() != Kind::Request || envelope.request_id == 0 {
            return;
        }
        let key = self.key(&envelope.source, envelope.request_id);
        let request = Envelope {
            kind: Kind::Request as i32,
            command: envelope.command,
            request_id: envelope.request_id,
            session_id: envelope.session_id.clone(),
            source: envelope.source.clone(),
            ..Envelope::default()
        };
        let now = Instant::now();
        let mut inner = self.lock();
        inner.inserts += 1;
        if inner.inserts.is_multiple_of(SWEEP_EVERY) || inner.entries.len() >= MAX_ENTRIES {
            let ttl = self.ttl;
            inner.entries.retain(|_, e| now.duration_since(e.at) < ttl);
        }
        if inner.entries.len() < MAX_ENTRIES {
            inner.entries.insert(key, Entry { link, request, at: now });
        }
    }

    /// A response passed through: its request is answered.
    pub(crate) fn answered(&self, response: &Envelope) {
        self.forget(&response.to, response.request_id);
    }

    /// Stops tracking request `request_id` of `caller`.
    pub(crate) fn forget(&self, caller: &[u8], request_id: u64) {
        if request_id == 0 {
            return;
        }
        let key = self.key(caller, request_id);
        self.lock().entries.remove(&key);
    }

    /// `link` closed: the requests relayed on it that are still waiting,
    /// for the caller to be told.
    pub(crate) fn lost(&self, link: LinkId) -> Vec<Envelope> {
        let mut inner = self.lock();
        let ttl = self.ttl;
        let now = Instant::now();
        let mut lost = Vec::new();
        inner.entries.retain(|_, e| {
            if e.link != link {
                return now.duration_since(e.at) < ttl;
            }
            if now.duration_since(e.at) < ttl {
                lost.push(std::mem::take(&mut e.request));
            }
            false
        });
        lost
    }

    /// Requests tracked right now.
    pub(crate) fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(source: &str, id: u64) -> Envelope {
        Envelope {
            kind: Kind::Request as i32,
            request_id: id,
            source: source.to_owned().into(),
            command: 7,
            ..Envelope::default()
        }
    }

    fn response(to: &str, id: u64) -> Envelope {
        Envelope {
            kind: Kind::Response as i32,
            request_id: id,
            to: to.to_owned().into(),
            ..Envelope::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn losing_a_link_returns_only_its_unanswered_requests() {
        let ledger = RelayLedger::new(Duration::from_secs(10));
        let (a, b) = (LinkId(1), LinkId(2));
        ledger.relayed(a, &request("p1", 1));
        ledger.relayed(a, &request("p1", 2));
        ledger.relayed(a, &request("p2", 1));
        ledger.relayed(b, &request("p1", 3));
        ledger.relayed(a, &Envelope { kind: Kind::Notify as i32, ..request("p1", 9) });
        ledger.answered(&response("p1", 2));
        let mut lost: Vec<(bytes::Bytes, u64)> =
            ledger.lost(a).into_iter().map(|e| (e.source, e.request_id)).collect();
        lost.sort();
        assert_eq!(lost, [(bytes::Bytes::from("p1"), 1), (bytes::Bytes::from("p2"), 1)]);
        assert_eq!(ledger.len(), 1, "the request on the other link stays");
        assert!(ledger.lost(a).is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn old_entries_expire_instead_of_failing_late() {
        let ledger = RelayLedger::new(Duration::from_secs(1));
        let peer = LinkId(1);
        ledger.relayed(peer, &request("p", 1));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(ledger.lost(peer).is_empty(), "its caller already gave up");
        assert_eq!(ledger.len(), 0);
    }

    #[test]
    fn the_ledger_is_bounded() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        rt.block_on(async {
            let ledger = RelayLedger::new(Duration::from_secs(60));
            let peer = LinkId(1);
            for id in 1..=(MAX_ENTRIES as u64 + 100) {
                ledger.relayed(peer, &request("p", id));
            }
            assert_eq!(ledger.len(), MAX_ENTRIES);
        });
    }
}
