//! What a game decides about its rooms: size, tick rate, timeouts, how
//! state reaches members and what happens when the node drains. Checked
//! when made, so a room never runs with a setting out of bounds.

use std::time::Duration;

use super::error::RoomSettingsError;

/// The most members a room may be configured for. Rooms are matches, not
/// lobbies: a bigger audience is a topic (`docs/realtime.md`).
pub const MAX_ROOM_MEMBERS: usize = 1024;

/// The largest input queue a room may be configured with.
pub const MAX_INPUT_CAPACITY: usize = 65_536;

/// A fixed tick rate, 1 to 60 Hz.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickRate(u32);

impl TickRate {
    /// `hz` ticks per second.
    ///
    /// # Errors
    /// [`RoomSettingsError::TickRate`] outside 1..=60.
    pub fn hz(hz: u32) -> Result<TickRate, RoomSettingsError> {
        if (1..=60).contains(&hz) { Ok(TickRate(hz)) } else { Err(RoomSettingsError::TickRate { hz }) }
    }

    /// Ticks per second.
    pub fn per_second(self) -> u32 {
        self.0
    }

    /// The time between two ticks.
    pub fn period(self) -> Duration {
        Duration::from_secs(1) / self.0
    }
}

/// When a ticking room's state goes to its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PushMode {
    /// After every tick (a shooter's snapshot).
    #[default]
    EveryTick,
    /// After a tick that changed the state (a board game's move).
    OnChange,
}

/// What a room does when its node starts draining.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DrainPolicy {
    /// Keep running for the members it has, take no one new, and dispose
    /// once the last member leaves (or a timeout ends it first). For
    /// matches worth finishing; pair with a drain grace period that covers
    /// a match.
    #[default]
    FinishThenDispose,
    /// Tell the members the room is ending and dispose at once; they find
    /// a room elsewhere. For rooms cheap to restart.
    NotifyAndDispose,
}

/// A room's settings. Start from [`RoomSettings::new`] and change what
/// the game needs:
///
/// ```
/// use std::time::Duration;
/// use espoir::{DrainPolicy, PushMode, RoomSettings, TickRate};
///
/// let settings = RoomSettings::new(4)?
///     .ticking(TickRate::hz(20)?, PushMode::EveryTick)
///     .empty_timeout(Duration::from_secs(30))
///     .on_drain(DrainPolicy::NotifyAndDispose);
/// assert_eq!(settings.max_members(), 4);
/// # Ok::<(), espoir::RoomSettingsError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomSettings {
    max_members: usize,
    tick: Option<(TickRate, PushMode)>,
    empty_timeout: Duration,
    max_lifetime: Option<Duration>,
    input_capacity: usize,
    on_drain: DrainPolicy,
}

impl RoomSettings {
    /// A room for up to `max_members` (1..=[`MAX_ROOM_MEMBERS`]) that does
    /// not tick, is disposed as soon as its last member leaves, lives as
    /// long as it has members, queues up to 256 inputs between ticks and
    /// finishes when its node drains.
    ///
    /// # Errors
    /// [`RoomSettingsError::OutOfRange`] for `max_members` out of bounds.
    pub fn new(max_members: usize) -> Result<RoomSettings, RoomSettingsError> {
        check("max_members", max_members, 1, MAX_ROOM_MEMBERS)?;
        Ok(RoomSettings {
            max_members,
            tick: None,
            empty_timeout: Duration::ZERO,
            max_lifetime: None,
            input_capacity: 256,
            on_drain: DrainPolicy::default(),
        })
    }

    /// Runs a fixed-tick loop at `rate`, pushing state per `push`.
    #[must_use]
    pub fn ticking(mut self, rate: TickRate, push: PushMode) -> RoomSettings {
        self.tick = Some((rate, push));
        self
    }

    /// How long an empty room waits for someone to (re)join before it is
    /// disposed. Zero (the default) disposes it when the last member
    /// leaves. A room made empty waits the same, so a room nobody joins
    /// does not leak.
    #[must_use]
    pub fn empty_timeout(mut self, timeout: Duration) -> RoomSettings {
        self.empty_timeout = timeout;
        self
    }

    /// Disposes the room this long after it was made, members or not:
    /// the bound on a match that never ends.
    #[must_use]
    pub fn max_lifetime(mut self, lifetime: Duration) -> RoomSettings {
        self.max_lifetime = Some(lifetime);
        self
    }

    /// How many inputs may wait for the next tick (1..=[`MAX_INPUT_CAPACITY`]).
    ///
    /// # Errors
    /// [`RoomSettingsError::OutOfRange`] out of bounds.
    pub fn input_capacity(mut self, capacity: usize) -> Result<RoomSettings, RoomSettingsError> {
        check("input_capacity", capacity, 1, MAX_INPUT_CAPACITY)?;
        self.input_capacity = capacity;
        Ok(self)
    }

    /// What the room does when its node drains.
    #[must_use]
    pub fn on_drain(mut self, policy: DrainPolicy) -> RoomSettings {
        self.on_drain = policy;
        self
    }

    /// The member limit.
    pub fn max_members(&self) -> usize {
        self.max_members
    }

    /// The tick rate and push mode, for a ticking room.
    pub fn tick(&self) -> Option<(TickRate, PushMode)> {
        self.tick
    }

    /// The empty timeout.
    pub fn empty_wait(&self) -> Duration {
        self.empty_timeout
    }

    /// The lifetime bound, if any.
    pub fn lifetime(&self) -> Option<Duration> {
        self.max_lifetime
    }

    /// The input queue's capacity.
    pub fn inputs(&self) -> usize {
        self.input_capacity
    }

    /// The drain policy.
    pub fn drain_policy(&self) -> DrainPolicy {
        self.on_drain
    }
}

fn check(field: &'static str, value: usize, min: usize, max: usize) -> Result<(), RoomSettingsError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(RoomSettingsError::OutOfRange { field, value, min, max })
    }
}
