//! Where a link hands the envelopes it reads: the node's [`InboundHandler`]
//! or a queue of [`Incoming`] envelopes.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::link::Link;
use crate::proto::Envelope;

/// An envelope received on a link, for the node to route or handle.
#[derive(Debug)]
pub struct Incoming {
    /// The link it arrived on (to answer on the same link if wanted).
    pub link: Link,
    /// The message.
    pub envelope: Envelope,
}

/// Receives what links read, inline in each link's reader task.
///
/// Implementations must not block: they decide and hand work off (queue a
/// frame on another link, spawn a handler). Handling inline keeps every
/// link's frames in order end to end (a push its handler sent before
/// replying reaches the client before the reply) and saves a queue hop.
pub trait InboundHandler: Send + Sync + 'static {
    /// Handles one envelope that is not the answer to a local call or a
    /// heartbeat.
    fn handle(&self, incoming: Incoming);

    /// A link was established (either direction) and is registered. Runs
    /// before the link reads anything, so a frame queued here is the first
    /// the peer receives from us.
    fn link_up(&self, _link: &Link) {}

    /// A link closed and is no longer registered.
    fn link_down(&self, _link: &Link) {}
}

/// Where a link hands what it reads.
pub(crate) enum Inbound {
    /// A bounded queue; the reader waits when it is full, so TCP pushes
    /// back on the peer.
    Channel(mpsc::Sender<Incoming>),
    /// Inline handling.
    Handler(Arc<dyn InboundHandler>),
}

impl std::fmt::Debug for Inbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Inbound::Channel(_) => "Inbound::Channel",
            Inbound::Handler(_) => "Inbound::Handler",
        })
    }
}
