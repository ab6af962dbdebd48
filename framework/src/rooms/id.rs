//! Room ids: short, printable, and safe to embed in a group name.

use std::fmt;
use std::sync::Arc;

use super::error::RoomSettingsError;

/// The longest room id, in bytes: ids travel in every group operation.
pub const MAX_ROOM_ID_LEN: usize = 64;

/// Group names of rooms start with this, so a game's own groups never
/// collide with a room's.
const GROUP_PREFIX: &str = "room:";

/// A room's id: 1 to [`MAX_ROOM_ID_LEN`] bytes of `[A-Za-z0-9_.:-]`.
/// Cheap to clone.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomId(Arc<str>);

impl RoomId {
    /// Checks and wraps `id`.
    ///
    /// # Errors
    /// [`RoomSettingsError::BadId`] for an empty or too long id, or one
    /// with another character.
    ///
    /// ```
    /// use espoir::RoomId;
    ///
    /// assert_eq!(RoomId::new("arena-7").unwrap().group(), "room:arena-7");
    /// assert!(RoomId::new("no spaces").is_err());
    /// ```
    pub fn new(id: impl Into<String>) -> Result<RoomId, RoomSettingsError> {
        let id = id.into();
        let bad = |reason| Err(RoomSettingsError::BadId { id: id.clone(), reason });
        if id.is_empty() {
            return bad("empty");
        }
        if id.len() > MAX_ROOM_ID_LEN {
            return bad("longer than 64 bytes");
        }
        if !id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-')) {
            return bad("only A-Z, a-z, 0-9, '_', '.', ':' and '-' are allowed");
        }
        Ok(RoomId(id.into()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name of the group the room's members are in (`room:{id}`), for
    /// `ctx.broadcast` and friends.
    pub fn group(&self) -> String {
        format!("{GROUP_PREFIX}{}", self.0)
    }
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RoomId({:?})", &*self.0)
    }
}
