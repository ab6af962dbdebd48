//! RPC framing between nodes: a 4-byte big-endian length, then the payload.
//!
//! ```text
//!  0               4
//!  +---------------+----------------------------------------+
//!  | length (u32)  | payload (length bytes)                 |
//!  +---------------+----------------------------------------+
//!    big-endian      Handshake or Envelope protobuf; once a
//!                    link is encrypted, ciphertext + 16-byte tag
//! ```
//!
//! Framing belongs to tokio-util's [`LengthDelimitedCodec`]; this module only
//! fixes its settings (so both ends agree) and bounds the frame size. What is
//! inside a payload is the business of [`crate::secure`] (sealing) and
//! `prost` (messages): the decoder hands out exactly one payload at a time.

use bytes::{BufMut, BytesMut};
use tokio_util::codec::{Decoder, LengthDelimitedCodec};

/// The RPC protocol version this build speaks: what the handshake agrees
/// on and every envelope carries in `version`.
///
/// 2: the dialer's lane is in the hello and in the handshake transcript
/// (version 1 nodes would fail the proof and be told the token is wrong;
/// with the version, they are told which versions meet).
pub const PROTOCOL_VERSION: u32 = 2;

/// Size of the length prefix.
pub const RPC_LENGTH_PREFIX: usize = 4;

/// Default largest RPC payload: 4 MiB. A client frame is at most 1 MiB by
/// default, so an envelope carrying one always fits with room to spare,
/// while a misbehaving peer cannot make a node buffer more than this.
pub const DEFAULT_MAX_RPC_FRAME: usize = 4 * 1024 * 1024;

/// Decoder for RPC payloads, bounded by a maximum length.
#[derive(Debug)]
pub struct RpcDecoder {
    inner: LengthDelimitedCodec,
}

impl RpcDecoder {
    /// A decoder refusing payloads longer than `max_frame` bytes.
    pub fn new(max_frame: usize) -> Self {
        let inner = LengthDelimitedCodec::builder()
            .length_field_length(RPC_LENGTH_PREFIX)
            .big_endian()
            .max_frame_length(max_frame)
            .new_codec();
        RpcDecoder { inner }
    }

    /// The configured maximum payload length.
    pub fn max_frame(&self) -> usize {
        self.inner.max_frame_length()
    }
}

impl Decoder for RpcDecoder {
    type Item = BytesMut;
    type Error = RpcFrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, RpcFrameError> {
        match self.inner.decode(src) {
            Ok(frame) => Ok(frame),
            Err(err) => {
                // LengthDelimitedCodec reports an over-long frame as an
                // InvalidData io::Error; that is the only error it raises
                // while decoding from memory.
                if err.kind() == std::io::ErrorKind::InvalidData {
                    Err(RpcFrameError::TooLarge { max: self.inner.max_frame_length() })
                } else {
                    Err(RpcFrameError::Io(err))
                }
            }
        }
    }
}

/// Appends frames to an output buffer in place, so that a writer can put
/// many frames into one buffer and write them with one syscall.
///
/// The payload is written straight after a placeholder length, transformed
/// in place if needed (sealing), and the length is patched last: no payload
/// is copied.
#[derive(Debug, Clone, Copy)]
pub struct RpcEncoder {
    max_frame: usize,
}

impl RpcEncoder {
    /// An encoder refusing payloads longer than `max_frame` bytes.
    pub fn new(max_frame: usize) -> Self {
        RpcEncoder { max_frame }
    }

