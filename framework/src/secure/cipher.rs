//! AES-256-GCM sealing of RPC payloads.
//!
//! Each direction of a link has its own key (derived in the handshake), so
//! the two directions can use the same counter values without ever reusing
//! a (key, nonce) pair. The nonce is a 64-bit frame counter, never sent: a
//! frame that is dropped, replayed or reordered is opened with the wrong
//! nonce, fails authentication, and the link is closed.
//!
//! ```text
//! nonce (12 bytes) = 0x00000000 ‖ counter (u64, big-endian)
//! sealed payload   = ciphertext (same length as the plaintext) ‖ tag (16 bytes)
//! ```

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use bytes::BytesMut;

/// Bytes added to every sealed payload.
pub const TAG_LEN: usize = 16;

fn nonce(counter: u64) -> Nonce<aes_gcm::aead::consts::U12> {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&counter.to_be_bytes());
    Nonce::from(n)
}

/// Seals outgoing payloads of one direction.
pub struct Sealer {
    aead: Aes256Gcm,
    counter: u64,
}

impl Sealer {
    /// A sealer with a 32-byte key, starting at counter 0.
    pub(crate) fn new(key: &[u8; 32]) -> Self {
        Sealer { aead: Aes256Gcm::new(key.into()), counter: 0 }
    }

    /// Seals `buf[start..]` in place and appends the tag.
    ///
    /// # Errors
    /// [`CipherError::Exhausted`] after 2^64 frames (never in practice; the
    /// link must then be re-established rather than reuse a nonce).
    pub fn seal(&mut self, buf: &mut BytesMut, start: usize) -> Result<(), CipherError> {
        self.seal_with(buf, start, b"")
    }

    /// Seals `buf[start..]` in place, authenticating `aad` too (sent in
    /// clear, such as a frame header), and appends the tag.
    ///
    /// # Errors
    /// As [`Sealer::seal`].
    pub(crate) fn seal_with(
        &mut self,
        buf: &mut BytesMut,
        start: usize,
        aad: &[u8],
    ) -> Result<(), CipherError> {
        let counter = self.counter;
        self.counter = counter.checked_add(1).ok_or(CipherError::Exhausted)?;
        let tag = self
            .aead
            .encrypt_in_place_detached(&nonce(counter), aad, &mut buf[start..])
            .map_err(|_| CipherError::Exhausted)?;
        buf.extend_from_slice(&tag);
        Ok(())
    }
}

/// Opens incoming payloads of one direction.
pub struct Opener {
    aead: Aes256Gcm,
    counter: u64,
}

impl Opener {
    /// An opener with a 32-byte key, expecting counter 0 first.
    pub(crate) fn new(key: &[u8; 32]) -> Self {
        Opener { aead: Aes256Gcm::new(key.into()), counter: 0 }
    }

    /// Verifies and decrypts a sealed payload in place, removing the tag.
    ///
    /// # Errors
    /// [`CipherError::Forged`] if the payload was altered, replayed,
    /// reordered or sealed with another key; the link must be closed.
    pub fn open(&mut self, buf: &mut BytesMut) -> Result<(), CipherError> {
        self.open_with(buf, b"")
    }

    /// Like [`Opener::open`], also checking the clear `aad` it was sealed with.
    ///
    /// # Errors
    /// As [`Opener::open`].
    pub(crate) fn open_with(&mut self, buf: &mut BytesMut, aad: &[u8]) -> Result<(), CipherError> {
        if buf.len() < TAG_LEN {
            return Err(CipherError::Forged);
        }
        let body_len = buf.len() - TAG_LEN;
        let tag = Tag::clone_from_slice(&buf[body_len..]);
        let counter = self.counter;
        self.aead
            .decrypt_in_place_detached(&nonce(counter), aad, &mut buf[..body_len], &tag)
            .map_err(|_| CipherError::Forged)?;
        buf.truncate(body_len);
        self.counter = counter.checked_add(1).ok_or(CipherError::Exhausted)?;
        Ok(())
    }
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer").field("counter", &self.counter).finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Opener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opener").field("counter", &self.counter).finish_non_exhaustive()
    }
}

/// A sealed payload could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    /// Authentication failed: tampered, replayed, reordered or foreign.
    #[error("sealed frame failed authentication (tampered, replayed or reordered)")]
    Forged,
    /// The frame counter ran out; the link must be re-established.
    #[error("frame counter exhausted; the link must be re-established")]
    Exhausted,
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn pair() -> (Sealer, Opener) {
        let key = [7u8; 32];
        (Sealer::new(&key), Opener::new(&key))
    }

    fn sealed(sealer: &mut Sealer, plain: &[u8]) -> BytesMut {
        let mut buf = BytesMut::from(plain);
        sealer.seal(&mut buf, 0).unwrap();
        buf
    }

    #[test]
    fn seal_then_open_round_trips_and_hides_plaintext() {
        let (mut s, mut o) = pair();
        let mut buf = sealed(&mut s, b"attack at dawn");
        assert_eq!(buf.len(), 14 + TAG_LEN);
        assert_ne!(&buf[..14], b"attack at dawn");
        o.open(&mut buf).unwrap();
        assert_eq!(&buf[..], b"attack at dawn");
    }

    #[test]
    fn same_plaintext_seals_differently_each_time() {
        let (mut s, _) = pair();
        assert_ne!(sealed(&mut s, b"same"), sealed(&mut s, b"same"));
    }

    #[test]
    fn replayed_and_reordered_frames_are_refused() {
        let (mut s, mut o) = pair();
        let first = sealed(&mut s, b"one");
        let second = sealed(&mut s, b"two");
        // Reordered: the second frame arrives first.
        assert_eq!(o.open(&mut second.clone()), Err(CipherError::Forged));
        o.open(&mut first.clone()).unwrap();
        // Replayed: the first frame again.
        assert_eq!(o.open(&mut first.clone()), Err(CipherError::Forged));
    }

    #[test]
    fn a_frame_sealed_with_another_key_is_refused() {
        let mut s = Sealer::new(&[1; 32]);
        let mut o = Opener::new(&[2; 32]);
        assert_eq!(o.open(&mut sealed(&mut s, b"x")), Err(CipherError::Forged));
        assert_eq!(o.open(&mut BytesMut::from(&b"short"[..])), Err(CipherError::Forged));
    }

    #[test]
    fn sealing_a_suffix_leaves_the_prefix_in_clear() {
        let (mut s, mut o) = pair();
        let mut buf = BytesMut::from(&b"HDRbody"[..]);
        s.seal(&mut buf, 3).unwrap();
        assert_eq!(&buf[..3], b"HDR");
        let mut tail = buf.split_off(3);
        o.open(&mut tail).unwrap();
        assert_eq!(&tail[..], b"body");
    }

    proptest! {
        #[test]
        fn any_flipped_bit_is_rejected(plain in proptest::collection::vec(any::<u8>(), 0..256), bit in any::<usize>()) {
            let (mut s, mut o) = pair();
            let mut buf = sealed(&mut s, &plain);
            let bit = bit % (buf.len() * 8);
            buf[bit / 8] ^= 1 << (bit % 8);
            prop_assert_eq!(o.open(&mut buf), Err(CipherError::Forged));
        }

        #[test]
        fn any_payload_round_trips(plains in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..256), 1..8)) {
            let (mut s, mut o) = pair();
            for plain in plains {
                let mut buf = sealed(&mut s, &plain);
                o.open(&mut buf).unwrap();
                prop_assert_eq!(&buf[..], &plain[..]);
            }
        }
    }
}
