//! Client framing on the proxy's websocket, byte-compatible with obespoir.
//!
//! ```text
//!  0               4               8              12
//!  +---------------+---------------+---------------+-------------------+
//!  | length (i32)  | command (i32) | version (i32) | body (length-12)  |
//!  +---------------+---------------+---------------+-------------------+
//!    little-endian; length counts the 12-byte header too
//! ```
//!
//! Client → server: websocket binary messages form one byte stream, so a
//! frame may span messages and one message may carry several frames
//! (obespoir accepts both, spec §2.2 and §2.4). Server → client: exactly one
//! frame per binary message.
//!
//! [`ClientDecoder`] never holds more than one incomplete frame, and refuses a
//! header announcing more than its maximum before buffering a byte of the body,
//! so a peer cannot make it grow past `max_frame` bytes.

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Size of the fixed header.
pub const CLIENT_HEADER_LEN: usize = 12;

/// Default largest frame (header included) a client may send: 1 MiB, the
/// same bound obespoir's websocket library puts on one message.
pub const DEFAULT_MAX_CLIENT_FRAME: usize = 1024 * 1024;

/// One client frame: command id, version and body. The body is JSON for
/// obespoir-style clients, but the codec does not look inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFrame {
    /// Message id (obespoir's `command_id`).
    pub command: i32,
    /// Carried through unchanged; obespoir always sends 0.
    pub version: i32,
    /// Body bytes.
    pub body: Bytes,
}

impl ClientFrame {
    /// A frame with version 0, as obespoir sends.
    pub fn new(command: i32, body: impl Into<Bytes>) -> Self {
        ClientFrame { command, version: 0, body: body.into() }
    }

    /// Length on the wire, header included.
    pub fn wire_len(&self) -> usize {
        CLIENT_HEADER_LEN + self.body.len()
    }

    /// Appends the encoded frame to `dst`.
    ///
    /// # Errors
    /// [`ClientFrameError::TooLarge`] when the frame would not fit in the
    /// signed 32-bit length field or exceeds `max_frame`.
    pub fn encode_to(&self, dst: &mut BytesMut, max_frame: usize) -> Result<(), ClientFrameError> {
        let len = self.wire_len();
        let declared = i32::try_from(len).map_err(|_| ClientFrameError::TooLarge {
            declared: i64::try_from(len).unwrap_or(i64::MAX),
            max: max_frame,
        })?;
        if len > max_frame {
            return Err(ClientFrameError::TooLarge { declared: i64::from(declared), max: max_frame });
        }
        dst.reserve(len);
        dst.put_i32_le(declared);
        dst.put_i32_le(self.command);
        dst.put_i32_le(self.version);
        dst.put_slice(&self.body);
        Ok(())
    }

    /// The encoded frame as one buffer (one websocket message).
    ///
    /// # Errors
    /// As [`ClientFrame::encode_to`].
    pub fn encode(&self, max_frame: usize) -> Result<Bytes, ClientFrameError> {
        let mut dst = BytesMut::with_capacity(self.wire_len());
        self.encode_to(&mut dst, max_frame)?;
        Ok(dst.freeze())
    }
}

/// Why a client byte stream was refused. The connection cannot continue
/// after any of these: the stream is no longer in sync.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientFrameError {
    /// The length field is below the header size (this includes negative
    /// values and 0); obespoir would silently desynchronise here.
    #[error("frame length {declared} is shorter than the 12-byte header")]
    TooShort {
        /// The declared length.
        declared: i64,
    },
    /// The length field exceeds the configured maximum.
    #[error("frame length {declared} exceeds the maximum of {max} bytes")]
    TooLarge {
        /// The declared (or attempted) length.
        declared: i64,
        /// The configured maximum.
        max: usize,
    },
}

impl ClientFrameError {
    /// The websocket close code to send (RFC 6455 §7.4.1): 1002 for a
    /// malformed header, 1009 for a frame over the size limit.
    pub fn close_code(&self) -> u16 {
        match self {
            ClientFrameError::TooShort { .. } => 1002,
            ClientFrameError::TooLarge { .. } => 1009,
        }
    }
}

