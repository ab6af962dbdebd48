//! Every lifecycle edge of a room, on plain values: no clock is read,
//! time is an `Instant` plus the durations the test chooses.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::*;
use crate::id::{NodeId, SessionId};
use crate::status::{Code, Status};

fn session(seq: u64) -> SessionId {
    SessionId::new(NodeId::of("127.0.0.1", 7000), seq)
}

fn room(settings: RoomSettings) -> (Room<u32>, Arc<RoomStats>, Instant) {
    let stats = Arc::new(RoomStats::default());
    let now = Instant::now();
    (Room::new(RoomId::new("r1").unwrap(), settings, now, stats.clone()), stats, now)
}

fn two_seats() -> RoomSettings {
    RoomSettings::new(2).unwrap()
}

#[test]
fn members_join_in_order_up_to_the_limit_and_a_full_room_refuses() {
    let (mut r, stats, now) = room(two_seats());
    assert_eq!(r.join(session(1), Some("u1".into()), now), Ok(Joined::New));
    assert_eq!(r.join(session(2), None, now), Ok(Joined::New));
    assert_eq!(r.join(session(3), None, now), Err(RoomError::Full { capacity: 2 }));
    let seqs: Vec<u64> = r.members().iter().map(|m| m.session.seq()).collect();
    assert_eq!(seqs, [1, 2]);
    assert_eq!(r.members()[0].uid.as_deref(), Some("u1"));
    assert_eq!(stats.joins(), 2);
    assert_eq!(Status::from(RoomError::Full { capacity: 2 }).code(), Code::OVERLOADED);
}

#[test]
fn a_double_join_changes_nothing_even_when_full() {
    let (mut r, stats, now) = room(two_seats());
    r.join(session(1), None, now).unwrap();
    r.join(session(2), None, now).unwrap();
    assert_eq!(r.join(session(1), None, now), Ok(Joined::Already));
    assert_eq!(r.members().len(), 2);
    assert_eq!(stats.joins(), 2);
}

#[test]
fn leaving_an_unknown_member_is_refused_and_changes_nothing() {
    let (mut r, stats, now) = room(two_seats());
    r.join(session(1), None, now).unwrap();
    assert_eq!(r.leave(&session(9), now), Err(RoomError::NotMember));
    assert_eq!(r.members().len(), 1);
    assert_eq!(stats.leaves(), 0);
    assert_eq!(r.phase(), RoomPhase::Open);
}

#[test]
fn the_last_leave_disposes_a_room_without_empty_timeout() {
    let (mut r, stats, now) = room(two_seats());
    r.join(session(1), None, now).unwrap();
    r.join(session(2), None, now).unwrap();
    assert_eq!(r.leave(&session(1), now), Ok(Left::Stays));
    assert_eq!(r.leave(&session(2), now), Ok(Left::Disposed(DisposeReason::Empty)));
    assert_eq!(r.phase(), RoomPhase::Disposed(DisposeReason::Empty));
    assert_eq!((stats.created(), stats.disposed(), stats.open()), (1, 1, 0));
}

#[test]
fn a_disposed_room_refuses_everything_and_stays_disposed() {
    let (mut r, stats, now) = room(two_seats());
    r.join(session(1), None, now).unwrap();
    let ended = r.dispose(DisposeReason::Closed).unwrap();
    assert_eq!(ended.reason, DisposeReason::Closed);
    assert_eq!(ended.members.len(), 1);
    let gone = RoomError::Disposed { reason: DisposeReason::Closed };
    assert_eq!(r.join(session(2), None, now), Err(gone.clone()));
    assert_eq!(r.join(session(1), None, now), Err(gone.clone()));
    assert_eq!(r.leave(&session(1), now), Err(gone.clone()));
    assert_eq!(r.submit(session(1), 5), Err(gone.clone()));
    assert_eq!(r.tick(), Err(gone.clone()));
    assert_eq!(r.dispose(DisposeReason::Empty), None);
    assert_eq!(r.drain(), Drained::Disposed(None));
    assert_eq!(r.poll(now + Duration::from_secs(3600)), None);
    assert_eq!(r.deadline(), None);
    assert_eq!(r.phase(), RoomPhase::Disposed(DisposeReason::Closed));
    assert_eq!(stats.disposed(), 1, "disposed once");
    assert_eq!(Status::from(gone).code(), Code::NOT_FOUND);
}

