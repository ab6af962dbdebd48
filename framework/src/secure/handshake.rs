//! Mutual challenge–response authentication of an RPC link.
//!
//! ```text
//! dialer                                   listener
//!   | Hello{v, id_d, type_d, nonce_d, enc_d}  |
//!   |---------------------------------------->|
//!   |  Hello{v, id_l, type_l, nonce_l, enc_l, |
//!   |        proof = HMAC(token, "espoir/server" ‖ T)}
//!   |<----------------------------------------|
//!   | Proof{mac = HMAC(token, "espoir/client" ‖ T)}
//!   |---------------------------------------->|
//!   |            Verdict{accepted}            |
//!   |<----------------------------------------|
//! ```
//!
//! `T`, the transcript, binds the protocol version, both node ids, both
//! node types, both nonces and both encryption wishes, so nothing in the
//! hellos can be changed by a man in the middle (no downgrade to clear
//! text). The token itself never crosses the wire. Both sides contribute a
//! fresh random nonce, so a recorded handshake replayed later proves
//! nothing; the two labels stop a proof from being reflected back.
//!
//! After the verdict, the link is encrypted when either side asked for it,
//! with per-direction keys from HKDF-SHA256 (salt = SHA-256(T), key = token).

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::cipher::{Opener, Sealer};
use super::token::Token;
use crate::codec::PROTOCOL_VERSION;
use crate::id::NodeId;
use crate::proto::{Handshake, Hello, NodeType, Proof, Verdict, handshake::Step};
use crate::routing::Lane;

/// Length of each side's random nonce.
pub const NONCE_LEN: usize = 32;

const MAC_LEN: usize = 32;
const LABEL_SERVER: &[u8] = b"espoir/server";
const LABEL_CLIENT: &[u8] = b"espoir/client";

type HmacSha256 = Hmac<Sha256>;

/// What one side brings to a handshake.
#[derive(Debug, Clone)]
pub struct HandshakeParams {
    /// This node's id.
    pub node_id: NodeId,
    /// This node's role.
    pub node_type: NodeType,
    /// The link's shared token.
    pub token: Token,
    /// Whether this side wants the link encrypted.
    pub encrypt: bool,
    /// The dialer's lane for this connection (ignored on the listening side).
    pub lane: Lane,
}

/// The result of a successful handshake.
#[derive(Debug)]
pub struct Established {
    /// The authenticated peer's node id.
    pub peer_id: NodeId,
    /// The peer's role.
    pub peer_type: NodeType,
    /// The connection's lane, as its dialer numbered it.
    pub lane: Lane,
    /// Seals outgoing payloads, when the link is encrypted.
    pub sealer: Option<Sealer>,
    /// Opens incoming payloads, when the link is encrypted.
    pub opener: Option<Opener>,
}

impl Established {
    /// Whether frames on this link are sealed.
    pub fn encrypted(&self) -> bool {
        self.sealer.is_some()
    }
}

/// Why a handshake failed. Every variant closes the connection, and no
/// frame from that peer is ever dispatched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// The peer speaks another protocol version.
    #[error("peer speaks protocol version {peer}, this node speaks {PROTOCOL_VERSION}")]
    Version {
        /// The peer's version.
        peer: u32,
    },
    /// A message was missing, out of order, or had bad fields.
    #[error("malformed handshake: {0}")]
    Malformed(&'static str),
    /// The peer could not prove it knows the token (wrong token, or a
    /// replayed handshake).
    #[error("peer failed to prove knowledge of the link token")]
    BadProof,
    /// The listener refused us, saying why.
    #[error("peer refused the handshake: {0}")]
    Refused(String),
    /// No handshake completed within the deadline.
    #[error("handshake timed out")]
    Timeout,
}

impl HandshakeError {
    /// A short, stable label for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            HandshakeError::Version { .. } => "version",
            HandshakeError::Malformed(_) => "malformed",
            HandshakeError::BadProof => "bad_token",
            HandshakeError::Refused(_) => "refused",
            HandshakeError::Timeout => "timeout",
        }
    }

    /// What a listener tells a refused dialer: enough for an operator to
    /// fix the config, nothing an attacker could use.
    pub fn refusal(&self) -> Handshake {
        let reason = match self {
            HandshakeError::Version { .. } => self.to_string(),
            HandshakeError::BadProof => {
                "authentication failed: check that both ends use the same token".into()
            }
            _ => "malformed handshake".into(),
        };
        step(Step::Verdict(Verdict { accepted: false, reason }))
    }
}

fn step(s: Step) -> Handshake {
    Handshake { step: Some(s) }
}

/// The parts of a hello that enter the transcript.
struct Side {
    id: NodeId,
    node_type: NodeType,
    nonce: [u8; NONCE_LEN],
    encrypt: bool,
    lane: Lane,
}

