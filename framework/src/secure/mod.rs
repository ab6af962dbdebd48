//! Link security, without I/O: the shared token, the authentication
//! handshake and per-frame AES-256-GCM sealing.
//!
//! The transport drives these state machines over a socket; they never see
//! one, so every security property is unit-tested in memory.

mod cipher;
mod client_link;
mod handshake;
mod token;

pub use cipher::{CipherError, Opener, Sealer, TAG_LEN};
pub use client_link::{
    CLIENT_HELLO_COMMAND, ClientLinkCipher, ClientLinkDialer, ClientLinkError, accept_client_hello,
};
pub use handshake::{
    Dialer, DialerAwaitingVerdict, Established, HandshakeError, HandshakeParams, Listener,
    ListenerAwaitingProof, NONCE_LEN, PROTOCOL_VERSION,
};
pub use token::Token;
