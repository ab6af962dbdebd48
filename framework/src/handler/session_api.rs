//! The session side of [`Context`]: user binding, session data, kicks,
//! pushes to users, groups and broadcasts. See `docs/sessions.md`.
//!
//! The proxy holding a session owns its state. Operations on one session
//! are answered by that proxy (so `ctx.bind(..).await?` returns once the
//! binding is in place, before the handler's reply can reach the client);
//! operations on users and groups go to every proxy and are not answered.
//! Whatever a handler issues reaches its own session's proxy in the order
//! it issued it (see `sessions/ops.rs`).

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::context::Context;
use super::json::encode_body;
use crate::id::SessionId;
use crate::session::{Member, SessionRequest};
use crate::status::Status;

fn json_text<T: Serialize + ?Sized>(value: &T) -> Result<String, Status> {
    let bytes = encode_body(value)?;
    String::from_utf8(bytes.to_vec()).map_err(|_| Status::internal("JSON is UTF-8"))
}

impl Context {
    fn own_session(&self) -> Result<SessionId, Status> {
        self.require_session().cloned()
    }

    fn is_own(&self, session: &SessionId) -> bool {
        self.session.as_ref() == Some(session)
    }

    /// The user id bound to this message's session, if any.
    pub fn uid(&self) -> Option<String> {
        self.view.lock().uid.clone()
    }

    /// The session data value under `key`, decoded as `T`.
    ///
    /// # Errors
    /// `BAD_REQUEST` when the stored JSON does not decode as `T`.
    pub fn session_data<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Status> {
        let view = self.view.lock();
        let Some(text) = view.data.get(key) else { return Ok(None) };
        serde_json::from_str(text)
            .map(Some)
            .map_err(|e| Status::bad_request(format!("session data {key:?} is not the expected type: {e}")))
    }

    /// Binds this message's session to user id `uid`, on its proxy. Every
    /// later request of the session carries it ([`Context::uid`]); pushes
    /// to the user reach it; the nodes that served the session get the
    /// bind notice. With `unique_login`, the user's other sessions on any
    /// proxy are kicked.
    ///
    /// # Errors
    /// `BAD_REQUEST` for a session-less message or an invalid uid,
    /// `NOT_FOUND` if the session is gone, `UNAVAILABLE`/`TIMEOUT` if its
    /// proxy cannot be reached.
    pub async fn bind(&self, uid: impl Into<String>) -> Result<(), Status> {
        let session = self.own_session()?;
        self.bind_session(&session, uid).await
    }

    /// Binds any session to `uid` (see [`Context::bind`]).
    ///
    /// # Errors
    /// As [`Context::bind`].
    pub async fn bind_session(&self, session: &SessionId, uid: impl Into<String>) -> Result<(), Status> {
        let uid = uid.into();
        let request = SessionRequest::Bind { session: session.clone(), uid: Some(uid.clone()) };
        self.node.session_call(request).await?;
        if self.is_own(session) {
            self.view.lock().uid = Some(uid);
        }
        Ok(())
    }

    /// Unbinds this message's session from its user.
    ///
    /// # Errors
    /// As [`Context::bind`].
    pub async fn unbind(&self) -> Result<(), Status> {
        let session = self.own_session()?;
        self.node.session_call(SessionRequest::Bind { session, uid: None }).await?;
        self.view.lock().uid = None;
        Ok(())
    }

    /// Sets session data `key` to `value` (as JSON) on this message's
    /// session. Later requests of the session, to any node, carry it.
    ///
    /// # Errors
    /// `BAD_REQUEST` past the limits (`websocket.sessions.max_data_keys`,
    /// `max_data_bytes`) or for a bad key; otherwise as [`Context::bind`].
    pub async fn set_session_data<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<(), Status> {
        let session = self.own_session()?;
        self.set_session_data_of(&session, key, value).await
    }

    /// Sets session data on any session (see [`Context::set_session_data`]).
    ///
    /// # Errors
    /// As [`Context::set_session_data`].
    pub async fn set_session_data_of<T: Serialize + ?Sized>(
        &self,
        session: &SessionId,
        key: &str,
        value: &T,
    ) -> Result<(), Status> {
        let text = json_text(value)?;
        let request = SessionRequest::SetData {
            session: session.clone(),
            key: key.to_owned(),
            value: Some(text.clone()),
        };
        self.node.session_call(request).await?;
        if self.is_own(session) {
            self.view.lock().data.insert(key.to_owned(), text);
        }
        Ok(())
    }

    /// Removes session data `key` from this message's session.
    ///
    /// # Errors
    /// As [`Context::bind`].
    pub async fn remove_session_data(&self, key: &str) -> Result<(), Status> {
        let session = self.own_session()?;
        let request = SessionRequest::SetData { session, key: key.to_owned(), value: None };
        self.node.session_call(request).await?;
        self.view.lock().data.remove(key);
        Ok(())
    }

