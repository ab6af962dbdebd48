//! Publishing to a topic from any node: the message goes to every proxy
//! as one SESSION envelope per proxy (like a group broadcast), each proxy
//! delivering to its own subscribers (`topics.rs`).
//!
//! A producer outside the cluster gets in two ways: `POST /publish` on a
//! node's admin port (`http/publish.rs`), or a node-to-node call, a
//! REQUEST envelope carrying `session_op.topic_publish` to any node, which
//! hands it to every proxy and answers once it is sent.

use super::ops::send;
use crate::id::{NodeId, SessionId};
use crate::node::NodeState;
use crate::proto::session_op::Op;
use crate::proto::{Envelope, Kind, TopicPublish};
use crate::session::SessionRequest;
use crate::status::Status;
use crate::topic::{InvalidMessage, TopicMessage, TopicStats};

/// Publishes `message` to every proxy. `serving`: the session of the
/// handler that publishes, whose other effects it keeps its order with.
pub(crate) fn publish(
    shared: &NodeState,
    message: TopicMessage,
    serving: Option<&SessionId>,
) -> Result<(), Status> {
    let max_body = shared.config.topics.max_message_bytes;
    if let Err(invalid) = message.validate(max_body) {
        refused(shared, &invalid);
        return Err(Status::bad_request(invalid.to_string()));
    }
    send(shared, SessionRequest::Publish { message, max_body }, serving)?;
    TopicStats::bump(&shared.topic_stats.published);
    Ok(())
}

/// Counts a message refused at this node.
pub(crate) fn refused(shared: &NodeState, invalid: &InvalidMessage) {
    if matches!(invalid, InvalidMessage::TooLarge { .. }) {
        TopicStats::bump(&shared.topic_stats.refused_message_size);
    }
}

/// The REQUEST a producer with an RPC link to a node sends it to publish
/// `message` ([`wire::publish_envelope`](crate::wire::publish_envelope));
/// the node answers with the outcome (status 0, or why not).
pub fn publish_envelope(message: TopicMessage) -> Envelope {
    let TopicMessage { topic, key, command, body } = message;
    let op = Op::TopicPublish(TopicPublish { topic, key: key.unwrap_or_default() });
    Envelope {
        version: crate::codec::PROTOCOL_VERSION,
        kind: Kind::Request as i32,
        command,
        // The node it is sent to handles it; it is never forwarded.
        ttl: 1,
        payload: body,
        session_op: Some(crate::proto::SessionOp { op: Some(op) }),
        ..Envelope::default()
    }
}

/// A producer's publish call (a REQUEST with `topic_publish`), as opposed
/// to a publish on its way to the proxies (a SESSION envelope).
pub(crate) fn is_publish_call(envelope: &Envelope) -> bool {
    envelope.kind() == Kind::Request
        && matches!(envelope.session_op.as_ref().and_then(|o| o.op.as_ref()), Some(Op::TopicPublish(_)))
}

/// Publishes what a producer's call carries, and answers it with the
/// outcome.
pub(crate) fn answer_call(shared: &NodeState, envelope: Envelope) {
    let result = match envelope.session_op.as_ref().and_then(|o| o.op.as_ref()) {
        Some(Op::TopicPublish(p)) => {
            publish(shared, TopicMessage::from_wire(envelope.command, &envelope.payload, p), None)
        }
        _ => Err(Status::bad_request("not a publish")),
    };
    if let Err(status) = &result {
        tracing::debug!(source = %String::from_utf8_lossy(&envelope.source), error = %status, "publish call refused");
    }
    let Ok(source) = NodeId::parse_bytes(&envelope.source) else { return };
    let response = shared.router.response(&envelope, result.map(|()| None));
    if let Err(err) = shared.send_to_node(&source, response) {
        tracing::debug!(%source, error = %err, "could not answer a publish call");
    }
}
