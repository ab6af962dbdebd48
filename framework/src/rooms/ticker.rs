//! A ticking room's fixed-rate loop: the timer side of a room, apart from
//! its state. Each tick applies the room's timeouts, takes the inputs
//! queued since the last one from
//! the node's [`Rooms`], runs the game's step outside the lock, and pushes
//! the state per the room's [`PushMode`]. A slow machine skips ticks
//! rather than bursting them, so members see a steady rate or a gap,
//! never a flurry of stale states.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::time::{Instant, MissedTickBehavior};

use super::id::RoomId;
use super::registry::Rooms;
use super::room::{Ended, Tick};
use super::settings::PushMode;
use crate::shutdown::Shutdown;

/// A room's game, as its tick loop sees it.
pub trait RoomGame: Send + 'static {
    /// What members send between ticks.
    type Input: Send + 'static;

    /// Applies one tick and its inputs; returns whether the state changed
    /// (what [`PushMode::OnChange`] pushes on).
    fn step(&mut self, tick: Tick<Self::Input>) -> bool;

    /// Sends the state to the room's members (usually one
    /// `ctx.broadcast` to the room's group). Called after a tick per the
    /// room's push mode.
    fn push(&mut self, tick: u64);

    /// The room's own timeouts (its lifetime, its empty timeout) ended it
    /// at a tick: tell `ended.members`. Called once, as the loop stops. A
    /// room ended otherwise (the game's `dispose`, a leave, a drain)
    /// returned its end to whoever ended it, and this is not called.
    fn ended(&mut self, ended: Ended) {
        let _ = ended;
    }
}

/// Why a tick loop stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TickLoopEnd {
    /// The room was disposed or is gone from the node.
    RoomGone,
    /// The room does not tick ([`RoomSettings::ticking`](super::RoomSettings::ticking) not set).
    NotTicking,
    /// The node's shutdown triggered.
    Shutdown,
}

/// Runs room `id`'s tick loop at its configured rate until the room is
/// disposed or `shutdown` triggers. The first tick comes one period after
/// the call.
pub async fn run_tick_loop<G: RoomGame>(
    rooms: Arc<Mutex<Rooms<G::Input>>>,
    id: RoomId,
    mut game: G,
    shutdown: Shutdown,
) -> TickLoopEnd {
    let (serial, settings) = {
        let mut rooms = rooms.lock().unwrap_or_else(PoisonError::into_inner);
        match rooms.room(&id) {
            Ok(room) if !room.is_disposed() => (room.serial(), room.settings().tick()),
            _ => return TickLoopEnd::RoomGone,
        }
    };
    let Some((rate, mode)) = settings else { return TickLoopEnd::NotTicking };
    let mut interval = tokio::time::interval_at(Instant::now() + rate.period(), rate.period());
    interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
    tracing::debug!(room = %id, hz = rate.per_second(), "room tick loop started");
    let end = loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break TickLoopEnd::Shutdown,
            _ = interval.tick() => {}
        }
        // The lock covers taking the inputs only; the game's step runs
        // without it, so one room's step never holds up another's inputs.
        let tick = {
            let mut rooms = rooms.lock().unwrap_or_else(PoisonError::into_inner);
            // A room made later under the same id is not this loop's.
            match rooms.room(&id).ok().filter(|room| room.serial() == serial) {
                // A ticking room applies its own timeouts at each tick.
                Some(room) => match room.poll(Instant::now()) {
                    Some(ended) => Err(Some(ended)),
                    None => room.tick().map_err(|_| None),
                },
                None => Err(None),
            }
        };
        let tick = match tick {
            Ok(tick) => tick,
            Err(ended) => {
                if let Some(ended) = ended {
                    game.ended(ended);
                }
                break TickLoopEnd::RoomGone;
            }
        };
        let number = tick.number;
        let changed = game.step(tick);
        if mode == PushMode::EveryTick || changed {
            game.push(number);
        }
    };
    tracing::debug!(room = %id, end = ?end, "room tick loop stopped");
    end
}