/// Reassembles client frames from websocket messages.
#[derive(Debug)]
pub struct ClientDecoder {
    /// The start of one incomplete frame, never more: complete frames are
    /// handed out as soon as their last byte arrives.
    partial: BytesMut,
    /// Total length of the frame in `partial`, once its header is known.
    expected: Option<usize>,
    max_frame: usize,
}

impl ClientDecoder {
    /// A decoder refusing frames longer than `max_frame` bytes (header
    /// included). `max_frame` is raised to at least the header size.
    pub fn new(max_frame: usize) -> Self {
        ClientDecoder {
            partial: BytesMut::new(),
            expected: None,
            max_frame: max_frame.max(CLIENT_HEADER_LEN),
        }
    }

    /// The configured maximum frame length.
    pub fn max_frame(&self) -> usize {
        self.max_frame
    }

    /// Bytes held for an incomplete frame: always below `max_frame`.
    pub fn buffered(&self) -> usize {
        self.partial.len()
    }

    /// Consumes one websocket message and appends every frame it completes
    /// to `out`, in order.
    ///
    /// Whole frames inside `msg` are sliced out of it without copying; only
    /// a frame that spans messages is copied into the decoder's buffer.
    ///
    /// # Errors
    /// A [`ClientFrameError`] for a header that cannot be valid. Frames
    /// completed before the bad header are still in `out`; the decoder must
    /// not be fed again.
    pub fn feed(&mut self, mut msg: Bytes, out: &mut Vec<ClientFrame>) -> Result<(), ClientFrameError> {
        loop {
            if !self.partial.is_empty() {
                if !self.fill_partial(&mut msg)? {
                    return Ok(());
                }
                let frame = self.partial.split().freeze();
                self.expected = None;
                out.push(Self::split_frame(frame));
                continue;
            }
            if msg.len() < CLIENT_HEADER_LEN {
                if !msg.is_empty() {
                    self.partial.extend_from_slice(&msg);
                }
                return Ok(());
            }
            let len = self.check_header(&msg[..CLIENT_HEADER_LEN])?;
            if msg.len() >= len {
                out.push(Self::split_frame(msg.split_to(len)));
            } else {
                self.partial.reserve(len);
                self.partial.extend_from_slice(&msg);
                self.expected = Some(len);
                return Ok(());
            }
        }
    }

    /// Moves bytes from `msg` into the incomplete frame; true once complete.
    fn fill_partial(&mut self, msg: &mut Bytes) -> Result<bool, ClientFrameError> {
        let expected = match self.expected {
            Some(len) => len,
            None => {
                let need = CLIENT_HEADER_LEN - self.partial.len();
                let take = need.min(msg.len());
                self.partial.extend_from_slice(&msg.split_to(take));
                if self.partial.len() < CLIENT_HEADER_LEN {
                    return Ok(false);
                }
                let len = self.check_header(&self.partial[..CLIENT_HEADER_LEN])?;
                self.partial.reserve(len - self.partial.len());
                self.expected = Some(len);
                len
            }
        };
        let take = (expected - self.partial.len()).min(msg.len());
        self.partial.extend_from_slice(&msg.split_to(take));
        Ok(self.partial.len() == expected)
    }

    fn check_header(&self, header: &[u8]) -> Result<usize, ClientFrameError> {
        let mut h = header;
        let declared = h.get_i32_le();
        let len = usize::try_from(declared).ok().filter(|&l| l >= CLIENT_HEADER_LEN);
        let len = len.ok_or(ClientFrameError::TooShort { declared: i64::from(declared) })?;
        if len > self.max_frame {
            return Err(ClientFrameError::TooLarge { declared: i64::from(declared), max: self.max_frame });
        }
        Ok(len)
    }

    /// Splits a complete frame (validated header included) into its parts.
    fn split_frame(mut frame: Bytes) -> ClientFrame {
        let mut header = frame.split_to(CLIENT_HEADER_LEN);
        header.advance(4);
        let command = header.get_i32_le();
        let version = header.get_i32_le();
        ClientFrame { command, version, body: frame }
    }
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
