//! The writing side of a client connection: pushes (queued, and conflated
//! topic messages) written in batches, frames sealed when the link is
//! encrypted, every write bounded by `websocket.limits.write_timeout`, and
//! frames that are ready together sent in one write.

use bytes::Bytes;
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::{ClientConn, MAX_PUSH_BATCH};
use crate::gateway::cipher;
use crate::gateway::close::ConnEnd;
use crate::sessions::Outbound;

impl ClientConn {
    /// A push for the client, or `None` when the session's queue closed.
    /// Pushes queued behind it join it in one write (a broadcast burst
    /// costs one syscall, not one per push).
    pub(super) async fn on_push(&mut self, push: Option<Outbound>) -> Result<(), ConnEnd> {
        let Some(push) = push else { return Err(ConnEnd::closed()) };
        let mut next = Some(push);
        let mut batched = 0;
        while let Some(push) = next.take() {
            self.open.budget.release(push.cost());
            self.write(push.encode(), false).await?;
            batched += 1;
            if batched < MAX_PUSH_BATCH {
                next = self.open.outbound.try_recv().ok();
            }
        }
        self.flush().await
    }

    /// Conflated topic messages waiting for this slow connection: a batch
    /// of them in one write; the rest wait for the next turn.
    pub(super) async fn on_conflated(&mut self) -> Result<(), ConnEnd> {
        let batch: Vec<(i32, Bytes)> = {
            let mut map = self.open.pending.lock();
            std::iter::from_fn(|| map.pop()).take(MAX_PUSH_BATCH).collect()
        };
        if batch.is_empty() {
            return Ok(());
        }
        for (command, body) in batch {
            self.write(Outbound { command, seq: 0, body }.encode(), false).await?;
        }
        if self.open.pending.lock().len() > 0 {
            self.open.pending.ready.notify_one();
        }
        self.flush().await
    }

    /// Writes one encoded frame to the client: sealed when the link is
    /// encrypted, and within `websocket.limits.write_timeout`, since a
    /// client that stops reading fills its socket buffer and stalls the
    /// write; it is dropped rather than allowed to hold the task.
    pub(super) async fn send(&mut self, frame: Bytes) -> Result<(), ConnEnd> {
        self.write(frame, true).await
    }

    /// As [`ClientConn::send`]; with `flush` false the frame waits in the
    /// websocket's buffer for the next flush (so several go out in one
    /// write).
    pub(super) async fn write(&mut self, frame: Bytes, flush: bool) -> Result<(), ConnEnd> {
        let frame = cipher::outgoing(&mut self.cipher, frame).map_err(|err| ConnEnd::cipher_broken(&err))?;
        let message = Message::Binary(frame);
        let written = if flush {
            tokio::time::timeout(self.write_timeout, self.sink.send(message)).await
        } else {
            tokio::time::timeout(self.write_timeout, self.sink.feed(message)).await
        };
        self.written(written)
    }

    /// Writes out what [`ClientConn::write`] left in the buffer.
    pub(super) async fn flush(&mut self) -> Result<(), ConnEnd> {
        let flushed = tokio::time::timeout(self.write_timeout, self.sink.flush()).await;
        self.written(flushed)
    }

    fn written(
        &self,
        result: Result<Result<(), WsError>, tokio::time::error::Elapsed>,
    ) -> Result<(), ConnEnd> {
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(ConnEnd::connection_lost()),
            Err(_) => {
                self.shared.metrics.limit_hit("write_timeout");
                Err(ConnEnd::not_reading())
            }
        }
    }
}
