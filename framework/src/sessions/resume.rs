//! Resume: a session that outlives its connection for a grace period, and
//! a reconnecting client that takes it back with its token.
//!
//! Opting in (the client's first resume command without a token) gives the
//! session a secret and a replay buffer; from then on its pushes are
//! numbered. When its connection is *lost* (not closed by the client, not
//! kicked, not timed out), the session is detached instead of closed: it
//! keeps its user, data, groups and pins, and keeps numbering and buffering
//! pushes. A new connection whose first frame presents the token within the
//! grace period is attached to it, and the pushes after the client's last
//! one are replayed. Otherwise the grace period ends and the session closes
//! as any other would.

use bytes::Bytes;

use super::record::{Outbound, Resumable, Stop};
use super::table::{Closed, Sessions};
use crate::id::SessionId;
use crate::session::{ReplayBuffer, ResumeSecret, SessionStats, parse_token};
use crate::status::{Code, Status};

/// Status of a resume refused because pushes were lost: the client must
/// start a new session.
pub(crate) const GONE: Code = Code(410);

/// What became of a session when its connection ended.
#[derive(Debug)]
pub(crate) enum Ending {
    /// The session is not this connection's any more (resumed elsewhere,
    /// or already closed): nothing to do.
    NotOurs,
    /// Kept for resume; close it with [`Sessions::expire`] after the grace
    /// period unless resumed.
    Detached {
        /// Pass it to [`Sessions::expire`].
        generation: u64,
    },
    /// Closed for good: send its close notice.
    Closed(Closed),
}

/// A session taken back by a new connection.
#[derive(Debug)]
pub(crate) struct Resumed {
    pub(crate) id: SessionId,
    pub(crate) token: String,
    /// Pushes the client missed, in order.
    pub(crate) replay: Vec<Outbound>,
}

/// A refused resume; the connection goes on with its own new session.
#[derive(Debug)]
pub(crate) struct Refused {
    pub(crate) status: Status,
    /// The old session, closed because it can no longer be made whole
    /// (boxed: the refusal path is rare, the success path should be small).
    pub(crate) closed: Option<Box<Closed>>,
}

impl From<Status> for Refused {
    fn from(status: Status) -> Refused {
        Refused { status, closed: None }
    }
}

fn unknown() -> Status {
    // One answer for every kind of wrong token, so that probing tells
    // nothing about which sessions exist.
    Status::not_found("unknown or expired session")
}

impl Sessions {
    /// Whether resume is on (`websocket.sessions.resume_grace > 0`).
    pub(crate) fn resume_enabled(&self) -> bool {
        !self.cfg.resume_grace.is_zero()
    }

    /// Opts session `seq` in to resume; returns its token and the last
    /// push number given so far. Idempotent.
    pub(crate) fn opt_in(&self, seq: u64) -> Result<(String, i32), Status> {
        let id = self.id(seq);
        let mut table = self.lock();
        let slot = table.slots.get_mut(&seq).ok_or_else(unknown)?;
        let cfg = &self.cfg;
        let resume = slot.resume.get_or_insert_with(|| Resumable {
            secret: ResumeSecret::generate(),
            replay: ReplayBuffer::new(cfg.resume_buffer, cfg.resume_buffer_bytes),
            detached: None,
        });
        Ok((resume.secret.token(&id), resume.replay.last()))
    }

    /// The client of session `seq` has every push up to `seq_no`.
    pub(crate) fn ack(&self, seq: u64, seq_no: i32) {
        if let Some(resume) = self.lock().slots.get_mut(&seq).and_then(|s| s.resume.as_mut()) {
            resume.replay.ack(seq_no);
        }
    }

