//! A node's rooms together: limits, reaping, drain and the node's end.

use std::time::Duration;

use tokio::time::Instant;

use super::*;
use crate::id::{NodeId, SessionId};

fn session(seq: u64) -> SessionId {
    SessionId::new(NodeId::of("127.0.0.1", 7000), seq)
}

fn id(name: &str) -> RoomId {
    RoomId::new(name).unwrap()
}

fn seats(n: usize) -> RoomSettings {
    RoomSettings::new(n).unwrap()
}

#[test]
fn rooms_are_bounded_unique_and_looked_up_by_id() {
    let now = Instant::now();
    let mut rooms: Rooms<()> = Rooms::new(2).unwrap();
    rooms.create(id("a"), seats(2), now).unwrap();
    assert_eq!(rooms.create(id("a"), seats(2), now).err(), Some(RoomError::Exists { id: "a".into() }));
    rooms.create(id("b"), seats(2), now).unwrap();
    assert_eq!(rooms.create(id("c"), seats(2), now).err(), Some(RoomError::TooManyRooms { max: 2 }));
    assert_eq!(rooms.len(), 2);
    rooms.room(&id("a")).unwrap().join(session(1), None, now).unwrap();
    assert_eq!(rooms.get(&id("a")).unwrap().members().len(), 1);
    assert_eq!(rooms.room(&id("zz")).err(), Some(RoomError::NoSuchRoom { id: "zz".into() }));
    assert_eq!(rooms.stats().created(), 2);
    assert!(Rooms::<()>::new(0).is_err());
    assert!(Rooms::<()>::new(MAX_ROOMS_PER_NODE + 1).is_err());
}

#[test]
fn poll_reaps_disposed_rooms_and_returns_those_its_timeouts_ended() {
    let t0 = Instant::now();
    let wait = Duration::from_secs(10);
    let mut rooms: Rooms<()> = Rooms::new(10).unwrap();
    rooms.create(id("waits"), seats(2).empty_timeout(wait), t0).unwrap();
    rooms.create(id("left"), seats(2), t0).unwrap().join(session(1), None, t0).unwrap();
    rooms.create(id("busy"), seats(2).empty_timeout(wait), t0).unwrap().join(session(2), None, t0).unwrap();
    // Its last member left: disposed at once, reaped at the next poll.
    rooms.room(&id("left")).unwrap().leave(&session(1), t0).unwrap();
    assert_eq!(rooms.deadline(), Some(t0 + wait));
    assert!(rooms.poll(t0).is_empty());
    assert_eq!(rooms.len(), 2);
    let ended = rooms.poll(t0 + wait);
    assert_eq!(ended.len(), 1);
    assert_eq!((ended[0].0.as_str(), ended[0].1.reason), ("waits", DisposeReason::EmptyTimeout));
    assert_eq!(rooms.ids().map(RoomId::as_str).collect::<Vec<_>>(), ["busy"]);
    assert_eq!(rooms.deadline(), None);
    assert_eq!((rooms.stats().created(), rooms.stats().open()), (3, 1));
}

#[test]
fn drain_applies_each_room_s_policy_and_refuses_new_rooms() {
    let now = Instant::now();
    let mut rooms: Rooms<()> = Rooms::new(10).unwrap();
    let finish = seats(2).on_drain(DrainPolicy::FinishThenDispose);
    let notify = seats(2).on_drain(DrainPolicy::NotifyAndDispose);
    rooms.create(id("match"), finish.clone(), now).unwrap().join(session(1), None, now).unwrap();
    rooms.create(id("lobby"), notify, now).unwrap().join(session(2), None, now).unwrap();
    rooms.create(id("idle"), finish.empty_timeout(Duration::from_secs(60)), now).unwrap();

    let mut ended = rooms.drain();
    ended.sort_by(|a, b| a.0.cmp(&b.0));
    let summary: Vec<(&str, usize)> = ended.iter().map(|(id, e)| (id.as_str(), e.members.len())).collect();
    assert_eq!(summary, [("idle", 0), ("lobby", 1)]);
    assert!(ended.iter().all(|(_, e)| e.reason == DisposeReason::Drained));
    assert!(rooms.is_draining());
    assert_eq!(rooms.get(&id("match")).unwrap().phase(), RoomPhase::Finishing);
    assert_eq!(rooms.create(id("new"), seats(2), now).err(), Some(RoomError::NodeDraining));

    // The finishing match ends with its last member.
    let last = rooms.room(&id("match")).unwrap().leave(&session(1), now).unwrap();
    assert_eq!(last, Left::Disposed(DisposeReason::Drained));
    assert!(rooms.poll(now).is_empty());
    assert!(rooms.is_empty());
}

#[test]
fn the_node_s_end_ends_every_room_with_its_members_to_tell() {
    let now = Instant::now();
    let mut rooms: Rooms<()> = Rooms::new(10).unwrap();
    rooms.create(id("a"), seats(2), now).unwrap().join(session(1), None, now).unwrap();
    rooms.create(id("b"), seats(2), now).unwrap().join(session(2), None, now).unwrap();
    let ended = rooms.end_all(DisposeReason::NodeGone);
    assert_eq!(ended.len(), 2);
    assert!(ended.iter().all(|(_, e)| e.reason == DisposeReason::NodeGone && e.members.len() == 1));
    assert!(rooms.is_empty());
    assert_eq!(rooms.stats().open(), 0);
    assert_eq!(rooms.create(id("c"), seats(2), now).err(), Some(RoomError::NodeDraining));
}