#[test]
fn an_empty_room_waits_its_timeout_and_a_join_in_time_keeps_it() {
    let wait = Duration::from_secs(30);
    let (mut r, _, t0) = room(two_seats().empty_timeout(wait));
    // Nobody came yet: the timeout runs from creation.
    assert_eq!(r.deadline(), Some(t0 + wait));
    assert_eq!(r.poll(t0 + wait - Duration::from_millis(1)), None);
    r.join(session(1), None, t0 + Duration::from_secs(10)).unwrap();
    assert_eq!(r.deadline(), None);
    assert_eq!(r.poll(t0 + wait * 10), None, "a room with members does not time out");

    let t1 = t0 + Duration::from_secs(100);
    assert_eq!(r.leave(&session(1), t1), Ok(Left::Stays));
    assert_eq!(r.deadline(), Some(t1 + wait));
    assert_eq!(r.poll(t1 + wait - Duration::from_millis(1)), None);
    let ended = r.poll(t1 + wait).unwrap();
    assert_eq!((ended.reason, ended.members.len()), (DisposeReason::EmptyTimeout, 0));
    assert!(r.is_disposed());
}

#[test]
fn a_room_nobody_joins_is_disposed_at_its_empty_timeout() {
    let wait = Duration::from_secs(5);
    let (mut r, stats, t0) = room(two_seats().empty_timeout(wait));
    assert_eq!(r.poll(t0 + wait).map(|e| e.reason), Some(DisposeReason::EmptyTimeout));
    assert_eq!(stats.open(), 0);
}

#[test]
fn the_lifetime_ends_a_room_with_its_members_to_tell() {
    let life = Duration::from_secs(600);
    let (mut r, _, t0) = room(two_seats().max_lifetime(life).empty_timeout(Duration::from_secs(900)));
    r.join(session(1), None, t0).unwrap();
    assert_eq!(r.deadline(), Some(t0 + life));
    assert_eq!(r.poll(t0 + life - Duration::from_secs(1)), None);
    let ended = r.poll(t0 + life).unwrap();
    assert_eq!(ended.reason, DisposeReason::Lifetime);
    assert_eq!(ended.members.iter().map(|m| m.session.seq()).collect::<Vec<_>>(), [1]);
    assert!(r.members().is_empty());
}

#[test]
fn the_earlier_of_empty_timeout_and_lifetime_is_the_deadline() {
    let (r, _, t0) =
        room(two_seats().empty_timeout(Duration::from_secs(9)).max_lifetime(Duration::from_secs(4)));
    assert_eq!(r.deadline(), Some(t0 + Duration::from_secs(4)));
}

#[test]
fn inputs_are_queued_between_ticks_in_order_and_taken_whole() {
    let (mut r, stats, now) = room(two_seats());
    r.join(session(1), None, now).unwrap();
    r.join(session(2), None, now).unwrap();
    r.submit(session(1), 10).unwrap();
    r.submit(session(2), 20).unwrap();
    r.submit(session(1), 11).unwrap();
    let tick = r.tick().unwrap();
    assert_eq!(tick.number, 1);
    let got: Vec<(u64, u32)> = tick.inputs.iter().map(|i| (i.from.seq(), i.input)).collect();
    assert_eq!(got, [(1, 10), (2, 20), (1, 11)]);
    let empty = r.tick().unwrap();
    assert_eq!((empty.number, empty.inputs.len()), (2, 0));
    assert_eq!((r.ticks(), stats.ticks()), (2, 2));
}

#[test]
fn a_full_input_queue_refuses_and_counts_until_the_next_tick() {
    let (mut r, stats, now) = room(two_seats().input_capacity(2).unwrap());
    r.join(session(1), None, now).unwrap();
    r.submit(session(1), 1).unwrap();
    r.submit(session(1), 2).unwrap();
    assert_eq!(r.submit(session(1), 3), Err(RoomError::InputQueueFull { capacity: 2 }));
    assert_eq!(r.submit(session(1), 4), Err(RoomError::InputQueueFull { capacity: 2 }));
    assert_eq!(stats.inputs_dropped(), 2);
    assert_eq!(r.queued_inputs(), 2);
    assert_eq!(r.tick().unwrap().inputs.len(), 2);
    r.submit(session(1), 5).unwrap();
    assert_eq!(r.queued_inputs(), 1);
}

