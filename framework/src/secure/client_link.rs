//! Encrypted client links (`websocket.encode: 1`): the hello exchange and
//! AES-256-GCM sealing of client frame bodies, without I/O.
//!
//! obespoir's scheme (AES-ECB keyed with the token, no IV, no MAC) never
//! worked on Python 3 and should not be copied, so this is Espoir's own,
//! built like the RPC handshake:
//!
//! ```text
//! client                                                proxy
//!   | frame(10004) {"v":1, "nonce": hex(Nc)}               |
//!   |----------------------------------------------------->|
//!   | frame(10004) {"v":1, "nonce": hex(Ns),               |
//!   |               "proof": hex(HMAC(token, "espoir-ws/server" ‖ T))}
//!   |<-----------------------------------------------------|
//!   | sealed frames both ways                              |
//! ```
//!
//! * `T = "espoir-ws/1" ‖ Nc ‖ Ns`, two fresh 32-byte random nonces, so
//!   every connection gets new keys and a recorded session cannot be
//!   replayed into a new one.
//! * Keys: HKDF-SHA256 with salt `SHA-256(T)` and the token's UTF-8 bytes as
//!   input; `info` is `"espoir-ws/client-to-server"` or
//!   `"espoir-ws/server-to-client"`, one key per direction.
//! * The proof lets the client check the proxy knows the token before it
//!   sends anything. The client proves itself with its first sealed frame:
//!   the proxy dispatches nothing it could not open.
//! * Sealing: the frame header stays in clear (obespoir's layout; the proxy
//!   routes on the command id) and is authenticated as associated data; the
//!   body becomes `ciphertext ‖ tag(16)` and the header's length counts it.
//!   The GCM nonce is `0⁴ ‖ counter(u64 BE)`, counting frames per direction
//!   from 0, never sent: a dropped, replayed or reordered frame fails.
//!
//! WebCrypto offers every piece (HKDF, HMAC, AES-GCM with associated data),
//! so the browser client (`examples/web/espoir-client.js`) needs no library.

use bytes::{BufMut, Bytes, BytesMut};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::cipher::{CipherError, Opener, Sealer, TAG_LEN};
use super::token::Token;
use crate::codec::{CLIENT_HEADER_LEN, ClientFrame};

/// The command id of the hello frames that start an encrypted client link.
pub const CLIENT_HELLO_COMMAND: i32 = 10004;

/// Version of the client link scheme.
const LINK_VERSION: u64 = 1;
const NONCE_LEN: usize = 32;
const MAC_LEN: usize = 32;
const TRANSCRIPT_PREFIX: &[u8] = b"espoir-ws/1";
const LABEL_SERVER: &[u8] = b"espoir-ws/server";
const INFO_C2S: &[u8] = b"espoir-ws/client-to-server";
const INFO_S2C: &[u8] = b"espoir-ws/server-to-client";

type HmacSha256 = Hmac<Sha256>;

