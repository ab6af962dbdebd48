//! The benchmark's service node: one join command that puts a client in
//! its room's group and starts the room's 20 Hz loop with its first
//! member, either as a room (`Rooms` + `run_tick_loop`) or, for the
//! baseline, as a bare tokio interval doing the same state update,
//! serialization and broadcast. Each tick's lateness is measured against
//! the loop's schedule in the game itself (the tick loop does not report
//! it).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use espoir::{
    Context, EventTable, Member, PushMode, RoomGame, RoomId, RoomSettings, Rooms, Shutdown, Status, Tick,
    TickRate, events, register_event, run_tick_loop,
};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::time::{Instant, MissedTickBehavior};

/// The join command (client to service).
pub(crate) const JOIN: i32 = 21_200;
/// The state push (service to the room's members).
pub(crate) const STATE: i32 = 52_200;
/// Members per room.
pub(crate) const MEMBERS: usize = 4;
/// Ticks per second.
pub(crate) const HZ: u32 = 20;

/// How the service runs its rooms' loops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Rooms (`Rooms`, `run_tick_loop`): the framework under test.
    Rooms,
    /// The baseline: a tokio interval per room, same state and broadcast.
    Intervals,
}

impl Mode {
    /// Its name in the report.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Rooms => "rooms (run_tick_loop)",
            Mode::Intervals => "baseline (tokio interval)",
        }
    }
}

/// What the loops measured; the report takes it at the window's edges.
#[derive(Debug)]
pub(crate) struct Probe {
    /// Each tick's lateness behind its schedule, microseconds.
    pub(crate) lateness: Mutex<Histogram<u64>>,
    pub(crate) ticks: AtomicU64,
    /// Ticks the loops skipped (they ran more than a period late).
    pub(crate) skipped: AtomicU64,
    pub(crate) push_errors: AtomicU64,
    /// Loops started, and loops that stopped before the run's end.
    pub(crate) loops: AtomicU64,
    pub(crate) loops_stopped: AtomicU64,
}

impl Probe {
    fn new() -> Probe {
        Probe {
            lateness: Mutex::new(Histogram::new_with_max(60_000_000, 3).expect("valid bounds")),
            ticks: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            push_errors: AtomicU64::new(0),
            loops: AtomicU64::new(0),
            loops_stopped: AtomicU64::new(0),
        }
    }
}

/// The service's shared state.
pub(crate) struct Host {
    mode: Mode,
    rooms: Arc<Mutex<Rooms<()>>>,
    /// Rooms whose baseline loop runs.
    intervals: Mutex<HashSet<String>>,
    node: OnceLock<(Context, Shutdown)>,
    pub(crate) probe: Arc<Probe>,
}

impl Host {
    pub(crate) fn new(mode: Mode, max_rooms: usize) -> Result<Host, String> {
        Ok(Host {
            mode,
            rooms: Arc::new(Mutex::new(Rooms::new(max_rooms).map_err(|e| e.to_string())?)),
            intervals: Mutex::new(HashSet::new()),
            node: OnceLock::new(),
            probe: Arc::new(Probe::new()),
        })
    }

    /// Keeps the node's own context and shutdown, for the loops.
    pub(crate) fn started(&self, ctx: Context, shutdown: Shutdown) {
        let _ = self.node.set((ctx, shutdown));
    }

    pub(crate) fn rooms(&self) -> &Arc<Mutex<Rooms<()>>> {
        &self.rooms
    }
}

pub(crate) fn room_events() -> EventTable {
    events![join]
}

/// One member's place.
#[derive(Debug, Clone)]
struct Player {
    seat: usize,
    x: i32,
    y: i32,
    hp: u32,
}

/// A small arena: four players walking in circles. The same in both
/// modes; only what drives it differs.
struct Arena {
    ctx: Context,
    room: String,
    group: String,
    players: Vec<Player>,
    tick: u64,
    /// The loop's schedule: tick k is due at `origin + k × period`.
    origin: Instant,
    period: Duration,
    next_due: u32,
    probe: Arc<Probe>,
}

impl Arena {
    fn new(ctx: Context, room: &str, probe: Arc<Probe>, origin: Instant) -> Arena {
        let players = (0..MEMBERS).map(|seat| Player { seat, x: 0, y: 0, hp: 100 }).collect::<Vec<Player>>();
        let period = Duration::from_secs(1) / HZ;
        Arena {
            ctx,
            room: room.to_owned(),
            group: format!("room:{room}"),
            players,
            tick: 0,
            origin,
            period,
            next_due: 1,
            probe,
        }
    }

