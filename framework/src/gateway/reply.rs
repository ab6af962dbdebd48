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

/// The client frame for a request that failed with `status`.
pub(crate) fn error_frame(command: i32, status: &Status) -> Option<Bytes> {
    ClientFrame::new(command, error_body(status)).encode(usize::MAX).ok()
}