/// Why an encrypted client link could not be set up or used. Every variant
/// ends the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientLinkError {
    /// The first frame was not a well-formed hello.
    #[error("expected the encryption hello (command {CLIENT_HELLO_COMMAND}) first: {0}")]
    Hello(&'static str),
    /// The peer speaks another version of the scheme.
    #[error("client link version {0} is not supported (this build speaks 1)")]
    Version(u64),
    /// The proxy's proof did not verify: client and proxy hold different
    /// tokens (or someone in the middle does not hold it).
    #[error("the proxy failed to prove it knows the websocket token")]
    BadProof,
    /// A sealed frame failed authentication (wrong token, tampered,
    /// replayed or reordered), or the frame counter ran out.
    #[error(transparent)]
    Cipher(#[from] CipherError),
}

fn transcript(client_nonce: &[u8; NONCE_LEN], server_nonce: &[u8; NONCE_LEN]) -> Vec<u8> {
    [TRANSCRIPT_PREFIX, client_nonce, server_nonce].concat()
}

fn server_mac(token: &Token, transcript: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(token.expose()).expect("hmac takes any key length");
    mac.update(LABEL_SERVER);
    mac.update(transcript);
    mac
}

/// (client → server, server → client) keys.
fn derive_keys(token: &Token, transcript: &[u8]) -> ([u8; 32], [u8; 32]) {
    let salt = Sha256::digest(transcript);
    let hk = Hkdf::<Sha256>::new(Some(&salt), token.expose());
    let (mut c2s, mut s2c) = ([0u8; 32], [0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's 8160-byte limit.
    hk.expand(INFO_C2S, &mut c2s).expect("32 bytes is a valid hkdf length");
    hk.expand(INFO_S2C, &mut s2c).expect("32 bytes is a valid hkdf length");
    (c2s, s2c)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let raw = text.as_bytes();
    if raw.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, pair) in raw.chunks_exact(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Hello {
    v: u64,
    nonce: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    proof: Option<String>,
}

fn hello_frame(hello: &Hello) -> ClientFrame {
    // A struct of a number and strings always serialises.
    ClientFrame::new(CLIENT_HELLO_COMMAND, serde_json::to_vec(hello).unwrap_or_default())
}

fn parse_hello(frame: &ClientFrame) -> Result<(Hello, [u8; NONCE_LEN]), ClientLinkError> {
    if frame.command != CLIENT_HELLO_COMMAND {
        return Err(ClientLinkError::Hello("the first frame has another command id"));
    }
    let hello: Hello =
        serde_json::from_slice(&frame.body).map_err(|_| ClientLinkError::Hello("the body is not a hello"))?;
    if hello.v != LINK_VERSION {
        return Err(ClientLinkError::Version(hello.v));
    }
    let nonce = unhex(&hello.nonce).ok_or(ClientLinkError::Hello("the nonce is not 64 hex digits"))?;
    Ok((hello, nonce))
}

/// The proxy's side: answers a client's hello. Returns the cipher for the
/// connection and the reply to send (in clear).
///
/// # Errors
/// [`ClientLinkError::Hello`] or [`ClientLinkError::Version`] when `frame`
/// is not a usable hello.
pub fn accept_client_hello(
    token: &Token,
    frame: &ClientFrame,
    server_nonce: [u8; NONCE_LEN],
) -> Result<(ClientLinkCipher, ClientFrame), ClientLinkError> {
    let (_, client_nonce) = parse_hello(frame)?;
    let t = transcript(&client_nonce, &server_nonce);
    let proof = server_mac(token, &t).finalize().into_bytes();
    let (c2s, s2c) = derive_keys(token, &t);
    let reply = hello_frame(&Hello { v: LINK_VERSION, nonce: hex(&server_nonce), proof: Some(hex(&proof)) });
    Ok((ClientLinkCipher { sealer: Sealer::new(&s2c), opener: Opener::new(&c2s) }, reply))
}

/// The client's side of the hello exchange (used by the Rust client in
/// `examples/client`; the browser client does the same with WebCrypto).
#[derive(Debug)]
pub struct ClientLinkDialer {
    token: Token,
    nonce: [u8; NONCE_LEN],
}

impl ClientLinkDialer {
    /// Starts with a fresh random `nonce`; returns the hello to send first.
    pub fn start(token: Token, nonce: [u8; NONCE_LEN]) -> (ClientLinkDialer, ClientFrame) {
        let hello = hello_frame(&Hello { v: LINK_VERSION, nonce: hex(&nonce), proof: None });
        (ClientLinkDialer { token, nonce }, hello)
    }

    /// Checks the proxy's hello and returns the connection's cipher.
    ///
    /// # Errors
    /// [`ClientLinkError::BadProof`] when the proxy holds another token;
    /// [`ClientLinkError::Hello`] for a malformed reply (an error body from a
    /// proxy that refused the hello, for instance).
    pub fn finish(self, reply: &ClientFrame) -> Result<ClientLinkCipher, ClientLinkError> {
        let (hello, server_nonce) = parse_hello(reply)?;
        let proof = hello.proof.as_deref().and_then(unhex::<MAC_LEN>).ok_or(ClientLinkError::BadProof)?;
        let t = transcript(&self.nonce, &server_nonce);
        // verify_slice compares in constant time.
        server_mac(&self.token, &t).verify_slice(&proof).map_err(|_| ClientLinkError::BadProof)?;
        let (c2s, s2c) = derive_keys(&self.token, &t);
        Ok(ClientLinkCipher { sealer: Sealer::new(&c2s), opener: Opener::new(&s2c) })
    }
}

/// Seals outgoing and opens incoming frames of one encrypted client link
/// (either side: the proxy's seals server → client, the client's the other
/// way).
#[derive(Debug)]
pub struct ClientLinkCipher {
    sealer: Sealer,
    opener: Opener,
}

fn header(len: usize, command: i32, version: i32) -> [u8; CLIENT_HEADER_LEN] {
    let mut h = [0u8; CLIENT_HEADER_LEN];
    // Callers keep frames far below 2 GiB (max_frame), so the length fits.
    h[..4].copy_from_slice(&i32::try_from(len).unwrap_or(i32::MAX).to_le_bytes());
    h[4..8].copy_from_slice(&command.to_le_bytes());
    h[8..].copy_from_slice(&version.to_le_bytes());
    h
}

impl ClientLinkCipher {
    /// Seals `frame`'s body; the result is `TAG_LEN` bytes longer.
    ///
    /// # Errors
    /// [`CipherError::Exhausted`] after 2^64 frames.
    pub fn seal(&mut self, frame: &ClientFrame) -> Result<ClientFrame, ClientLinkError> {
        let h = header(CLIENT_HEADER_LEN + frame.body.len() + TAG_LEN, frame.command, frame.version);
        let mut body = BytesMut::with_capacity(frame.body.len() + TAG_LEN);
        body.put_slice(&frame.body);
        self.sealer.seal_with(&mut body, 0, &h)?;
        Ok(ClientFrame { command: frame.command, version: frame.version, body: body.freeze() })
    }

    /// Seals an already encoded frame (header and body in one buffer, as
    /// the proxy queues replies and pushes) and returns the encoded result.
    ///
    /// # Errors
    /// As [`ClientLinkCipher::seal`]; [`ClientLinkError::Hello`] if `encoded`
    /// is shorter than a header.
    pub fn seal_encoded(&mut self, encoded: &[u8]) -> Result<Bytes, ClientLinkError> {
        if encoded.len() < CLIENT_HEADER_LEN {
            return Err(ClientLinkError::Hello("an encoded frame is shorter than its header"));
        }
        let word =
            |i: usize| i32::from_le_bytes([encoded[i], encoded[i + 1], encoded[i + 2], encoded[i + 3]]);
        let (command, version) = (word(4), word(8));
        let body = &encoded[CLIENT_HEADER_LEN..];
        let h = header(CLIENT_HEADER_LEN + body.len() + TAG_LEN, command, version);
        let mut out = BytesMut::with_capacity(CLIENT_HEADER_LEN + body.len() + TAG_LEN);
        out.put_slice(&h);
        out.put_slice(body);
        self.sealer.seal_with(&mut out, CLIENT_HEADER_LEN, &h)?;
        Ok(out.freeze())
    }

    /// Opens a sealed frame's body.
    ///
    /// # Errors
    /// [`ClientLinkError::Cipher`] when it fails authentication: the link
    /// must be closed.
    pub fn open(&mut self, frame: ClientFrame) -> Result<ClientFrame, ClientLinkError> {
        let h = header(CLIENT_HEADER_LEN + frame.body.len(), frame.command, frame.version);
        let mut body = BytesMut::from(&frame.body[..]);
        self.opener.open_with(&mut body, &h)?;
        Ok(ClientFrame { command: frame.command, version: frame.version, body: body.freeze() })
    }
}

#[cfg(test)]
#[path = "client_link_tests.rs"]
mod tests;