    /// One tick: how late it came, then the players move.
    fn advance(&mut self) {
        let now = Instant::now();
        let due = self.origin + self.period * self.next_due;
        let late = u64::try_from(now.saturating_duration_since(due).as_micros()).unwrap_or(u64::MAX);
        self.probe.lateness.lock().unwrap_or_else(PoisonError::into_inner).saturating_record(late);
        self.probe.ticks.fetch_add(1, Ordering::Relaxed);
        // A tick more than a period late makes tokio skip the ticks it
        // passed (`MissedTickBehavior::Skip`): the next is due at the next
        // period boundary after now.
        let elapsed = now.saturating_duration_since(self.origin).as_micros() / self.period.as_micros();
        let passed = u32::try_from(elapsed).unwrap_or(u32::MAX);
        if passed > self.next_due {
            self.probe.skipped.fetch_add(u64::from(passed - self.next_due), Ordering::Relaxed);
        }
        self.next_due = passed.max(self.next_due) + 1;
        self.tick += 1;
        let t = i32::try_from(self.tick % 360).unwrap_or(0);
        for p in &mut self.players {
            let phase = t + 90 * i32::try_from(p.seat).unwrap_or(0);
            p.x = (phase % 180) - 90;
            p.y = 90 - (phase % 180);
        }
    }

    fn send(&mut self) {
        let players: Vec<Value> =
            self.players.iter().map(|p| json!({ "seat": p.seat, "x": p.x, "y": p.y, "hp": p.hp })).collect();
        let state = json!({ "room": self.room, "tick": self.tick, "players": players });
        if self.ctx.broadcast(&self.group, STATE, &state).is_err() {
            self.probe.push_errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The baseline's loop: the same schedule as `run_tick_loop`'s.
    async fn run_interval(mut self, shutdown: Shutdown) {
        let mut interval = tokio::time::interval_at(self.origin + self.period, self.period);
        interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => return,
                _ = interval.tick() => {}
            }
            self.advance();
            self.send();
        }
    }
}

impl RoomGame for Arena {
    type Input = ();

    fn step(&mut self, _tick: Tick<()>) -> bool {
        self.advance();
        true
    }

    fn push(&mut self, _tick: u64) {
        self.send();
    }
}

/// `{"room": ID}`: joins room ID's group (and the room, in rooms mode).
#[register_event(21200)]
async fn join(ctx: Context, req: Value) -> Result<Value, Status> {
    let host = ctx.state::<Arc<Host>>()?;
    let id = RoomId::new(req["room"].as_str().ok_or_else(|| Status::bad_request("room: a string"))?)?;
    let session = ctx.require_session()?.clone();
    let fresh = match host.mode {
        Mode::Rooms => {
            let mut rooms = host.rooms.lock().unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            let fresh = rooms.get(&id).is_none();
            if fresh {
                let rate = TickRate::hz(HZ)?;
                rooms.create(
                    id.clone(),
                    RoomSettings::new(MEMBERS)?.ticking(rate, PushMode::EveryTick),
                    now,
                )?;
            }
            rooms.room(&id)?.join(session.clone(), ctx.uid(), now)?;
            fresh
        }
        Mode::Intervals => {
            host.intervals.lock().unwrap_or_else(PoisonError::into_inner).insert(id.as_str().to_owned())
        }
    };
    ctx.join_group(&id.group(), Member::Session(session)).await?;
    if fresh {
        let (node_ctx, shutdown) = host.node.get().cloned().ok_or_else(|| Status::internal("not started"))?;
        let probe = Arc::clone(&host.probe);
        probe.loops.fetch_add(1, Ordering::Relaxed);
        let rooms = Arc::clone(&host.rooms);
        let mode = host.mode;
        shutdown.clone().spawn(async move {
            // Both loops schedule their first tick one period after now.
            let game = Arena::new(node_ctx, id.as_str(), Arc::clone(&probe), Instant::now());
            match mode {
                Mode::Rooms => {
                    let _end = run_tick_loop(rooms, id, game, shutdown.clone()).await;
                }
                Mode::Intervals => game.run_interval(shutdown.clone()).await,
            }
            if !shutdown.is_triggered() {
                probe.loops_stopped.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    Ok(json!({}))
}