    /// Appends one frame to `dst`. `write` appends the payload to the buffer
    /// it is given and may change what it appended (for example seal it);
    /// bytes before the payload must be left alone.
    ///
    /// # Errors
    /// [`RpcFrameError::TooLarge`] if the payload is over the maximum, in
    /// which case `dst` is left as it was; any error of `write`, likewise.
    pub fn encode_with<E>(
        &self,
        dst: &mut BytesMut,
        write: impl FnOnce(&mut BytesMut) -> Result<(), E>,
    ) -> Result<(), E>
    where
        E: From<RpcFrameError>,
    {
        let start = dst.len();
        dst.put_u32(0);
        if let Err(err) = write(dst) {
            dst.truncate(start);
            return Err(err);
        }
        let payload_len = dst.len() - start - RPC_LENGTH_PREFIX;
        if payload_len > self.max_frame {
            dst.truncate(start);
            return Err(RpcFrameError::TooLarge { max: self.max_frame }.into());
        }
        // payload_len <= max_frame, which is far below u32::MAX in practice;
        // still, never truncate silently.
        let len = u32::try_from(payload_len).map_err(|_| RpcFrameError::TooLarge { max: self.max_frame })?;
        dst[start..start + RPC_LENGTH_PREFIX].copy_from_slice(&len.to_be_bytes());
        Ok(())
    }
}

/// A broken RPC byte stream; the link must be closed.
#[derive(Debug, thiserror::Error)]
pub enum RpcFrameError {
    /// A frame longer than the configured maximum.
    #[error("rpc frame exceeds the maximum of {max} bytes")]
    TooLarge {
        /// The configured maximum.
        max: usize,
    },
    /// The underlying socket failed.
    #[error("rpc link i/o: {0}")]
    Io(#[from] std::io::Error),
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn encode(payloads: &[Vec<u8>], max: usize) -> BytesMut {
        let enc = RpcEncoder::new(max);
        let mut dst = BytesMut::new();
        for p in payloads {
            enc.encode_with(&mut dst, |b| {
                b.extend_from_slice(p);
                Ok::<_, RpcFrameError>(())
            })
            .unwrap();
        }
        dst
    }

    #[test]
    fn frame_layout_is_big_endian_length_then_payload() {
        let dst = encode(&[b"abc".to_vec()], 16);
        assert_eq!(&dst[..], b"\x00\x00\x00\x03abc");
    }

    #[test]
    fn encoder_refuses_oversized_payload_and_leaves_buffer_intact() {
        let enc = RpcEncoder::new(4);
        let mut dst = BytesMut::from(&b"keep"[..]);
        let err = enc.encode_with(&mut dst, |b| {
            b.extend_from_slice(b"12345");
            Ok::<_, RpcFrameError>(())
        });
        assert!(matches!(err, Err(RpcFrameError::TooLarge { max: 4 })));
        assert_eq!(&dst[..], b"keep");
    }

    #[test]
    fn decoder_refuses_announced_length_over_maximum() {
        let mut dec = RpcDecoder::new(1024);
        let mut src = BytesMut::from(&[0x40u8, 0, 0, 0][..]);
        assert!(matches!(dec.decode(&mut src), Err(RpcFrameError::TooLarge { max: 1024 })));
    }

    proptest! {
        #[test]
        fn payloads_round_trip_however_the_stream_is_split(
            payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..20),
            chunk in 1usize..64,
        ) {
            let stream = encode(&payloads, 256);
            let mut dec = RpcDecoder::new(256);
            let mut buf = BytesMut::new();
            let mut out = Vec::new();
            for piece in stream.chunks(chunk) {
                buf.extend_from_slice(piece);
                while let Some(frame) = dec.decode(&mut buf).unwrap() {
                    out.push(frame.to_vec());
                }
                // Never more than one frame plus its prefix waits in memory.
                prop_assert!(buf.len() <= 256 + RPC_LENGTH_PREFIX);
            }
            prop_assert_eq!(out, payloads);
        }

        #[test]
        fn arbitrary_bytes_never_panic_nor_overbuffer(
            data in proptest::collection::vec(any::<u8>(), 0..3000),
            chunk in 1usize..200,
        ) {
            let mut dec = RpcDecoder::new(512);
            let mut buf = BytesMut::new();
            'outer: for piece in data.chunks(chunk) {
                buf.extend_from_slice(piece);
                loop {
                    match dec.decode(&mut buf) {
                        Ok(Some(frame)) => prop_assert!(frame.len() <= 512),
                        Ok(None) => break,
                        Err(_) => break 'outer,
                    }
                }
                prop_assert!(buf.len() <= 512 + RPC_LENGTH_PREFIX + chunk);
            }
        }
    }
}
