//! The writing side of a client connection: frames sealed when the link is
//! encrypted, every write bounded by `websocket.limits.write_timeout`, and
//! frames that are ready together sent in one write.

use bytes::Bytes;
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::ClientConn;
use crate::gateway::cipher;
use crate::gateway::close::ConnEnd;

impl ClientConn {
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