#[test]
fn only_members_submit_and_a_leaver_s_inputs_are_void() {
    let (mut r, _, now) = room(two_seats());
    assert_eq!(r.submit(session(1), 1), Err(RoomError::NotMember));
    r.join(session(1), None, now).unwrap();
    r.join(session(2), None, now).unwrap();
    r.submit(session(1), 1).unwrap();
    r.submit(session(2), 2).unwrap();
    r.leave(&session(1), now).unwrap();
    let inputs = r.tick().unwrap().inputs;
    assert_eq!(inputs.iter().map(|i| i.input).collect::<Vec<_>>(), [2]);
}

#[test]
fn drain_finish_then_dispose_keeps_members_refuses_newcomers_and_ends_with_the_last() {
    let (mut r, _, now) = room(RoomSettings::new(3).unwrap().empty_timeout(Duration::from_secs(60)));
    r.join(session(1), None, now).unwrap();
    r.join(session(2), None, now).unwrap();
    assert_eq!(r.drain(), Drained::Finishing);
    assert_eq!(r.phase(), RoomPhase::Finishing);
    assert_eq!(r.join(session(3), None, now), Err(RoomError::Finishing));
    assert_eq!(r.join(session(1), None, now), Ok(Joined::Already));
    // The game goes on: inputs and ticks still work.
    r.submit(session(2), 7).unwrap();
    assert_eq!(r.tick().unwrap().inputs.len(), 1);
    assert_eq!(r.drain(), Drained::Finishing, "a second drain changes nothing");
    assert_eq!(r.leave(&session(1), now), Ok(Left::Stays));
    // No empty timeout while finishing: the node is waiting on it.
    assert_eq!(r.leave(&session(2), now), Ok(Left::Disposed(DisposeReason::Drained)));
}

#[test]
fn drain_of_an_empty_room_disposes_it_whatever_the_policy() {
    let (mut r, _, _) = room(two_seats().empty_timeout(Duration::from_secs(60)));
    let Drained::Disposed(Some(ended)) = r.drain() else { panic!("not disposed") };
    assert_eq!((ended.reason, ended.members.len()), (DisposeReason::Drained, 0));
}

#[test]
fn drain_notify_and_dispose_ends_the_room_with_its_members_to_tell() {
    let (mut r, _, now) = room(two_seats().on_drain(DrainPolicy::NotifyAndDispose));
    r.join(session(1), None, now).unwrap();
    r.join(session(2), None, now).unwrap();
    let Drained::Disposed(Some(ended)) = r.drain() else { panic!("not disposed") };
    assert_eq!(ended.reason, DisposeReason::Drained);
    assert_eq!(ended.members.len(), 2);
    assert_eq!(r.phase(), RoomPhase::Disposed(DisposeReason::Drained));
}

#[test]
fn settings_out_of_bounds_are_refused_naming_the_field() {
    assert!(matches!(RoomSettings::new(0), Err(RoomSettingsError::OutOfRange { field: "max_members", .. })));
    assert!(RoomSettings::new(MAX_ROOM_MEMBERS).is_ok());
    assert!(RoomSettings::new(MAX_ROOM_MEMBERS + 1).is_err());
    assert!(matches!(
        two_seats().input_capacity(MAX_INPUT_CAPACITY + 1),
        Err(RoomSettingsError::OutOfRange { field: "input_capacity", .. })
    ));
    assert!(two_seats().input_capacity(0).is_err());
    assert_eq!(TickRate::hz(0), Err(RoomSettingsError::TickRate { hz: 0 }));
    assert_eq!(TickRate::hz(61), Err(RoomSettingsError::TickRate { hz: 61 }));
    assert_eq!(TickRate::hz(20).unwrap().period(), Duration::from_millis(50));
    assert_eq!(TickRate::hz(1).unwrap().period(), Duration::from_secs(1));
    assert_eq!(TickRate::hz(60).unwrap().per_second(), 60);
}

#[test]
fn room_ids_are_checked() {
    assert!(RoomId::new("").is_err());
    assert!(RoomId::new("a".repeat(MAX_ROOM_ID_LEN)).is_ok());
    assert!(RoomId::new("a".repeat(MAX_ROOM_ID_LEN + 1)).is_err());
    assert!(RoomId::new("a/b").is_err());
    assert!(RoomId::new("é").is_err());
    assert_eq!(RoomId::new("m:1_x.y-z").unwrap().group(), "room:m:1_x.y-z");
}
