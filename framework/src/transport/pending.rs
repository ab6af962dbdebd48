//! Request/response correlation: request id → waiting caller.
//!
//! A response may come back on any link (through a route, or directly), so
//! correlation is per node, not per link. A caller that gives up (deadline,
//! or its future dropped) removes its entry, and a response arriving after
//! that is dropped and counted, never delivered to the wrong caller.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::proto::Envelope;

/// Calls of one node waiting for their responses.
#[derive(Debug, Default)]
pub(crate) struct PendingCalls {
    /// By call id (this node's own numbers, so a fast hash).
    waiting: Mutex<HashMap<u64, oneshot::Sender<Envelope>, foldhash::fast::RandomState>>,
}

/// One waiting call; dropping it forgets the call.
#[derive(Debug)]
pub(crate) struct PendingCall {
    id: u64,
    rx: oneshot::Receiver<Envelope>,
    calls: Arc<PendingCalls>,
}

impl PendingCalls {
    /// Registers a new call; its id is never 0 (0 means "no answer expected").
    ///
    /// Ids are random, not a counter: a response is matched by id alone (it
    /// may come back through any route), so an id is what lets an answer
    /// in. A peer that could guess the id of a call waiting for a client
    /// could answer it with its own body; 64 random bits leave it nothing
    /// to guess from.
    pub(crate) fn register(self: &Arc<Self>) -> PendingCall {
        let (tx, rx) = oneshot::channel();
        let mut waiting = self.lock();
        let id = loop {
            let id = rand::random::<u64>();
            if id != 0 && !waiting.contains_key(&id) {
                break id;
            }
        };
        waiting.insert(id, tx);
        drop(waiting);
        PendingCall { id, rx, calls: Arc::clone(self) }
    }

    /// Hands a response to its caller. False if nobody waits for it (late,
    /// or never asked for).
    pub(crate) fn complete(&self, response: Envelope) -> bool {
        let waiter = self.lock().remove(&response.request_id);
        match waiter {
            Some(tx) => tx.send(response).is_ok(),
            None => false,
        }
    }

    /// Calls currently waiting.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<Envelope>, foldhash::fast::RandomState>> {
        // The map is only touched by short, non-panicking critical sections;
        // recover the data if a panic elsewhere poisoned the lock anyway.
        self.waiting.lock().unwrap_or_else(|poison| poison.into_inner())
    }
}

impl PendingCall {
    /// The request id to put in the outgoing envelope.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Waits for the response. `None` if the call was dropped by the table
    /// (cannot happen while this value lives, but stays total).
    pub(crate) async fn response(&mut self) -> Option<Envelope> {
        (&mut self.rx).await.ok()
    }
}

impl Drop for PendingCall {
    fn drop(&mut self) {
        self.calls.lock().remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(id: u64) -> Envelope {
        Envelope { request_id: id, ..Envelope::default() }
    }

    #[tokio::test]
    async fn a_response_reaches_its_caller() {
        let calls = Arc::new(PendingCalls::default());
        let mut a = calls.register();
        let b = calls.register();
        assert_ne!(a.id(), b.id());
        assert!(calls.complete(response(a.id())));
        assert_eq!(a.response().await.unwrap().request_id, a.id());
    }

    #[tokio::test]
    async fn a_late_response_is_refused_once_the_caller_gave_up() {
        let calls = Arc::new(PendingCalls::default());
        let id = calls.register().id();
        assert_eq!(calls.len(), 0, "dropping the call forgets it");
        assert!(!calls.complete(response(id)));
        assert!(!calls.complete(response(0)));
    }

    #[test]
    fn ids_are_not_a_counter() {
        // A peer that saw one id must not be able to name the next one.
        let calls = Arc::new(PendingCalls::default());
        let held: Vec<_> = (0..64).map(|_| calls.register()).collect();
        let ids: Vec<u64> = held.iter().map(PendingCall::id).collect();
        let consecutive = ids.windows(2).filter(|w| w[1].wrapping_sub(w[0]) < 1 << 20).count();
        assert!(consecutive < 2, "ids look sequential: {ids:?}");
        assert!(ids.iter().all(|&id| id != 0));
    }
}
