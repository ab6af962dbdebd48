//! The frames a connection answers itself, without a handler: heartbeats
//! (on arrival, even behind a request in flight), refusals over the
//! message rate, resume and push acknowledgements.

use tokio::time::Instant;

use super::ClientConn;
use crate::codec::ClientFrame;
use crate::gateway::close::ConnEnd;
use crate::gateway::reply::error_frame;
use crate::gateway::request::heartbeat_reply;
use crate::gateway::resume::{AckRequest, resume_frames};
use crate::limits::Admit;
use crate::metrics::Via;
use crate::status::Status;

impl ClientConn {
    /// Answers the heartbeats read since the last turn, ahead of any
    /// request in flight or queued (see the module's doc).
    pub(super) async fn answer_heartbeats(&mut self) -> Result<(), ConnEnd> {
        let Some(command) = self.heartbeat else { return Ok(()) };
        while self.heartbeats_due > 0 {
            self.heartbeats_due -= 1;
            if self.admit(command).await? {
                self.send(heartbeat_reply(command)).await?;
                self.shared.metrics.sent(Via::Client, command);
            }
        }
        Ok(())
    }

    /// Counts a client frame and applies the message rate: `Ok(true)` to
    /// handle it, `Ok(false)` when it was refused (and answered 429).
    pub(super) async fn admit(&mut self, command: i32) -> Result<bool, ConnEnd> {
        self.shared.metrics.received(Via::Client, command);
        match self.limiter.admit_frame(Instant::now()) {
            Admit::Yes => Ok(true),
            // Boxed so that its write does not grow every connection's
            // future; admitted frames (the norm) skip it.
            Admit::Refuse => Box::pin(self.refuse_over_rate(command)).await.map(|()| false),
            Admit::Disconnect => {
                self.shared.metrics.limit_hit("message_flood");
                Err(ConnEnd::flood())
            }
        }
    }

    /// Answers a frame over the message rate with a 429 error frame
    /// instead of handling it.
    async fn refuse_over_rate(&mut self, command: i32) -> Result<(), ConnEnd> {
        self.shared.metrics.limit_hit("message_rate");
        let status = Status::overloaded("message rate exceeded (websocket.limits.message_rate)");
        self.send(error_frame(command, &status).unwrap_or_default()).await
    }

    /// The resume command: opt in, or take a session back and replay what
    /// the client missed.
    pub(super) async fn on_resume(&mut self, frame: &ClientFrame) -> Result<(), ConnEnd> {
        let first = self.frames_seen == 1;
        let frames = resume_frames(&self.shared, &self.sessions, &self.open, &mut self.session, first, frame);
        for out in frames {
            self.send(out).await?;
        }
        Ok(())
    }

    /// The client acknowledges pushes up to a number: the replay buffer
    /// lets go of them.
    pub(super) fn on_ack(&self, frame: &ClientFrame) {
        match serde_json::from_slice::<AckRequest>(&frame.body) {
            Ok(ack) => self.sessions.ack(self.session.seq(), ack.seq),
            Err(err) => tracing::debug!(session = %self.session, error = %err, "malformed ack ignored"),
        }
    }
}