impl Side {
    fn ours(p: &HandshakeParams, nonce: [u8; NONCE_LEN]) -> Side {
        Side { id: p.node_id.clone(), node_type: p.node_type, nonce, encrypt: p.encrypt, lane: p.lane }
    }

    fn hello(&self, proof: Vec<u8>) -> Handshake {
        step(Step::Hello(Hello {
            protocol_version: PROTOCOL_VERSION,
            node_id: self.id.to_string(),
            node_type: self.node_type as i32,
            nonce: self.nonce.to_vec().into(),
            encrypt: self.encrypt,
            proof: proof.into(),
            lane: u32::from(self.lane.index),
            lanes: u32::from(self.lane.count),
        }))
    }

    /// Validates a peer's hello. Returns the side and the proof bytes.
    fn theirs(msg: Handshake) -> Result<(Side, Vec<u8>), HandshakeError> {
        let Some(Step::Hello(h)) = msg.step else {
            return Err(HandshakeError::Malformed("expected hello"));
        };
        if h.protocol_version != PROTOCOL_VERSION {
            return Err(HandshakeError::Version { peer: h.protocol_version });
        }
        let id = NodeId::parse(&h.node_id).map_err(|_| HandshakeError::Malformed("bad node id"))?;
        let node_type = NodeType::try_from(h.node_type)
            .ok()
            .filter(|t| *t != NodeType::Unspecified)
            .ok_or(HandshakeError::Malformed("unknown node type"))?;
        let nonce: [u8; NONCE_LEN] =
            h.nonce.as_ref().try_into().map_err(|_| HandshakeError::Malformed("nonce must be 32 bytes"))?;
        // A hello without lanes (0 of 0) is the sole lane.
        let count = u16::try_from(h.lanes.max(1)).map_err(|_| HandshakeError::Malformed("too many lanes"))?;
        let index = u16::try_from(h.lane).ok();
        let lane =
            index.and_then(|i| Lane::new(i, count)).ok_or(HandshakeError::Malformed("lane out of range"))?;
        Ok((Side { id, node_type, nonce, encrypt: h.encrypt, lane }, h.proof.to_vec()))
    }
}

/// The transcript hash input: everything both hellos said, unambiguously.
fn transcript(dialer: &Side, listener: &Side) -> Vec<u8> {
    let mut t = Vec::with_capacity(160);
    t.extend_from_slice(b"espoir-handshake");
    t.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
    for side in [dialer, listener] {
        let id = side.id.as_str().as_bytes();
        // Ids are validated to 32 bytes, but length-prefix anyway so the
        // encoding stays unambiguous if that ever changes.
        t.extend_from_slice(&(id.len() as u16).to_be_bytes());
        t.extend_from_slice(id);
        t.extend_from_slice(&(side.node_type as i32).to_be_bytes());
        t.extend_from_slice(&side.nonce);
        t.push(u8::from(side.encrypt));
        t.extend_from_slice(&side.lane.index.to_be_bytes());
        t.extend_from_slice(&side.lane.count.to_be_bytes());
    }
    t
}

fn mac(token: &Token, label: &[u8], transcript: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(token.expose()).expect("hmac takes any key length");
    mac.update(label);
    mac.update(transcript);
    mac
}

fn verify(token: &Token, label: &[u8], transcript: &[u8], proof: &[u8]) -> Result<(), HandshakeError> {
    if proof.len() != MAC_LEN {
        return Err(HandshakeError::BadProof);
    }
    // verify_slice compares in constant time.
    mac(token, label, transcript).verify_slice(proof).map_err(|_| HandshakeError::BadProof)
}

