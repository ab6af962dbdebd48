//! The tick loop on tokio's paused clock: ticks are counted and their
//! inputs checked, virtual time only (no real time is waited or measured).

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::*;
use crate::id::{NodeId, SessionId};
use crate::shutdown::Shutdown;

#[derive(Debug, PartialEq, Eq)]
enum Event {
    Step { number: u64, inputs: Vec<u32> },
    Push(u64),
    Ended { reason: DisposeReason, members: Vec<u64> },
}

/// A game that reports what its loop does; its state changes when a tick
/// brings inputs.
struct Probe(mpsc::Sender<Event>);

impl RoomGame for Probe {
    type Input = u32;

    fn step(&mut self, tick: Tick<u32>) -> bool {
        let inputs: Vec<u32> = tick.inputs.into_iter().map(|i| i.input).collect();
        let changed = !inputs.is_empty();
        self.0.try_send(Event::Step { number: tick.number, inputs }).expect("test reads events");
        changed
    }

    fn push(&mut self, tick: u64) {
        self.0.try_send(Event::Push(tick)).expect("test reads events");
    }

    fn ended(&mut self, ended: Ended) {
        let members = ended.members.iter().map(|m| m.session.seq()).collect();
        self.0.try_send(Event::Ended { reason: ended.reason, members }).expect("test reads events");
    }
}

fn session(seq: u64) -> SessionId {
    SessionId::new(NodeId::of("127.0.0.1", 7000), seq)
}

fn room_id() -> RoomId {
    RoomId::new("ticking").unwrap()
}

type Shared = Arc<Mutex<Rooms<u32>>>;

fn setup(mode: PushMode) -> (Shared, mpsc::Receiver<Event>, tokio::task::JoinHandle<TickLoopEnd>, Shutdown) {
    let rooms: Shared = Arc::new(Mutex::new(Rooms::new(4).unwrap()));
    let settings = RoomSettings::new(2).unwrap().ticking(TickRate::hz(20).unwrap(), mode);
    let now = Instant::now();
    rooms.lock().unwrap().create(room_id(), settings, now).unwrap().join(session(1), None, now).unwrap();
    let (tx, rx) = mpsc::channel(64);
    let shutdown = Shutdown::new();
    let run = tokio::spawn(run_tick_loop(rooms.clone(), room_id(), Probe(tx), shutdown.clone()));
    (rooms, rx, run, shutdown)
}

fn submit(rooms: &Shared, input: u32) {
    rooms.lock().unwrap().room(&room_id()).unwrap().submit(session(1), input).unwrap();
}

#[tokio::test(start_paused = true)]
async fn ticks_come_one_period_apart_with_the_inputs_queued_between_them() {
    let start = Instant::now();
    let period = TickRate::hz(20).unwrap().period();
    let (rooms, mut rx, _run, _shutdown) = setup(PushMode::EveryTick);
    submit(&rooms, 1);
    submit(&rooms, 2);
    assert_eq!(rx.recv().await, Some(Event::Step { number: 1, inputs: vec![1, 2] }));
    assert_eq!(Instant::now() - start, period, "the first tick is one period in (virtual time)");
    assert_eq!(rx.recv().await, Some(Event::Push(1)));
    submit(&rooms, 3);
    assert_eq!(rx.recv().await, Some(Event::Step { number: 2, inputs: vec![3] }));
    assert_eq!(rx.recv().await, Some(Event::Push(2)));
    // Every tick pushes, inputs or not.
    assert_eq!(rx.recv().await, Some(Event::Step { number: 3, inputs: vec![] }));
    assert_eq!(rx.recv().await, Some(Event::Push(3)));
    assert_eq!(Instant::now() - start, period * 3);
    assert_eq!(rooms.lock().unwrap().stats().ticks(), 3);
}

