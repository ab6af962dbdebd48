//! The proxy's side of the resume protocol on a connection: answering the
//! resume command (opt in, or take a session back and replay what the
//! client missed) and closing detached sessions when their grace ends.
//! The session state itself is in `sessions/resume.rs`.

use std::sync::Arc;

use bytes::Bytes;

use super::reply::error_frame;
use crate::codec::ClientFrame;
use crate::id::SessionId;
use crate::node::NodeState;
use crate::session::SessionStats;
use crate::sessions::announce_closed;
use crate::sessions::resume_reply;
use crate::sessions::{OpenSession, Outbound, Sessions};
use crate::status::Status;

#[derive(serde::Deserialize)]
pub(crate) struct AckRequest {
    pub(crate) seq: i32,
}

#[derive(serde::Deserialize, Default)]
struct ResumeRequest {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    last: i32,
}

/// Answers the resume command: opt in (no token) or take a session back
/// (token), then replay what the client missed. Returns the frames to
/// write, in order.
pub(crate) fn resume_frames(
    shared: &NodeState,
    sessions: &Sessions,
    open: &OpenSession,
    session: &mut SessionId,
    first: bool,
    frame: &ClientFrame,
) -> Vec<Bytes> {
    let command = frame.command;
    let grace = sessions.config().resume_grace.as_secs();
    let fail = |status: Status| error_frame(command, &status).into_iter().collect();
    let request: ResumeRequest = match frame.body.is_empty() {
        true => ResumeRequest::default(),
        false => match serde_json::from_slice(&frame.body) {
            Ok(request) => request,
            Err(err) => return fail(Status::bad_request(format!("resume body: {err}"))),
        },
    };
    let Some(token) = request.token else {
        return match sessions.opt_in(session.seq()) {
            Ok((token, last)) => {
                let body = resume_reply(session, &token, last, grace, 0);
                ClientFrame::new(command, body).encode(usize::MAX).ok().into_iter().collect()
            }
            Err(status) => fail(status),
        };
    };
    if !first {
        return fail(Status::bad_request("resume must be the first message on a connection"));
    }
    match sessions.resume(session.seq(), open.generation, &token, request.last) {
        Ok(resumed) => {
            tracing::debug!(from = %session, to = %resumed.id, replayed = resumed.replay.len(), "session resumed");
            *session = resumed.id;
            let last = resumed.replay.last().map_or(request.last, |f| f.seq);
            let body = resume_reply(session, &resumed.token, last, grace, resumed.replay.len());
            let reply = ClientFrame::new(command, body).encode(usize::MAX).ok();
            reply.into_iter().chain(resumed.replay.iter().map(Outbound::encode)).collect()
        }
        Err(refused) => {
            SessionStats::bump(&shared.session_stats.resume_refused);
            if let Some(closed) = refused.closed {
                announce_closed(shared, &closed);
            }
            fail(refused.status)
        }
    }
}

/// Closes a detached session when its grace period ends, unless it was
/// resumed meanwhile (or at once on shutdown).
pub(crate) fn expire_later(shared: &Arc<NodeState>, seq: u64, generation: u64) {
    let Some(sessions) = shared.sessions.clone() else { return };
    let grace = sessions.config().resume_grace;
    let task = Arc::clone(shared);
    shared.shutdown.spawn(async move {
        tokio::select! {
            () = tokio::time::sleep(grace) => {}
            () = task.shutdown.cancelled() => {}
        }
        if let Some(closed) = sessions.expire(seq, generation) {
            announce_closed(&task, &closed);
        }
    });
}
