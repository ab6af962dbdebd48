//! The pool's rules, each with the clock given: matches form oldest ticket
//! first, criteria widen with the wait, parties stay whole, every bound
//! holds, and no player is ever in two places.

use std::collections::HashSet;
use std::time::Duration;

use proptest::prelude::*;
use tokio::time::Instant;

use super::*;
use crate::id::{NodeId, SessionId};
use crate::rooms::RoomMember;

fn player(seq: u64) -> RoomMember {
    RoomMember { session: SessionId::new(NodeId::of("127.0.0.1", 7000), seq), uid: Some(format!("u{seq}")) }
}

fn party(seqs: &[u64]) -> Vec<RoomMember> {
    seqs.iter().map(|s| player(*s)).collect()
}

/// A rating gap of 100 is fine at once, and 100 more per second waited.
fn widening(a: &Ticket<u32>, b: &Ticket<u32>, waited: Duration) -> bool {
    u128::from(a.properties().abs_diff(*b.properties())) <= 100 + 100 * waited.as_millis() / 1000
}

fn anyone(_: &Ticket<u32>, _: &Ticket<u32>, _: Duration) -> bool {
    true
}

fn seqs(m: &Match<u32>) -> Vec<u64> {
    m.players().map(|p| p.session.seq()).collect()
}

#[test]
fn a_full_match_forms_at_once_oldest_tickets_first() {
    let t0 = Instant::now();
    let mut pool = Matchmaker::new(MatchSettings::new(2, 2).unwrap(), anyone);
    for seq in 1..=3 {
        pool.add(party(&[seq]), 1000, t0).unwrap();
    }
    let polled = pool.poll(t0);
    assert_eq!(polled.matches.iter().map(seqs).collect::<Vec<_>>(), vec![vec![1, 2]]);
    assert!(polled.expired.is_empty());
    assert_eq!(pool.len(), 1, "the youngest waits for a partner");
    assert!(pool.ticket_of(&player(3).session).is_some());
    assert!(pool.ticket_of(&player(1).session).is_none(), "matched players leave the pool");
}

#[test]
fn a_smaller_match_waits_fill_wait_for_a_full_one() {
    let t0 = Instant::now();
    let settings = MatchSettings::new(2, 4).unwrap().fill_wait(Duration::from_secs(5));
    let mut pool = Matchmaker::new(settings, anyone);
    pool.add(party(&[1]), 0, t0).unwrap();
    pool.add(party(&[2]), 0, t0).unwrap();
    assert!(pool.poll(t0 + Duration::from_secs(4)).matches.is_empty(), "two of four wait for more");
    let polled = pool.poll(t0 + Duration::from_secs(5));
    assert_eq!(polled.matches.iter().map(seqs).collect::<Vec<_>>(), vec![vec![1, 2]]);

    // Four at once need no wait.
    for seq in 10..14 {
        pool.add(party(&[seq]), 0, t0).unwrap();
    }
    assert_eq!(pool.poll(t0).matches.iter().map(seqs).collect::<Vec<_>>(), vec![vec![10, 11, 12, 13]]);
}

#[test]
fn criteria_widen_as_the_older_ticket_waits() {
    let t0 = Instant::now();
    let mut pool = Matchmaker::new(MatchSettings::new(2, 2).unwrap(), widening);
    pool.add(party(&[1]), 1000, t0).unwrap();
    pool.add(party(&[2]), 1500, t0 + Duration::from_secs(3)).unwrap();
    // A gap of 500 needs 4 s of waiting by the older ticket.
    assert!(pool.poll(t0 + Duration::from_millis(3999)).matches.is_empty());
    let polled = pool.poll(t0 + Duration::from_secs(4));
    assert_eq!(polled.matches.iter().map(seqs).collect::<Vec<_>>(), vec![vec![1, 2]]);
}

#[test]
fn every_pair_in_a_match_satisfies_the_criteria() {
    let t0 = Instant::now();
    let mut pool = Matchmaker::new(MatchSettings::new(3, 3).unwrap(), widening);
    // 1 fits 2 and 3 fits 2, but 1 and 3 are 200 apart: no match of three.
    pool.add(party(&[1]), 1000, t0).unwrap();
    pool.add(party(&[2]), 1100, t0).unwrap();
    pool.add(party(&[3]), 1200, t0).unwrap();
    assert!(pool.poll(t0).matches.is_empty());
    pool.add(party(&[4]), 1050, t0).unwrap();
    assert_eq!(pool.poll(t0).matches.iter().map(seqs).collect::<Vec<_>>(), vec![vec![1, 2, 4]]);
}

