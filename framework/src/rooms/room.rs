//! One room as pure state: its members, its lifecycle and its input
//! queue. No I/O and no timers: the caller says what time it is (`now`)
//! and asks when the room next needs it ([`Room::deadline`]), so every
//! edge is tested without sockets or clocks.

use std::sync::Arc;

use tokio::time::Instant;

use super::error::RoomError;
use super::id::RoomId;
use super::inputs::{Input, InputQueue};
use super::phase::{DisposeReason, RoomPhase};
use super::settings::{DrainPolicy, RoomSettings};
use super::stats::RoomStats;
use crate::id::SessionId;

/// A member of a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomMember {
    /// The member's session (what the room's group holds).
    pub session: SessionId,
    /// The user it was bound to when it joined, if any.
    pub uid: Option<String>,
}

/// What a join did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joined {
    /// The session became a member.
    New,
    /// The session was a member already; nothing changed. A client that
    /// retries a join whose answer it lost lands here.
    Already,
}

/// What a leave did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Left {
    /// The member left; the room goes on (possibly empty, waiting for its
    /// empty timeout).
    Stays,
    /// The member was the last one and the room was disposed.
    Disposed(DisposeReason),
}

/// A room's end: why, and the members it still had, to be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    /// Why it ended.
    pub reason: DisposeReason,
    /// Who was still in it.
    pub members: Vec<RoomMember>,
}

/// What a drain did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drained {
    /// The room runs on for its members and takes no one new.
    Finishing,
    /// The room was disposed (`None`: it already was).
    Disposed(Option<Ended>),
}

/// One tick's worth of work: its number (from 1) and the inputs queued
/// since the last tick, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tick<I> {
    /// The tick's number, counting from 1.
    pub number: u64,
    /// The inputs, oldest first.
    pub inputs: Vec<Input<I>>,
}

/// A room: members, lifecycle and input queue, of inputs of type `I`.
#[derive(Debug)]
pub struct Room<I> {
    id: RoomId,
    /// Unique among the rooms made with the same stats (a node's): tells
    /// a room from a later one under the same id.
    serial: u64,
    settings: RoomSettings,
    phase: RoomPhase,
    members: Vec<RoomMember>,
    inputs: InputQueue<I>,
    created: Instant,
    /// When the room last became empty; `None` while it has members.
    empty_since: Option<Instant>,
    ticks: u64,
    stats: Arc<RoomStats>,
}

impl<I> Room<I> {
    /// An open, empty room made at `now`. It waits its empty timeout for a
    /// first member like any empty room, so one made for players who never
    /// come does not leak.
    pub fn new(id: RoomId, settings: RoomSettings, now: Instant, stats: Arc<RoomStats>) -> Room<I> {
        let serial = stats.created.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::debug!(room = %id, serial, max_members = settings.max_members(), "room created");
        Room {
            inputs: InputQueue::new(settings.inputs()),
            id,
            serial,
            settings,
            phase: RoomPhase::Open,
            members: Vec::new(),
            created: now,
            empty_since: Some(now),
            ticks: 0,
            stats,
        }
    }

    /// The room's id.
    pub fn id(&self) -> &RoomId {
        &self.id
    }

    /// Its serial number, unique among the rooms of its node: a room made
    /// later under the same id has another.
    pub fn serial(&self) -> u64 {
        self.serial
    }

    /// Its settings.
    pub fn settings(&self) -> &RoomSettings {
        &self.settings
    }

    /// Where it is in its life.
    pub fn phase(&self) -> RoomPhase {
        self.phase
    }

    /// Whether it was disposed.
    pub fn is_disposed(&self) -> bool {
        matches!(self.phase, RoomPhase::Disposed(_))
    }

    /// Its members, in the order they joined.
    pub fn members(&self) -> &[RoomMember] {
        &self.members
    }

    /// Whether `session` is a member.
    pub fn is_member(&self, session: &SessionId) -> bool {
        self.members.iter().any(|m| &m.session == session)
    }

    /// Ticks run so far.
    pub fn ticks(&self) -> u64 {
        self.ticks
    }

    /// Inputs waiting for the next tick.
    pub fn queued_inputs(&self) -> usize {
        self.inputs.len()
    }

    fn alive(&self) -> Result<(), RoomError> {
        match self.phase {
            RoomPhase::Disposed(reason) => Err(RoomError::Disposed { reason }),
            _ => Ok(()),
        }
    }

    /// Adds `session` (bound to `uid`, if any) to the room.
    ///
    /// # Errors
    /// [`RoomError::Disposed`], [`RoomError::Finishing`] (its node drains),
    /// [`RoomError::Full`]. A member joining again is no error
    /// ([`Joined::Already`]), even in a finishing or full room.
    pub fn join(
        &mut self,
        session: SessionId,
        uid: Option<String>,
        _now: Instant,
    ) -> Result<Joined, RoomError> {
        self.alive()?;
        if self.is_member(&session) {
            return Ok(Joined::Already);
        }
        if self.phase == RoomPhase::Finishing {
            return Err(RoomError::Finishing);
        }
        if self.members.len() >= self.settings.max_members() {
            return Err(RoomError::Full { capacity: self.settings.max_members() });
        }
        tracing::debug!(room = %self.id, %session, members = self.members.len() + 1, "joined room");
        self.members.push(RoomMember { session, uid });
        self.empty_since = None;
        RoomStats::add(&self.stats.joins);
        Ok(Joined::New)
    }

