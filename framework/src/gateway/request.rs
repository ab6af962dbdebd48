//! One client request handled: the topic commands answered on the spot,
//! the proxy-only notices refused, everything else run by this node's
//! handler or forwarded to the node type that handles it. Heartbeats are
//! answered on arrival instead ([`proxy_heartbeat`]).

use std::sync::Arc;

use bytes::Bytes;

use super::forward::forward;
use super::reply::{Answer, Failure, error_frame};
use crate::codec::ClientFrame;
use crate::dispatch::run_handler;
use crate::handler::{Context, NodeApi, SessionView};
use crate::id::{NodeId, SessionId};
use crate::limits;
use crate::node::NodeState;
use crate::proto::NodeType;
use crate::routing::Target;
use crate::sessions::RequestInfo;
use crate::status::{Code, Status};
use crate::trace::{Hop, HopSpan};

/// What the connection does once a client frame is handled.
#[derive(Debug)]
pub(crate) struct FrameOutcome {
    /// The request's command, for the sent-message count.
    pub(crate) command: i32,
    /// The encoded frame to write back (a reply or an error), if any.
    pub(crate) reply: Option<Bytes>,
    /// The node that answered.
    pub(crate) served_by: Option<(NodeType, NodeId)>,
    /// Whether the message was stateful, so that the session sticks to the
    /// node that answered.
    pub(crate) stateful: bool,
}

/// The heartbeat command this proxy answers itself, on arrival
/// (`websocket.heartbeat_command`): a heartbeat proves the client↔proxy
/// path alive, so it costs no hop and waits for no request in flight. A
/// proxy-side handler for the id takes precedence; its frames are handled
/// in order like any other.
pub(crate) fn proxy_heartbeat(shared: &NodeState) -> Option<i32> {
    let command = shared.config.websocket.as_ref()?.heartbeat_command;
    shared.handlers.events.get(command).is_none().then_some(command)
}

/// The proxy's answer to a heartbeat.
pub(crate) fn heartbeat_reply(command: i32) -> Bytes {
    ClientFrame::new(command, Bytes::from_static(br#"{"code":200}"#)).encode(usize::MAX).unwrap_or_default()
}

/// Handles one client frame of `session` to its end: its reply, or the
/// error frame that says why there is none.
pub(crate) async fn handle_frame(
    shared: Arc<NodeState>,
    session: SessionId,
    frame: ClientFrame,
) -> FrameOutcome {
    let command = frame.command;
    let stateful = !shared.router.is_stateless(command);
    // Topic subscriptions live on this proxy: it answers them itself.
    if let Some(subscribe) = super::topics::topic_command(&shared, command) {
        let reply = super::topics::answer(&shared, &session, &frame, subscribe);
        return FrameOutcome { command, reply, served_by: None, stateful: false };
    }
    // The close and bind notices are the proxy's word to backends that a
    // session ended or logged in; a client sending their ids would fake
    // them (obespoir bug 12: any client could send 999).
    if let Some(what) = reserved_notice(&shared, command) {
        let status = Status::new(
            Code::FORBIDDEN,
            format!("command {command} is the {what} notice; clients cannot send it"),
        );
        shared.metrics.error(&status);
        return FrameOutcome {
            command,
            reply: error_frame(command, &status),
            served_by: None,
            stateful: false,
        };
    }
    // The root of the request's trace, when this proxy traces; it ends
    // once the reply is made.
    let span = shared.tracer.root(Hop::ProxyReceive, command);
    let info = match &shared.sessions {
        Some(sessions) => sessions.request_info(session.seq(), stateful),
        None => RequestInfo::default(),
    };
    let result = match shared.router.target(command) {
        Target::Local => {
            handle_locally(&shared, &session, info, frame, span.as_ref()).await.map_err(Failure::from)
        }
        Target::Forward(node_type) => forward(&shared, &session, info, frame, node_type, span.as_ref()).await,
    };
    match result {
        Ok(answer) => FrameOutcome {
            command,
            reply: answer.body.and_then(|body| ClientFrame::new(command, body).encode(usize::MAX).ok()),
            served_by: answer.served_by,
            stateful,
        },
        // The node that failed it still gets the session's close notice,
        // but a failure does not pin the session to it.
        Err(Failure { status, reached }) => {
            shared.metrics.error(&status);
            if let Some(span) = &span {
                span.fail(&status);
            }
            FrameOutcome {
                command,
                reply: error_frame(command, &status),
                served_by: reached,
                stateful: false,
            }
        }
    }
}

/// Which proxy-only notice `command` is, if any.
fn reserved_notice(shared: &NodeState, command: i32) -> Option<&'static str> {
    if shared.config.websocket.as_ref().is_some_and(|ws| ws.offline_command == command) {
        return Some("close");
    }
    if shared.sessions.as_ref().is_some_and(|s| s.config().bind_command == command) {
        return Some("bind");
    }
    None
}

/// Runs the proxy's own handler for the frame, within the handler limits.
async fn handle_locally(
    shared: &Arc<NodeState>,
    session: &SessionId,
    info: RequestInfo,
    frame: ClientFrame,
    span: Option<&HopSpan>,
) -> Result<Answer, Status> {
    let handler = shared
        .handlers
        .events
        .get(frame.command)
        .cloned()
        .ok_or_else(|| shared.no_handler(frame.command, true))?;
    let view = SessionView::from_wire(info.uid.as_deref().unwrap_or_default(), info.data, info.pins);
    let ctx = Context::new(Arc::clone(shared) as Arc<dyn NodeApi>, Some(session.clone()), frame.command)
        .with_view(view);
    let _slot = limits::admit(shared, frame.command)?;
    let started = tokio::time::Instant::now();
    let result = run_handler(&*handler, ctx, frame.body, shared.handlers.timeout, span).await;
    // Errors are counted once, where the client's error frame is made.
    shared.metrics.handled::<()>(frame.command, started.elapsed(), &Ok(()));
    Ok(Answer { body: result?, served_by: None })
}