#[test]
fn parties_play_together_and_are_never_split() {
    let t0 = Instant::now();
    let mut pool = Matchmaker::new(MatchSettings::new(4, 4).unwrap(), anyone);
    pool.add(party(&[1, 2, 3]), 0, t0).unwrap();
    pool.add(party(&[4, 5]), 0, t0).unwrap();
    assert!(pool.poll(t0).matches.is_empty(), "3 + 2 overflows a match of 4");
    pool.add(party(&[6]), 0, t0).unwrap();
    let polled = pool.poll(t0);
    assert_eq!(polled.matches.iter().map(seqs).collect::<Vec<_>>(), vec![vec![1, 2, 3, 6]]);
    assert_eq!(polled.matches[0].size(), 4);
    assert_eq!(pool.len(), 1, "the pair waits, whole");
    assert_eq!(
        pool.add(party(&[7, 8, 9, 10, 11]), 0, t0),
        Err(MatchError::PartyTooLarge { size: 5, max: 4 })
    );
    assert_eq!(pool.add(Vec::new(), 0, t0), Err(MatchError::EmptyParty));
}

#[test]
fn a_player_waits_in_one_ticket_at_a_time() {
    let t0 = Instant::now();
    let mut pool = Matchmaker::new(MatchSettings::new(4, 4).unwrap(), anyone);
    let first = pool.add(party(&[1, 2]), 0, t0).unwrap();
    assert_eq!(pool.add(party(&[2]), 0, t0), Err(MatchError::AlreadyQueued(player(2).session)));
    assert_eq!(pool.add(party(&[3, 3]), 0, t0), Err(MatchError::AlreadyQueued(player(3).session)));
    assert_eq!(pool.len(), 1, "a refused ticket leaves nothing behind");
    assert!(pool.ticket_of(&player(3).session).is_none());

    // One player of a party leaving takes the party out; both may queue again.
    let gone = pool.cancel_session(&player(2).session).expect("the party's ticket");
    assert_eq!(gone.id(), first);
    assert!(pool.is_empty());
    pool.add(party(&[1]), 0, t0).unwrap();
    pool.add(party(&[2]), 0, t0).unwrap();
    assert!(pool.cancel(first).is_none(), "a cancelled ticket is gone");
}

#[test]
fn a_ticket_unmatched_for_max_wait_expires_and_is_reported() {
    let t0 = Instant::now();
    let settings = MatchSettings::new(2, 2).unwrap().max_wait(Duration::from_secs(30));
    let mut pool = Matchmaker::new(settings, widening);
    pool.add(party(&[1]), 0, t0).unwrap();
    pool.add(party(&[2]), 10_000, t0 + Duration::from_secs(1)).unwrap();
    assert!(pool.poll(t0 + Duration::from_millis(29_999)).expired.is_empty());
    let polled = pool.poll(t0 + Duration::from_secs(30));
    assert!(polled.matches.is_empty());
    assert_eq!(polled.expired.iter().map(|t| t.players()[0].session.seq()).collect::<Vec<_>>(), vec![1]);
    assert!(pool.ticket_of(&player(1).session).is_none(), "an expired player may queue again");
    assert_eq!(pool.len(), 1);
}

#[test]
fn a_drained_pool_hands_back_every_ticket_oldest_first_and_frees_its_players() {
    let t0 = Instant::now();
    let mut pool = Matchmaker::new(MatchSettings::new(4, 4).unwrap(), anyone);
    pool.add(party(&[1, 2]), 0, t0).unwrap();
    pool.add(party(&[3]), 0, t0).unwrap();
    let drained = pool.drain();
    assert_eq!(drained.iter().map(|t| t.size()).collect::<Vec<_>>(), vec![2, 1]);
    assert!(pool.is_empty() && pool.ticket_of(&player(1).session).is_none());
    pool.add(party(&[1]), 0, t0).unwrap();
}

#[test]
fn a_full_pool_refuses_until_a_match_frees_room() {
    let t0 = Instant::now();
    let mut pool = Matchmaker::new(MatchSettings::new(2, 2).unwrap().max_tickets(2).unwrap(), anyone);
    pool.add(party(&[1]), 0, t0).unwrap();
    pool.add(party(&[2]), 0, t0).unwrap();
    assert_eq!(pool.add(party(&[3]), 0, t0), Err(MatchError::Full { max: 2 }));
    assert_eq!(pool.poll(t0).matches.len(), 1);
    pool.add(party(&[3]), 0, t0).unwrap();
}

