//! What handling one client request gives back, before the connection
//! writes it: the reply body and the node that served it, or an error
//! frame.

use bytes::Bytes;

use crate::codec::ClientFrame;
use crate::handler::error_body;
use crate::id::NodeId;
use crate::proto::NodeType;
use crate::status::Status;

/// A request's answer, from this node's handler or a forwarded call.
#[derive(Debug)]
pub(crate) struct Answer {
    /// The reply body; none when the handler answers nothing.
    pub(crate) body: Option<Bytes>,
    /// The node that ran the handler, when it was another node: a
    /// stateful command's session sticks to it.
    pub(crate) served_by: Option<(NodeType, NodeId)>,
}

/// A request that failed, and the node it reached when that node (not the
/// way to it) failed it: the session has been there, so that node gets
/// the close notice like any node that answered.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) status: Status,
    pub(crate) reached: Option<(NodeType, NodeId)>,
}

impl From<Status> for Failure {
    fn from(status: Status) -> Failure {
        Failure { status, reached: None }
    }
}

/// The client frame for a request that failed with `status`.
pub(crate) fn error_frame(command: i32, status: &Status) -> Option<Bytes> {
    ClientFrame::new(command, error_body(status)).encode(usize::MAX).ok()
}
