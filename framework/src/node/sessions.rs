//! The client sessions of a proxy: where pushes for a session go.
//!
//! A session lives exactly as long as its websocket. Its entry is removed
//! when the connection ends, so nothing accumulates (obespoir's session
//! cache only ever grew, spec §12 bug 18).

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::codec::ClientFrame;
use crate::id::{NodeId, SessionId, SessionIds};
use crate::status::{Code, Status};

struct Slot {
    outbound: mpsc::Sender<Bytes>,
    kick: CancellationToken,
}

/// Sessions of one proxy, by sequence number.
pub(crate) struct Sessions {
    ids: SessionIds,
    slots: Mutex<HashMap<u64, Slot>>,
    queue: usize,
    max_frame: usize,
}

/// What a connection task gets for its session.
pub(crate) struct OpenSession {
    pub(crate) id: SessionId,
    pub(crate) outbound: mpsc::Receiver<Bytes>,
    pub(crate) kick: CancellationToken,
}

impl Sessions {
    pub(crate) fn new(proxy: NodeId, queue: usize, max_frame: usize) -> Sessions {
        Sessions { ids: SessionIds::new(proxy), slots: Mutex::default(), queue: queue.max(1), max_frame }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Slot>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens a session for a connection whose websocket handshake succeeded.
    pub(crate) fn open(&self, parent: &CancellationToken) -> OpenSession {
        let id = self.ids.next_id();
        let (tx, rx) = mpsc::channel(self.queue);
        let kick = parent.child_token();
        self.lock().insert(id.seq(), Slot { outbound: tx, kick: kick.clone() });
        OpenSession { id, outbound: rx, kick }
    }

    /// Forgets a session.
    pub(crate) fn close(&self, seq: u64) {
        self.lock().remove(&seq);
    }

    /// Live sessions.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// Queues a push for the client of session `seq`, as one frame.
    ///
    /// A client whose queue is full is not keeping up: it is disconnected
    /// rather than allowed to grow the proxy's memory.
    pub(crate) fn push(&self, seq: u64, command: i32, body: Bytes) -> Result<(), Status> {
        let frame = ClientFrame::new(command, body)
            .encode(self.max_frame)
            .map_err(|e| Status::new(Code::BAD_REQUEST, format!("push too large for a client frame: {e}")))?;
        let slots = self.lock();
        let slot = slots.get(&seq).ok_or_else(|| Status::not_found("session is gone"))?;
        match slot.outbound.try_send(frame) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => {
                slot.kick.cancel();
                Err(Status::overloaded("client is not reading its pushes; disconnected"))
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(Status::not_found("session is gone")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pushes_reach_the_session_and_a_full_queue_kicks_it() {
        let sessions = Sessions::new(NodeId::of("127.0.0.1", 1), 2, 1024);
        let root = CancellationToken::new();
        let mut s = sessions.open(&root);
        assert_eq!(s.id.seq(), 1);
        sessions.push(1, 7, Bytes::from_static(b"{}")).unwrap();
        let frame = s.outbound.recv().await.unwrap();
        assert_eq!(&frame[4..8], &7i32.to_le_bytes());
        sessions.push(1, 7, Bytes::new()).unwrap();
        sessions.push(1, 7, Bytes::new()).unwrap();
        assert_eq!(sessions.push(1, 7, Bytes::new()).unwrap_err().code(), Code::OVERLOADED);
        assert!(s.kick.is_cancelled());
        sessions.close(1);
        assert_eq!(sessions.push(1, 7, Bytes::new()).unwrap_err().code(), Code::NOT_FOUND);
        assert_eq!(sessions.len(), 0);
    }
}