    /// Connection `generation` of session `seq` ended. `lost` means the
    /// network failed under it (no close from either side): only then is a
    /// resumable session detached rather than closed. `reason` goes in the
    /// close notice.
    pub(crate) fn end(&self, seq: u64, generation: u64, lost: bool, reason: &str) -> Ending {
        let mut guard = self.lock();
        let table = &mut *guard;
        let Some(slot) = table.slots.get_mut(&seq) else { return Ending::NotOurs };
        if slot.conn.as_ref().is_none_or(|c| c.generation != generation) {
            return Ending::NotOurs;
        }
        let enabled = self.resume_enabled();
        if lost
            && enabled
            && slot.stop.is_none()
            && let Some(resume) = slot.resume.as_mut()
        {
            slot.conn = None;
            let detached = self.next_generation();
            resume.detached = Some(detached);
            SessionStats::bump(&self.stats.detached);
            return Ending::Detached { generation: detached };
        }
        let reason = match &slot.stop {
            Some(Stop::Kicked(why)) => format!("kicked: {why}"),
            Some(Stop::TooSlow) => "too slow".to_owned(),
            _ => reason.to_owned(),
        };
        self.remove_locked(table, seq, reason).map_or(Ending::NotOurs, Ending::Closed)
    }

    /// The grace period of detachment `generation` of session `seq` ended:
    /// closes it unless it was resumed meanwhile.
    pub(crate) fn expire(&self, seq: u64, generation: u64) -> Option<Closed> {
        let mut table = self.lock();
        let slot = table.slots.get(&seq)?;
        let still =
            slot.conn.is_none() && slot.resume.as_ref().is_some_and(|r| r.detached == Some(generation));
        if !still {
            return None;
        }
        SessionStats::bump(&self.stats.expired);
        self.remove_locked(&mut table, seq, "expired".to_owned())
    }

    /// Attaches the connection of session `temp` (a fresh one that has
    /// done nothing yet) to the session the token names, and returns the
    /// pushes after `last`. The temporary session disappears without a
    /// trace; a connection still attached to the old session (a half-open
    /// socket the proxy had not noticed) is told to stop.
    ///
    /// # Errors
    /// `400` for a malformed token, `404` for an unknown, expired or wrong
    /// one, `410` when pushes the client missed are no longer buffered (the
    /// old session is then closed).
    pub(crate) fn resume(
        &self,
        temp: u64,
        generation: u64,
        token: &str,
        last: i32,
    ) -> Result<Resumed, Refused> {
        let presented = parse_token(token).ok_or_else(|| Status::bad_request("malformed resume token"))?;
        let old = presented.session.seq();
        if presented.session.proxy() != &self.proxy {
            return Err(Status::not_found("the session belongs to another proxy; reconnect there").into());
        }
        let mut guard = self.lock();
        let table = &mut *guard;
        let temp_ours =
            table.slots.get(&temp).and_then(|s| s.conn.as_ref()).is_some_and(|c| c.generation == generation);
        if old == temp || !temp_ours {
            return Err(unknown().into());
        }
        let slot = table.slots.get_mut(&old).ok_or_else(unknown)?;
        let resume = slot.resume.as_mut().ok_or_else(unknown)?;
        if !resume.secret.matches(&presented) || slot.stop.is_some() {
            return Err(unknown().into());
        }
        let frames = match resume.replay.replay_after(last) {
            Ok(frames) => frames,
            Err(gap) => {
                SessionStats::bump(&self.stats.resume_refused);
                let closed = match slot.conn.is_some() {
                    true => self.kick_locked(table, old, "resume failed"),
                    false => self.remove_locked(table, old, "resume failed".to_owned()),
                }
                .map(Box::new);
                return Err(Refused { status: Status::new(GONE, format!("cannot resume: {gap}")), closed });
            }
        };
        let token = resume.secret.token(&presented.session);
        resume.detached = None;
        let new_conn = table.slots.remove(&temp).and_then(|s| s.conn);
        let slot = table.slots.get_mut(&old).ok_or_else(unknown)?;
        if let Some(stale) = std::mem::replace(&mut slot.conn, new_conn) {
            stale.kick.cancel();
        }
        SessionStats::bump(&self.stats.resumed);
        let replay = frames
            .into_iter()
            .map(|f| Outbound { command: f.command, seq: f.seq, body: f.body })
            .collect::<Vec<_>>();
        Ok(Resumed { id: presented.session, token, replay })
    }
}

/// The JSON body answering an opt-in or a resume.
pub(crate) fn resume_reply(
    session: &SessionId,
    token: &str,
    last: i32,
    grace_secs: u64,
    replayed: usize,
) -> Bytes {
    let body = serde_json::json!({
        "code": 200,
        "session": session.to_string(),
        "token": token,
        "last": last,
        "grace": grace_secs,
        "replayed": replayed,
    });
    Bytes::from(body.to_string())
}
