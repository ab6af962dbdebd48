//! Seats: reservations that lapse, reconnection windows, and the races
//! the peers' trackers show (a second login while the first holds the
//! seat, a token used after the seat or room is gone, a kick racing a
//! claim).

use std::time::Duration;

use tokio::time::Instant;

use super::*;
use crate::id::{NodeId, SessionId};

fn session(seq: u64) -> SessionId {
    SessionId::new(NodeId::of("127.0.0.1", 7000), seq)
}

const SECOND: Duration = Duration::from_secs(1);

#[test]
fn a_reserved_seat_is_claimed_in_time_or_lapses_as_a_no_show() {
    let t0 = Instant::now();
    let mut seats = Seats::new(2);
    seats.reserve("ann", t0 + 10 * SECOND).unwrap();
    seats.reserve("bob", t0 + 10 * SECOND).unwrap();
    assert_eq!(seats.reserve("cat", t0 + 10 * SECOND), Err(RoomError::Full { capacity: 2 }));
    assert_eq!(seats.claim("ann", session(1), t0 + 9 * SECOND), Ok(Claimed::Seated));
    assert_eq!(seats.claim("ann", session(1), t0 + 9 * SECOND), Ok(Claimed::Seated), "a retried claim");
    assert_eq!(seats.deadline(), Some(t0 + 10 * SECOND), "bob's reservation");
    assert_eq!(seats.expire(t0 + 10 * SECOND), vec![("bob".to_owned(), SeatLapse::NoShow)]);
    assert_eq!(seats.claim("bob", session(2), t0 + 11 * SECOND), Err(RoomError::NoSeat));
    assert_eq!(seats.deadline(), None);
    seats.reserve("cat", t0 + 20 * SECOND).unwrap();
}

#[test]
fn a_claim_after_the_window_is_refused_and_frees_the_seat() {
    let t0 = Instant::now();
    let mut seats = Seats::new(2);
    seats.reserve("ann", t0 + SECOND).unwrap();
    assert_eq!(seats.claim("ann", session(1), t0 + SECOND), Err(RoomError::SeatLapsed));
    assert!(seats.is_empty(), "no expire() needed: the late claim freed it");
}

#[test]
fn an_away_member_keeps_the_seat_for_the_window_then_loses_it() {
    let t0 = Instant::now();
    let mut seats = Seats::new(4);
    for (uid, seq) in [("ann", 1), ("bob", 2)] {
        seats.reserve(uid, t0 + SECOND).unwrap();
        seats.claim(uid, session(seq), t0).unwrap();
    }
    assert!(seats.away(&session(1), t0, 30 * SECOND));
    assert!(seats.away(&session(2), t0, 30 * SECOND));
    // Ann resumes (same session); Bob logs in again (a new session).
    assert_eq!(seats.claim("ann", session(1), t0 + 29 * SECOND), Ok(Claimed::Returned));
    assert_eq!(seats.claim("bob", session(9), t0 + 29 * SECOND), Ok(Claimed::Returned));
    assert_eq!(seats.get("bob"), Some(&Seat::Taken { session: session(9) }));

    assert!(seats.away(&session(1), t0 + 40 * SECOND, 30 * SECOND));
    assert_eq!(seats.expire(t0 + 69 * SECOND), vec![]);
    assert_eq!(seats.expire(t0 + 70 * SECOND), vec![("ann".to_owned(), SeatLapse::Gone)]);
    assert_eq!(seats.claim("ann", session(1), t0 + 71 * SECOND), Err(RoomError::NoSeat));
}

#[test]
fn a_zero_window_frees_the_seat_at_once() {
    let t0 = Instant::now();
    let mut seats = Seats::new(1);
    seats.reserve("ann", t0 + SECOND).unwrap();
    seats.claim("ann", session(1), t0).unwrap();
    assert!(seats.away(&session(1), t0, Duration::ZERO));
    assert!(seats.is_empty());
}

/// colyseus-style race: a second login while the first session still
/// holds the seat. The newer session takes it over; the older one is named
/// so the game removes it, and its later drop does not touch the seat.
#[test]
fn a_second_login_takes_the_seat_over_from_the_first() {
    let t0 = Instant::now();
    let mut seats = Seats::new(2);
    seats.reserve("ann", t0 + SECOND).unwrap();
    seats.claim("ann", session(1), t0).unwrap();
    assert_eq!(seats.claim("ann", session(2), t0), Ok(Claimed::Replaced { old: session(1) }));
    assert!(!seats.away(&session(1), t0, 30 * SECOND), "the replaced session holds nothing");
    assert_eq!(seats.get("ann"), Some(&Seat::Taken { session: session(2) }));
}

/// pitaya-style race: a kick (release) lands while the player's claim is
/// on its way; the claim after it finds no seat, so a kicked player never
/// sits again by racing the kick.
#[test]
fn a_claim_after_a_kick_finds_no_seat() {
    let t0 = Instant::now();
    let mut seats = Seats::new(2);
    seats.reserve("ann", t0 + SECOND).unwrap();
    assert!(matches!(seats.release("ann"), Some(Seat::Reserved { .. })));
    assert_eq!(seats.claim("ann", session(1), t0), Err(RoomError::NoSeat));
    assert!(!seats.away(&session(1), t0, SECOND));
}

#[test]
fn reserving_again_extends_a_reservation_and_leaves_a_taken_seat_alone() {
    let t0 = Instant::now();
    let mut seats = Seats::new(1);
    seats.reserve("ann", t0 + SECOND).unwrap();
    seats.reserve("ann", t0 + 5 * SECOND).unwrap();
    seats.reserve("ann", t0 + 2 * SECOND).unwrap();
    assert_eq!(seats.get("ann"), Some(&Seat::Reserved { until: t0 + 5 * SECOND }));
    seats.claim("ann", session(1), t0).unwrap();
    seats.reserve("ann", t0 + 9 * SECOND).unwrap();
    assert_eq!(seats.get("ann"), Some(&Seat::Taken { session: session(1) }));
    assert_eq!(seats.len(), 1);
}

#[test]
fn seat_errors_read_as_not_found() {
    use crate::status::{Code, Status};
    assert_eq!(Status::from(RoomError::NoSeat).code(), Code::NOT_FOUND);
    assert_eq!(Status::from(RoomError::SeatLapsed).code(), Code::NOT_FOUND);
}
