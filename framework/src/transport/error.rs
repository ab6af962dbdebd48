//! Errors of the transport boundary.

use std::time::Duration;

use crate::codec::RpcFrameError;
use crate::secure::{CipherError, HandshakeError};
use crate::status::{Code, Status};

/// Why a link could not be set up or had to be closed.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The socket failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The byte stream broke the framing (for example an over-long frame).
    #[error(transparent)]
    Frame(#[from] RpcFrameError),
    /// Authentication failed.
    #[error("handshake: {0}")]
    Handshake(#[from] HandshakeError),
    /// A sealed frame failed authentication.
    #[error(transparent)]
    Cipher(#[from] CipherError),
    /// A frame was not a valid protobuf message.
    #[error("undecodable message: {0}")]
    Decode(#[from] prost::DecodeError),
    /// An envelope carried another protocol version than the handshake agreed.
    #[error("envelope of protocol version {0} on a version-{v} link", v = crate::codec::PROTOCOL_VERSION)]
    Version(u32),
    /// Nothing arrived for longer than the dead-peer threshold.
    #[error("peer silent for {0:?}, declared dead")]
    Silent(Duration),
}

impl LinkError {
    /// Whether this error means the peer broke the protocol (as opposed to
    /// the network failing).
    pub fn is_protocol_violation(&self) -> bool {
        matches!(
            self,
            LinkError::Frame(RpcFrameError::TooLarge { .. })
                | LinkError::Cipher(_)
                | LinkError::Decode(_)
                | LinkError::Version(_)
        )
    }
}

/// Why a frame could not be queued on a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The link's send queue is full: the peer is not keeping up.
    #[error("link send queue is full")]
    QueueFull,
    /// The link is closed.
    #[error("link is closed")]
    Closed,
    /// The envelope is larger than the link's maximum frame.
    #[error("message exceeds the maximum rpc frame size")]
    TooLarge,
    /// No link to the wanted node is up.
    #[error("no live link to the target node")]
    NoLink,
}

/// Why a call did not produce a response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The request could not be sent.
    #[error("request not sent: {0}")]
    Send(#[from] SendError),
    /// No response before the deadline; a response arriving later is dropped.
    #[error("no response within {0:?}")]
    Timeout(Duration),
    /// The link the request went out on closed before the answer came, and
    /// no other link to that peer is up: the answer cannot arrive.
    #[error("the link to the peer was lost before it answered")]
    LinkLost,
}

impl From<CallError> for Status {
    fn from(err: CallError) -> Status {
        match err {
            CallError::Timeout(_) => Status::new(Code::TIMEOUT, err.to_string()),
            CallError::Send(SendError::QueueFull) => Status::new(Code::OVERLOADED, err.to_string()),
            CallError::Send(SendError::TooLarge) => Status::new(Code::BAD_REQUEST, err.to_string()),
            CallError::Send(_) | CallError::LinkLost => Status::new(Code::UNAVAILABLE, err.to_string()),
        }
    }
}