#[test]
fn scan_bounds_how_many_younger_tickets_one_is_compared_with() {
    let t0 = Instant::now();
    let build = |scan| {
        let mut pool = Matchmaker::new(MatchSettings::new(2, 2).unwrap().scan(scan).unwrap(), widening);
        for (seq, rating) in [(1, 1000), (2, 5000), (3, 1000)] {
            pool.add(party(&[seq]), rating, t0).unwrap();
        }
        pool
    };
    assert!(build(1).poll(t0).matches.is_empty(), "1 sees only 2, 2 only 3");
    assert_eq!(build(2).poll(t0).matches.iter().map(seqs).collect::<Vec<_>>(), vec![vec![1, 3]]);
}

#[test]
fn settings_out_of_bounds_are_refused_with_the_field() {
    assert!(matches!(MatchSettings::new(0, 2), Err(MatchError::OutOfRange { field: "min_players", .. })));
    assert!(matches!(MatchSettings::new(3, 2), Err(MatchError::OutOfRange { field: "min_players", .. })));
    assert!(matches!(MatchSettings::new(1, 0), Err(MatchError::OutOfRange { field: "max_players", .. })));
    let ok = MatchSettings::new(1, 2).unwrap();
    assert!(matches!(ok.clone().max_tickets(0), Err(MatchError::OutOfRange { field: "max_tickets", .. })));
    assert!(matches!(ok.scan(MAX_SCAN + 1), Err(MatchError::OutOfRange { field: "scan", .. })));
}

#[test]
fn errors_map_to_statuses() {
    use crate::status::{Code, Status};
    assert_eq!(Status::from(MatchError::Full { max: 1 }).code(), Code::OVERLOADED);
    assert_eq!(Status::from(MatchError::AlreadyQueued(player(1).session)).code(), Code::CONFLICT);
    assert_eq!(Status::from(MatchError::EmptyParty).code(), Code::BAD_REQUEST);
}

proptest! {
    /// Whatever arrives, cancels and waits: every match has min..=max
    /// players who all fit each other, no player is in two places, and
    /// every ticket is matched, expired, cancelled or still waiting.
    #[test]
    fn matches_are_valid_and_tickets_are_conserved(
        ops in prop::collection::vec((0u8..4, 1usize..4, 900u32..1400, 0u64..3000), 1..120),
    ) {
        let settings = MatchSettings::new(2, 4).unwrap()
            .fill_wait(Duration::from_secs(2))
            .max_wait(Duration::from_secs(20))
            .max_tickets(40).unwrap();
        let mut pool = Matchmaker::new(settings, widening);
        let t0 = Instant::now();
        let mut now = t0;
        let (mut next_seq, mut added, mut gone) = (0u64, 0usize, 0usize);
        let mut placed: HashSet<SessionId> = HashSet::new();
        for (op, size, rating, step) in ops {
            now += Duration::from_millis(step);
            match op {
                0 | 1 => {
                    let players: Vec<RoomMember> = (0..size).map(|_| { next_seq += 1; player(next_seq) }).collect();
                    if pool.add(players, rating, now).is_ok() { added += 1; }
                }
                2 => {
                    if next_seq > 0 && pool.cancel_session(&player(1 + u64::from(rating) % next_seq).session).is_some() {
                        gone += 1;
                    }
                }
                _ => {
                    let polled = pool.poll(now);
                    gone += polled.expired.len();
                    for m in &polled.matches {
                        prop_assert!((2..=4).contains(&m.size()));
                        for (i, a) in m.tickets.iter().enumerate() {
                            for b in &m.tickets[i + 1..] {
                                prop_assert!(a.id() < b.id(), "oldest first");
                                prop_assert!(widening(a, b, a.waited(now)));
                            }
                        }
                        for p in m.players() {
                            prop_assert!(placed.insert(p.session.clone()), "a player matched twice");
                            prop_assert!(pool.ticket_of(&p.session).is_none());
                        }
                        gone += m.tickets.len();
                    }
                }
            }
            prop_assert_eq!(added, gone + pool.len());
            prop_assert!(pool.len() <= 40);
        }
    }
}
