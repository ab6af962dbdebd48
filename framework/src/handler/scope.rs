//! What a message carries of its session: the [`SessionView`] a handler's
//! [`Context`](super::Context) reads and updates, and the [`CallScope`] a
//! call made while handling it passes on.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use crate::id::SessionId;
use crate::proto::Pin;

/// The session's user id, data and pins as the proxy sent them with the
/// message, updated by this context's own binds and data changes.
#[derive(Debug, Default)]
pub(crate) struct SessionView {
    /// What this context's own binds and data changes update.
    current: Mutex<UidAndData>,
    /// The session's sticky nodes, so that calls made while handling the
    /// message keep to them.
    pins: Vec<Pin>,
}

/// The changeable part of a [`SessionView`]: the bound user and the
/// session data.
#[derive(Debug, Default)]
pub(super) struct UidAndData {
    pub(super) uid: Option<String>,
    pub(super) data: HashMap<String, String>,
}

/// What a call or notification made by a handler carries of the message's
/// session: the callee serves the same user, with the same data, and a
/// stateful command reaches the session's own node.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallScope {
    pub(crate) session: Option<SessionId>,
    pub(crate) uid: String,
    pub(crate) data: HashMap<String, String>,
    pub(crate) pins: Vec<Pin>,
}

impl SessionView {
    /// The view of an envelope's `uid` (empty: none), `session_data` and
    /// `pins`.
    pub(crate) fn from_wire(uid: &str, data: HashMap<String, String>, pins: Vec<Pin>) -> Self {
        let uid = (!uid.is_empty()).then(|| uid.to_owned());
        SessionView { current: Mutex::new(UidAndData { uid, data }), pins }
    }

    /// The scope of a call made on behalf of `session`.
    pub(crate) fn scope(&self, session: Option<SessionId>) -> CallScope {
        if session.is_none() {
            return CallScope::default();
        }
        let inner = self.lock();
        CallScope {
            session,
            uid: inner.uid.clone().unwrap_or_default(),
            data: inner.data.clone(),
            pins: self.pins.clone(),
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, UidAndData> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }
}