    /// Closes `session`: its client gets a kick frame with `reason`
    /// (`websocket.sessions.kick_command`), then the connection closes
    /// with code 4001, and the close notice runs as for any disconnect.
    ///
    /// # Errors
    /// `NOT_FOUND` if the session is gone; otherwise as [`Context::bind`].
    pub async fn kick(&self, session: &SessionId, reason: &str) -> Result<(), Status> {
        let request =
            SessionRequest::Kick { target: Member::Session(session.clone()), reason: reason.to_owned() };
        self.node.session_call(request).await
    }

    /// Kicks every session bound to `uid`, on every proxy.
    ///
    /// # Errors
    /// `BAD_REQUEST` for an invalid uid, `UNAVAILABLE`/`OVERLOADED` when
    /// it cannot be sent.
    pub fn kick_user(&self, uid: &str, reason: &str) -> Result<(), Status> {
        let request =
            SessionRequest::Kick { target: Member::User(uid.to_owned()), reason: reason.to_owned() };
        self.node.session_send(request, self.session.as_ref())
    }

    /// Pushes `body` (as JSON) with `command` to every session bound to
    /// `uid`, on whichever proxies hold them.
    ///
    /// # Errors
    /// As [`Context::kick_user`].
    pub fn push_user<T: Serialize + ?Sized>(&self, uid: &str, command: i32, body: &T) -> Result<(), Status> {
        let request = SessionRequest::PushUser { uid: uid.to_owned(), command, body: encode_body(body)? };
        self.node.session_send(request, self.session.as_ref())
    }

    /// Adds a session, or every session of a user, to `group`. Membership
    /// ends when the session closes.
    ///
    /// # Errors
    /// `BAD_REQUEST` for a bad name or past `max_groups_per_session`;
    /// otherwise as [`Context::bind`] (a user is not answered for).
    pub async fn join_group(&self, group: &str, member: Member) -> Result<(), Status> {
        self.group_op(SessionRequest::Join { group: group.to_owned(), member }).await
    }

    /// Removes a session, or every session of a user, from `group`.
    ///
    /// # Errors
    /// As [`Context::join_group`].
    pub async fn leave_group(&self, group: &str, member: Member) -> Result<(), Status> {
        self.group_op(SessionRequest::Leave { group: group.to_owned(), member }).await
    }

    async fn group_op(&self, request: SessionRequest) -> Result<(), Status> {
        match request.session() {
            Some(_) => self.node.session_call(request).await,
            None => self.node.session_send(request, self.session.as_ref()),
        }
    }

    /// Pushes `body` (as JSON) with `command` to every member of `group`:
    /// one message to each proxy, which writes one frame per local member.
    ///
    /// # Errors
    /// As [`Context::kick_user`].
    pub fn broadcast<T: Serialize + ?Sized>(
        &self,
        group: &str,
        command: i32,
        body: &T,
    ) -> Result<(), Status> {
        self.broadcast_bytes(group, command, encode_body(body)?)
    }

    /// As [`Context::broadcast`], with a body already encoded.
    ///
    /// # Errors
    /// As [`Context::kick_user`].
    pub fn broadcast_bytes(&self, group: &str, command: i32, body: Bytes) -> Result<(), Status> {
        self.send_broadcast(group, command, body, None)
    }

    /// As [`Context::broadcast`], to every member but this message's own
    /// session: a chat line goes to the others, and the sender hears its
    /// reply instead.
    ///
    /// # Errors
    /// `BAD_REQUEST` for a session-less message; otherwise as
    /// [`Context::broadcast`].
    pub fn broadcast_others<T: Serialize + ?Sized>(
        &self,
        group: &str,
        command: i32,
        body: &T,
    ) -> Result<(), Status> {
        let session = self.own_session()?;
        self.broadcast_except(group, &session, command, body)
    }

    /// As [`Context::broadcast`], to every member but session `except`.
    ///
    /// # Errors
    /// As [`Context::broadcast`].
    pub fn broadcast_except<T: Serialize + ?Sized>(
        &self,
        group: &str,
        except: &SessionId,
        command: i32,
        body: &T,
    ) -> Result<(), Status> {
        self.send_broadcast(group, command, encode_body(body)?, Some(except.clone()))
    }

    fn send_broadcast(
        &self,
        group: &str,
        command: i32,
        body: Bytes,
        except: Option<SessionId>,
    ) -> Result<(), Status> {
        let request = SessionRequest::Broadcast { group: group.to_owned(), command, body, except };
        self.node.session_send(request, self.session.as_ref())
    }
}