/// Keys for (dialer → listener, listener → dialer), when encryption is on.
fn derive_keys(token: &Token, transcript: &[u8]) -> ([u8; 32], [u8; 32]) {
    let salt = Sha256::digest(transcript);
    let hk = Hkdf::<Sha256>::new(Some(&salt), token.expose());
    let (mut d2l, mut l2d) = ([0u8; 32], [0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's 8160-byte limit.
    hk.expand(b"espoir/dialer-to-listener", &mut d2l).expect("32 bytes is a valid hkdf length");
    hk.expand(b"espoir/listener-to-dialer", &mut l2d).expect("32 bytes is a valid hkdf length");
    (d2l, l2d)
}

/// The dialing side, before the listener's hello.
#[derive(Debug)]
pub struct Dialer {
    params: HandshakeParams,
    nonce: [u8; NONCE_LEN],
}

impl Dialer {
    /// Starts a handshake with a fresh random `nonce`; returns the hello to send.
    pub fn start(params: HandshakeParams, nonce: [u8; NONCE_LEN]) -> (Dialer, Handshake) {
        let hello = Side::ours(&params, nonce).hello(Vec::new());
        (Dialer { params, nonce }, hello)
    }

    /// Checks the listener's hello and proof; returns our proof to send.
    ///
    /// # Errors
    /// [`HandshakeError::BadProof`] when the listener does not know the
    /// token; other variants for a malformed or foreign hello, or a refusal.
    pub fn on_hello(self, msg: Handshake) -> Result<(DialerAwaitingVerdict, Handshake), HandshakeError> {
        if let Some(Step::Verdict(v)) = &msg.step {
            return Err(HandshakeError::Refused(v.reason.clone()));
        }
        let (listener, proof) = Side::theirs(msg)?;
        let ours = Side::ours(&self.params, self.nonce);
        let t = transcript(&ours, &listener);
        verify(&self.params.token, LABEL_SERVER, &t, &proof)?;
        let reply = mac(&self.params.token, LABEL_CLIENT, &t).finalize().into_bytes().to_vec();
        let (sealer, opener) = if ours.encrypt || listener.encrypt {
            let (d2l, l2d) = derive_keys(&self.params.token, &t);
            (Some(Sealer::new(&d2l)), Some(Opener::new(&l2d)))
        } else {
            (None, None)
        };
        let established = Established {
            peer_id: listener.id,
            peer_type: listener.node_type,
            lane: ours.lane,
            sealer,
            opener,
        };
        Ok((DialerAwaitingVerdict { established }, step(Step::Proof(Proof { mac: reply.into() }))))
    }
}

/// The dialing side, after sending its proof.
#[derive(Debug)]
pub struct DialerAwaitingVerdict {
    established: Established,
}

impl DialerAwaitingVerdict {
    /// Completes the handshake on the listener's verdict.
    ///
    /// # Errors
    /// [`HandshakeError::Refused`] with the listener's reason, or
    /// [`HandshakeError::Malformed`].
    pub fn on_verdict(self, msg: Handshake) -> Result<Established, HandshakeError> {
        match msg.step {
            Some(Step::Verdict(v)) if v.accepted => Ok(self.established),
            Some(Step::Verdict(v)) => Err(HandshakeError::Refused(v.reason)),
            _ => Err(HandshakeError::Malformed("expected verdict")),
        }
    }
}

/// The listening side.
#[derive(Debug)]
pub struct Listener;

impl Listener {
    /// Answers a dialer's hello with ours, carrying our proof.
    ///
    /// # Errors
    /// [`HandshakeError::Version`] or [`HandshakeError::Malformed`]; send
    /// [`HandshakeError::refusal`] and close.
    pub fn on_hello(
        params: HandshakeParams,
        msg: Handshake,
        nonce: [u8; NONCE_LEN],
    ) -> Result<(ListenerAwaitingProof, Handshake), HandshakeError> {
        let (dialer, _ignored_proof) = Side::theirs(msg)?;
        let ours = Side::ours(&params, nonce);
        let t = transcript(&dialer, &ours);
        let proof = mac(&params.token, LABEL_SERVER, &t).finalize().into_bytes().to_vec();
        let hello = ours.hello(proof);
        let encrypt = dialer.encrypt || ours.encrypt;
        Ok((ListenerAwaitingProof { params, dialer, transcript: t, encrypt }, hello))
    }
}

/// The listening side, after sending its hello.
pub struct ListenerAwaitingProof {
    params: HandshakeParams,
    dialer: Side,
    transcript: Vec<u8>,
    encrypt: bool,
}

impl std::fmt::Debug for ListenerAwaitingProof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenerAwaitingProof").field("dialer", &self.dialer.id).finish_non_exhaustive()
    }
}

impl ListenerAwaitingProof {
    /// Checks the dialer's proof; on success returns the verdict to send.
    ///
    /// # Errors
    /// [`HandshakeError::BadProof`] for a wrong token or a replayed proof;
    /// send [`HandshakeError::refusal`] and close.
    pub fn on_proof(self, msg: Handshake) -> Result<(Established, Handshake), HandshakeError> {
        let Some(Step::Proof(p)) = msg.step else {
            return Err(HandshakeError::Malformed("expected proof"));
        };
        verify(&self.params.token, LABEL_CLIENT, &self.transcript, &p.mac)?;
        let (sealer, opener) = if self.encrypt {
            let (d2l, l2d) = derive_keys(&self.params.token, &self.transcript);
            (Some(Sealer::new(&l2d)), Some(Opener::new(&d2l)))
        } else {
            (None, None)
        };
        let established = Established {
            peer_id: self.dialer.id,
            peer_type: self.dialer.node_type,
            lane: self.dialer.lane,
            sealer,
            opener,
        };
        Ok((established, step(Step::Verdict(Verdict { accepted: true, reason: String::new() }))))
    }
}

#[cfg(test)]
#[path = "handshake_tests.rs"]
mod tests;
