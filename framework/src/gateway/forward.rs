//! A client request forwarded to a node of another type, and its one
//! retry on another node when the first refused it before running it.

use super::reply::{Answer, Failure};
use crate::codec::ClientFrame;
use crate::id::{NodeId, SessionId};
use crate::metrics::Via;
use crate::node::{NO_REPLY, NodeState};
use crate::proto::{Envelope, Kind, NodeType};
use crate::routing::{LaneKey, worth_another_node};
use crate::sessions::RequestInfo;
use crate::status::{Code, Status};
use crate::trace::{Hop, HopSpan};
use crate::transport::{CallError, Link};

/// Sends a client request to a live node of `node_type` (its session's
/// pinned one when there is one) and waits for the answer. A failure says
/// which node failed it, when one did.
pub(crate) async fn forward(
    shared: &NodeState,
    session: &SessionId,
    info: RequestInfo,
    frame: ClientFrame,
    node_type: NodeType,
    span: Option<&HopSpan>,
) -> Result<Answer, Failure> {
    let mut pins = Some(info.pins);
    let uid = info.uid.as_deref().unwrap_or_default().to_owned();
    let mut first: Option<(Envelope, Link)> = None;
    let (response, link) = loop {
        let mut request =
            shared.router.envelope(Kind::Request, frame.command, Some(session), frame.body.clone());
        // A retry goes out without pins: the pinned node is the one that refused.
        request.pins = pins.take().unwrap_or_default();
        request.uid.clone_from(&uid);
        request.session_data = info.data.clone();
        if let Some(span) = span {
            span.stamp(&mut request);
        }
        let avoid = first.as_ref().and_then(|(refusal, _)| NodeId::parse_bytes(&refusal.source).ok());
        let lane = LaneKey::of(&request);
        let Some(link) = shared.link_for_type_except(node_type, &request.pins, lane, avoid.as_ref()) else {
            // Nobody else to try: the client hears the first refusal.
            match first {
                Some(refused) => break refused,
                None => {
                    shared.no_node_for(frame.command, node_type);
                    return Err(Status::unavailable(format!("no live {node_type:?} node")).into());
                }
            }
        };
        shared.metrics.sent(Via::Rpc, frame.command);
        let response =
            shared.router.endpoint.call(&link, request, shared.router.call_timeout).await.map_err(|err| {
                // A node linked directly that did not answer in time got the
                // request (and may have run it): it has seen the session.
                let reached = (matches!(err, CallError::Timeout(_)) && link.peer_type() == node_type)
                    .then(|| (node_type, link.peer_id().clone()));
                Failure { status: Status::from(err), reached }
            })?;
        if first.is_some()
            || !worth_another_node(
                response.not_run,
                Code(response.status),
                shared.router.is_stateless(frame.command),
            )
        {
            break (response, link);
        }
        first = Some((response, link));
    };
    // Ends when the reply is made.
    let _reply = shared.tracer.follow(Hop::Reply, &response);
    // Usually the node at the other end of the link answered: reuse its
    // id rather than parse (and allocate) it again.
    let source = if response.source == link.peer_id().as_str() {
        Ok(link.peer_id().clone())
    } else {
        NodeId::parse_bytes(&response.source)
    };
    let served_by = source.ok().and_then(|id| {
        NodeType::try_from(response.origin_type).ok().filter(|t| *t != NodeType::Unspecified).map(|t| (t, id))
    });
    match response.status {
        0 => Ok(Answer { body: Some(response.payload), served_by }),
        s if s == NO_REPLY.as_u32() => Ok(Answer { body: None, served_by }),
        // A refusal before the handler ran (busy, draining) leaves nothing
        // of the session on that node; any other failure came from its run.
        s => Err(Failure {
            status: Status::new(Code(s), response.message),
            reached: served_by.filter(|_| !response.not_run),
        }),
    }
}
