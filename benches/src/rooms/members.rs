//! The rooms' members: real websocket clients through the proxy, four per
//! room, each joining its room then reading every frame pushed to it. They
//! count the state frames and their bytes, and the frames that name
//! another room (a push to the wrong group).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use espoir::ClientFrame;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::service::{JOIN, MEMBERS, STATE};
use crate::client::{Client, is_error_reply};

/// Members connecting at once.
const CONNECTING: usize = 200;

/// What the members saw, all together.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    pub(crate) joined: AtomicU64,
    /// Members that had their room's state at least once.
    pub(crate) ready: AtomicU64,
    /// A member that could not connect or join, or lost its connection.
    pub(crate) failed: AtomicU64,
    pub(crate) frames: AtomicU64,
    /// Frame bytes: the 12-byte header and the body.
    pub(crate) bytes: AtomicU64,
    pub(crate) wrong_room: AtomicU64,
    /// The first failure's reason, for the report.
    pub(crate) first_error: OnceLock<String>,
}

impl Seen {
    fn fail(&self, why: String) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        let _ = self.first_error.set(why);
    }
}

/// The name of room `i`.
pub(crate) fn room_name(i: usize) -> String {
    format!("r{i}")
}

/// Starts `rooms × MEMBERS` members against `url`; they run until the
/// returned set is dropped.
pub(crate) fn start(url: &str, rooms: usize, seen: &Arc<Seen>) -> JoinSet<()> {
    let connecting = Arc::new(Semaphore::new(CONNECTING));
    let mut set = JoinSet::new();
    for member in 0..rooms * MEMBERS {
        let (url, seen, connecting) = (url.to_owned(), Arc::clone(seen), Arc::clone(&connecting));
        set.spawn(async move {
            let room = room_name(member / MEMBERS);
            let client = {
                let _permit = connecting.acquire_owned().await;
                join(&url, &room).await
            };
            let mut client = match client {
                Ok(client) => client,
                Err(err) => return seen.fail(format!("a member of {room} could not join: {err}")),
            };
            seen.joined.fetch_add(1, Ordering::Relaxed);
            let needle = format!(r#""room":"{room}""#);
            let mut first = true;
            loop {
                let frame = match client.recv().await {
                    Ok(frame) => frame,
                    Err(err) => return seen.fail(format!("a member of {room} lost its link: {err}")),
                };
                if frame.command != STATE {
                    continue;
                }
                seen.frames.fetch_add(1, Ordering::Relaxed);
                if first {
                    seen.ready.fetch_add(1, Ordering::Relaxed);
                    first = false;
                }
                seen.bytes.fetch_add(12 + frame.body.len() as u64, Ordering::Relaxed);
                if !frame.body.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                    seen.wrong_room.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    set
}

async fn join(url: &str, room: &str) -> Result<Client, String> {
    let mut client = Client::connect(url, None, None).await.map_err(|e| e.to_string())?;
    let body = format!(r#"{{"room":"{room}"}}"#);
    let frame = ClientFrame::new(JOIN, body).encode(1 << 16).map_err(|e| e.to_string())?;
    let reply = client.request(frame, JOIN).await.map_err(|e| e.to_string())?;
    if is_error_reply(&reply.body) {
        return Err(format!("join refused: {}", String::from_utf8_lossy(&reply.body)));
    }
    Ok(client)
}