    /// Removes `session` from the room, with its queued inputs. The last
    /// member's leave disposes the room at once when it has no empty
    /// timeout or is finishing; otherwise the room waits its timeout.
    ///
    /// # Errors
    /// [`RoomError::Disposed`], [`RoomError::NotMember`].
    pub fn leave(&mut self, session: &SessionId, now: Instant) -> Result<Left, RoomError> {
        self.alive()?;
        let at = self.members.iter().position(|m| &m.session == session).ok_or(RoomError::NotMember)?;
        self.members.remove(at);
        self.inputs.forget(session);
        RoomStats::add(&self.stats.leaves);
        tracing::debug!(room = %self.id, %session, members = self.members.len(), "left room");
        if !self.members.is_empty() {
            return Ok(Left::Stays);
        }
        if self.phase == RoomPhase::Finishing {
            self.end(DisposeReason::Drained);
            return Ok(Left::Disposed(DisposeReason::Drained));
        }
        if self.settings.empty_wait().is_zero() {
            self.end(DisposeReason::Empty);
            return Ok(Left::Disposed(DisposeReason::Empty));
        }
        self.empty_since = Some(now);
        Ok(Left::Stays)
    }

    /// Queues a member's input for the next tick.
    ///
    /// # Errors
    /// [`RoomError::Disposed`], [`RoomError::NotMember`], and
    /// [`RoomError::InputQueueFull`] (counted in
    /// [`RoomStats::inputs_dropped`]) until the next tick empties it.
    pub fn submit(&mut self, from: SessionId, input: I) -> Result<(), RoomError> {
        self.alive()?;
        if !self.is_member(&from) {
            return Err(RoomError::NotMember);
        }
        self.inputs.push(Input { from, input }).map_err(|refused| {
            RoomStats::add(&self.stats.inputs_dropped);
            tracing::debug!(room = %self.id, session = %refused.from, capacity = self.inputs.capacity(),
                "room input queue full: input dropped");
            RoomError::InputQueueFull { capacity: self.inputs.capacity() }
        })
    }

    /// Runs one tick: takes every queued input.
    ///
    /// # Errors
    /// [`RoomError::Disposed`]: a disposed room does not tick.
    pub fn tick(&mut self) -> Result<Tick<I>, RoomError> {
        self.alive()?;
        self.ticks += 1;
        RoomStats::add(&self.stats.ticks);
        Ok(Tick { number: self.ticks, inputs: self.inputs.take() })
    }

    /// When the room next needs [`Room::poll`]: the end of its empty
    /// timeout while empty, or of its lifetime, whichever comes first.
    /// `None` for a disposed room or one with nothing pending.
    pub fn deadline(&self) -> Option<Instant> {
        if self.is_disposed() {
            return None;
        }
        let empty = self.empty_since.map(|since| since + self.settings.empty_wait());
        let lifetime = self.settings.lifetime().map(|life| self.created + life);
        empty.into_iter().chain(lifetime).min()
    }

    /// Applies the timeouts due at `now`; returns the room's end if that
    /// disposed it.
    pub fn poll(&mut self, now: Instant) -> Option<Ended> {
        if self.is_disposed() {
            return None;
        }
        let lifetime_over = self.settings.lifetime().is_some_and(|life| now >= self.created + life);
        let empty_over = self.empty_since.is_some_and(|since| now >= since + self.settings.empty_wait());
        let reason = if lifetime_over {
            DisposeReason::Lifetime
        } else if empty_over {
            DisposeReason::EmptyTimeout
        } else {
            return None;
        };
        Some(self.end(reason))
    }

    /// Applies the room's drain policy: its node is draining.
    pub fn drain(&mut self) -> Drained {
        match (self.phase, self.settings.drain_policy()) {
            (RoomPhase::Disposed(_), _) => Drained::Disposed(None),
            (_, DrainPolicy::FinishThenDispose) if !self.members.is_empty() => {
                tracing::info!(room = %self.id, members = self.members.len(), "node draining: room finishing");
                self.phase = RoomPhase::Finishing;
                Drained::Finishing
            }
            _ => Drained::Disposed(self.dispose(DisposeReason::Drained)),
        }
    }

    /// Ends the room now (the game's match is over, or its node goes);
    /// returns its end, with the members to tell. Disposing a disposed
    /// room does nothing (`None`).
    pub fn dispose(&mut self, reason: DisposeReason) -> Option<Ended> {
        (!self.is_disposed()).then(|| self.end(reason))
    }

    /// Disposes the room: final. Its members and inputs go with it.
    fn end(&mut self, reason: DisposeReason) -> Ended {
        self.phase = RoomPhase::Disposed(reason);
        self.inputs.clear();
        self.empty_since = None;
        RoomStats::add(&self.stats.disposed);
        tracing::info!(room = %self.id, reason = reason.as_str(), ticks = self.ticks,
            members = self.members.len(), "room disposed");
        Ended { reason, members: std::mem::take(&mut self.members) }
    }
}
