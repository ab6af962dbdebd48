//! Link security, without I/O: the shared token, the authentication
//! handshake and per-frame AES-256-GCM sealing, for links between nodes and
//! for encrypted client websockets.
//!
//! The transport drives these state machines over a socket; they never see
//! one, so every security property is unit-tested in memory. Applications
//! rarely need this module: a node runs it for them. It is public for
//! clients that encrypt their websocket and for tools that speak the RPC
//! protocol themselves.
//!
//! * `token`: [`Token`], the shared secret (also at the crate root, since
//!   configs hold tokens).
//! * `handshake`: the mutual authentication of an RPC link: [`Dialer`] →
//!   [`DialerAwaitingVerdict`] and [`Listener`] → [`ListenerAwaitingProof`],
//!   both ending in [`Established`].
//! * `cipher`: [`Sealer`] and [`Opener`], one AES-256-GCM seal per frame.
//! * `client_link`: the same for a client websocket (`websocket.encode:
//!   1`): [`ClientLinkDialer`] and [`ClientLinkCipher`] on the client,
//!   [`accept_client_hello`] on the proxy.

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
    ListenerAwaitingProof, NONCE_LEN,
};
pub use token::Token;
