//! A coin-grab arena on espoir's rooms and matchmaking (issue 21, item 4).
//!
//! Players log in with a name and ask for a match in a mode; the
//! service's [`Matchmaker`](espoir::matchmaking::Matchmaker) puts 2 to 4
//! of the same mode together (a match waits `fill_wait_ms` for more than
//! two, then starts with what it has). Each match becomes a room ticking
//! at 20 Hz with a seat reserved per player; its players get `MATCHED`,
//! join it, and steer on a small grid to collect coins. The room's state
//! goes to its group every tick; the round ends when the coins are gone,
//! at its time limit, or when no one is left, with a `RESULT`.
//!
//! A player whose session closes (the proxy's close notice: a clean
//! close, a kick, or a lost connection past its resume grace) keeps the
//! seat for `reconnect_window_ms`; the room plays on without them. Back
//! in time (a new login of the same name) they re-join and get the seat
//! back; after it, the seat is freed and the room is told. A client that
//! resumes its session within the resume grace never left: its groups
//! and seat are as they were, and the pushes it missed are replayed. A
//! second login of the name takes the seat over.
//!
//! # Layout
//!
//! * `board`: the game without I/O or time: grid, moves, coins, scores.
//! * `settings`: `app.arena` ([`Settings`]).
//! * `host`: the service's state ([`Host`]): pool, rooms, seats.
//! * `matcher`: the task polling the pool and opening rooms.
//! * `round`: a room's tick loop (a `RoomGame`).
//! * `handlers`: the commands and the close notice.
//! * this file: the ids and the handler group.

mod board;
mod handlers;
mod host;
mod matcher;
mod round;
mod settings;

#[cfg(test)]
mod board_tests;

use std::sync::Arc;

use espoir::{EventTable, NodeBuilder, events};

pub use board::{Board, BoardError, Cell, Dir, MAX_PLAYERS, MAX_SIDE, MIN_SIDE, Player};
pub use handlers::{ROOM_KEY, cancel, find, join, leave, login, offline, steer};
pub use host::{Host, Steer};
pub use matcher::POLL_EVERY;
pub use settings::{MAX_ROOMS, MAX_WINDOW_MS, Settings, SettingsError};

/// Message ids: the arena uses 120000 to 120199 (requests 120001–120099,
/// pushes 120100–120199); the proxy routes that range to the service.
pub mod ids {
    /// `{"name"}` → `{"name"}`.
    pub const LOGIN: i32 = 120001;
    /// `{"mode"?, "party"?: [uid]}` → `{"ticket", "mode"}`; [`MATCHED`] follows.
    pub const FIND: i32 = 120002;
    /// `{}` → `{"cancelled"}`.
    pub const CANCEL: i32 = 120003;
    /// `{"room"}` → `{"room", "seat": "seated"|"kept"|"returned"|"replaced", "players"}`.
    pub const JOIN: i32 = 120004;
    /// `{"dir": "up"|"down"|"left"|"right"}` → `{}`.
    pub const MOVE: i32 = 120005;
    /// `{}` → `{}`: leave the room for good.
    pub const LEAVE: i32 = 120006;
    /// Push `{"room", "players", "mode"}`: a match was made; join `room`.
    pub const MATCHED: i32 = 120101;
    /// Push, every tick: `{"room", "tick", "phase", "ticks_left", "width",
    /// "height", "coins": [[x, y]], "players": [{"name", "x", "y", "score",
    /// "seat": "waiting"|"here"|"away"|"out"}]}`.
    pub const STATE: i32 = 120102;
    /// Push `{"room", "reason": "coins"|"time"|"abandoned"|"drained"|…, "scores":
    /// [{"name", "score"}], "winner"}`: the round is over.
    pub const RESULT: i32 = 120103;
    /// Push `{"room", "player", "seat": "away"|"back"|"gone"|"no-show"|"left",
    /// "window_ms"?}`: a player's seat changed.
    pub const SEAT: i32 = 120104;
    /// Push `{"ticket", "mode"}`: no match within `max_wait_ms`.
    pub const QUEUE_EXPIRED: i32 = 120105;
    /// Push `{"room"}`: a second login of your name took your seat.
    pub const REPLACED: i32 = 120106;
    /// Push `{"msg"}`: a match was made but no room could be opened.
    pub const MATCH_FAILED: i32 = 120107;
}

/// The arena's handlers.
pub fn events() -> EventTable {
    events![login, find, cancel, join, steer, leave, offline]
}

/// The `arena.service` handler group: the handlers, the state, and the
/// matchmaking task, started with the node.
pub fn service(builder: NodeBuilder) -> NodeBuilder {
    let host = match Settings::from_config(builder.config()).map_err(|e| e.to_string()).and_then(Host::new) {
        Ok(host) => Arc::new(host),
        Err(err) => return builder.fail(err),
    };
    let stats = Arc::clone(host.rooms().stats());
    let started = Arc::clone(&host);
    builder.events(events()).room_stats(stats).state(host).on_start(move |ctx, shutdown| {
        // The node's own context: the rounds push with it.
        shutdown.clone().spawn(matcher::run(started, ctx, shutdown));
    })
}

/// Validates `app.arena` as [`service`] would, for `espoir check`.
///
/// # Errors
/// Why the settings are unusable.
pub fn check_config(config: &espoir::NodeConfig, _cluster: &[espoir::NodeConfig]) -> Result<(), String> {
    Settings::from_config(config).map(drop).map_err(|e| format!("node {}: {e}", config.name))
}
