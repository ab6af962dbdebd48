//! The room side of [`Context`]: a member's room travels with its session.
//!
//! `enter_room` puts the session in the room's group (its state pushes
//! reach the client, one message per proxy) and records the room in the
//! session's data under [`ROOM_KEY`], so every later request of the
//! session, to any node, says which room it is in: a plain
//! `#[register_event]` handler asks [`Context::room_id`] instead of
//! trusting a room id sent by the client. See `docs/rooms.md`.

use super::context::Context;
use crate::rooms::RoomId;
use crate::session::Member;
use crate::status::Status;

/// The session data key holding the session's room.
pub const ROOM_KEY: &str = "espoir.room";

impl Context {
    /// Puts this message's session in `room`: in its group, and in its
    /// data (see [`Context::room_id`]). A session is in one room at a
    /// time: entering another leaves the previous one's group.
    ///
    /// # Errors
    /// `BAD_REQUEST` for a message without a session, or past the
    /// session's group or data limits; `UNAVAILABLE` when its proxy is
    /// unreachable.
    pub async fn enter_room(&self, room: &RoomId) -> Result<(), Status> {
        let session = self.require_session()?.clone();
        match self.room_id()? {
            Some(old) if &old == room => return Ok(()),
            Some(old) => self.leave_group(&old.group(), Member::Session(session.clone())).await?,
            None => {}
        }
        self.join_group(&room.group(), Member::Session(session)).await?;
        self.set_session_data(ROOM_KEY, room.as_str()).await
    }

    /// The room this message's session is in, as the session's data says
    /// (`None`: none, or a message without a session).
    ///
    /// # Errors
    /// `BAD_REQUEST` when the data holds something that is not a room id.
    pub fn room_id(&self) -> Result<Option<RoomId>, Status> {
        match self.session_data::<String>(ROOM_KEY)? {
            Some(id) => Ok(Some(RoomId::new(id)?)),
            None => Ok(None),
        }
    }

    /// Takes this message's session out of its room's group and data;
    /// returns the room it was in.
    ///
    /// # Errors
    /// As [`Context::enter_room`].
    pub async fn leave_room(&self) -> Result<Option<RoomId>, Status> {
        let Some(room) = self.room_id()? else { return Ok(None) };
        let session = self.require_session()?.clone();
        self.leave_group(&room.group(), Member::Session(session)).await?;
        self.remove_session_data(ROOM_KEY).await?;
        Ok(Some(room))
    }
}