#[tokio::test(start_paused = true)]
async fn on_change_pushes_only_after_a_tick_that_changed_the_state() {
    let (rooms, mut rx, _run, _shutdown) = setup(PushMode::OnChange);
    assert_eq!(rx.recv().await, Some(Event::Step { number: 1, inputs: vec![] }));
    assert_eq!(rx.recv().await, Some(Event::Step { number: 2, inputs: vec![] }));
    submit(&rooms, 9);
    assert_eq!(rx.recv().await, Some(Event::Step { number: 3, inputs: vec![9] }));
    assert_eq!(rx.recv().await, Some(Event::Push(3)));
    assert_eq!(rx.recv().await, Some(Event::Step { number: 4, inputs: vec![] }));
}

#[tokio::test(start_paused = true)]
async fn the_loop_stops_when_its_room_is_disposed_even_if_the_id_is_reused() {
    let (rooms, mut rx, run, _shutdown) = setup(PushMode::EveryTick);
    assert!(matches!(rx.recv().await, Some(Event::Step { number: 1, .. })));
    {
        let mut rooms = rooms.lock().unwrap();
        rooms.room(&room_id()).unwrap().dispose(DisposeReason::Closed).unwrap();
        rooms.poll(Instant::now());
        // A new room under the same id: not the old loop's to tick.
        let settings = RoomSettings::new(2).unwrap().ticking(TickRate::hz(20).unwrap(), PushMode::EveryTick);
        rooms.create(room_id(), settings, Instant::now()).unwrap();
    }
    assert_eq!(run.await.unwrap(), TickLoopEnd::RoomGone);
    assert_eq!(rx.recv().await, Some(Event::Push(1)));
    assert_eq!(rx.recv().await, None, "no tick after the room's end");
    assert_eq!(rooms.lock().unwrap().get(&room_id()).unwrap().ticks(), 0);
}

#[tokio::test(start_paused = true)]
async fn shutdown_stops_the_loop_and_a_room_without_a_rate_has_none() {
    let (_rooms, mut rx, run, shutdown) = setup(PushMode::EveryTick);
    assert!(matches!(rx.recv().await, Some(Event::Step { number: 1, .. })));
    shutdown.trigger();
    assert_eq!(run.await.unwrap(), TickLoopEnd::Shutdown);

    let rooms: Shared = Arc::new(Mutex::new(Rooms::new(1).unwrap()));
    rooms.lock().unwrap().create(room_id(), RoomSettings::new(2).unwrap(), Instant::now()).unwrap();
    let (tx, _rx) = mpsc::channel(1);
    let end = run_tick_loop(rooms.clone(), room_id(), Probe(tx.clone()), Shutdown::new()).await;
    assert_eq!(end, TickLoopEnd::NotTicking);
    let missing = RoomId::new("missing").unwrap();
    assert_eq!(run_tick_loop(rooms, missing, Probe(tx), Shutdown::new()).await, TickLoopEnd::RoomGone);
}

#[tokio::test(start_paused = true)]
async fn a_ticking_room_s_lifetime_ends_it_at_a_tick_and_the_game_tells_its_members() {
    let rooms: Shared = Arc::new(Mutex::new(Rooms::new(1).unwrap()));
    let rate = TickRate::hz(10).unwrap();
    let settings =
        RoomSettings::new(2).unwrap().ticking(rate, PushMode::OnChange).max_lifetime(rate.period() * 3);
    let now = Instant::now();
    rooms.lock().unwrap().create(room_id(), settings, now).unwrap().join(session(1), None, now).unwrap();
    let (tx, mut rx) = mpsc::channel(64);
    let end = run_tick_loop(rooms.clone(), room_id(), Probe(tx), Shutdown::new()).await;
    assert_eq!(end, TickLoopEnd::RoomGone);
    let mut events = Vec::new();
    while let Ok(event) = rx.try_recv() {
        events.push(event);
    }
    // Two ticks, then the third period's end is the room's.
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(events[2], Event::Ended { reason: DisposeReason::Lifetime, members: vec![1] });
    let phase = rooms.lock().unwrap().get(&room_id()).unwrap().phase();
    assert_eq!(phase, RoomPhase::Disposed(DisposeReason::Lifetime));
}
