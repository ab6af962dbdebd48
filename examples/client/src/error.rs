//! What can go wrong for a client.

use std::time::Duration;

/// A request, connection or admin call that failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error body (`{"code", "msg"}`); codes are
    /// in docs/betting.md and docs/handlers.md.
    #[error("error {code}: {msg}")]
    Status {
        /// The code.
        code: u32,
        /// The server's message.
        msg: String,
    },
    /// No reply in time.
    #[error("no reply to command {command} within {after:?}")]
    Timeout {
        /// The request's command.
        command: i32,
        /// The timeout.
        after: Duration,
    },
    /// Not connected right now, or the connection was lost before the
    /// reply; the client reconnects by itself.
    #[error("not connected (the client is reconnecting)")]
    Disconnected,
    /// The client was closed or gave up reconnecting.
    #[error("the client is closed")]
    Closed,
    /// The websocket (or the HTTP connection) could not be opened.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// `wss://`: the proxy's certificate was refused (expired, not for
    /// this host name, not signed by a trusted authority), or the TLS
    /// handshake failed. The message says which.
    #[error("tls: {0}")]
    Tls(String),
    /// A CA file given to [`ClientOptions::with_ca_file`](crate::ClientOptions::with_ca_file)
    /// could not be read or holds no usable certificate.
    #[error("CA file {path}: {reason}")]
    CaFile {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The encrypted link could not be set up or a frame failed to open.
    #[error(transparent)]
    Link(#[from] espoir::secure::ClientLinkError),
    /// A frame could not be encoded or decoded.
    #[error("bad frame: {0}")]
    Frame(String),
    /// A body was not the JSON expected.
    #[error("unexpected body: {0}")]
    Json(#[from] serde_json::Error),
}

impl ClientError {
    /// The server's error code, for [`ClientError::Status`].
    pub fn code(&self) -> Option<u32> {
        match self {
            ClientError::Status { code, .. } => Some(*code),
            _ => None,
        }
    }
}
