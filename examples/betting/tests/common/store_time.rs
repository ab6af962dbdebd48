//! Store scenarios of time and of the datacenter: bets stop at the start
//! time whatever the state says, and feed imports are idempotent.

use betting::feed::Imported;
use betting::{Action, BetError, MatchState, NewBet, OrderIds, Store, now_ms};

use super::store_suite::user;
use super::{assert_conserved, three_way};

/// A match still open past its start (its kickoff has not run: the node
/// that armed it died) takes no bet.
pub async fn bets_stop_at_the_start_time(store: &dyn Store) {
    let ids = OrderIds::new(1, None).unwrap();
    let u = user(store, "late", 100).await;
    let mut spec = three_way("football");
    let now = now_ms();
    spec.start_time = now / 1000 + 60;
    let m = store.create_match(&spec).await.unwrap();
    store.transition(m.id, Action::Approve, None).await.unwrap();
    store.transition(m.id, Action::Open, None).await.unwrap();
    let at = |ms: u64| NewBet {
        order_id: ids.next(),
        uid: u.uid,
        match_id: m.id,
        option: "home".into(),
        amount: 5,
        placed_at: ms,
    };
    store.place_bet(at(now)).await.expect("before the start");
    store.place_bet(at(spec.start_time * 1000 - 1)).await.expect("a millisecond before the start");
    for late in [spec.start_time * 1000, spec.start_time * 1000 + 5_000] {
        let refused = store.place_bet(at(late)).await.unwrap_err();
        assert_eq!(refused, BetError::BettingClosed { id: m.id, state: MatchState::BettingOpen });
        assert_eq!(refused.code(), 6012);
    }
    assert_eq!(store.balance(u.uid).await.unwrap(), 90, "refused bets took nothing");
    assert_conserved(store).await;
}

/// Importing a feed entry creates the match once, updates it while it is
/// unapproved, and leaves it once approved.
pub async fn feed_imports_are_idempotent(store: &dyn Store) {
    let spec = three_way("football");
    let Imported::Created(first) = store.import_match("fifa-12", &spec).await.unwrap() else { panic!() };
    assert_eq!(first.state, MatchState::NotStarted);
    assert_eq!(store.import_match("fifa-12", &spec).await.unwrap(), Imported::Unchanged(first.clone()));
    let mut moved = spec.clone();
    moved.start_time += 600;
    let Imported::Updated(updated) = store.import_match("fifa-12", &moved).await.unwrap() else { panic!() };
    assert_eq!((updated.id, updated.start_time), (first.id, first.start_time + 600));
    assert_eq!(store.get_match(first.id).await.unwrap(), updated, "the update is stored");
    store.transition(first.id, Action::Approve, None).await.unwrap();
    let mut again = moved.clone();
    again.options[0].odds = 9.0;
    let Imported::Locked(kept) = store.import_match("fifa-12", &again).await.unwrap() else { panic!() };
    assert_eq!(kept.options[0].odds_centi, 250, "an approved match is the admin's");
    let Imported::Created(other) = store.import_match("fifa-13", &spec).await.unwrap() else { panic!() };
    assert_ne!(other.id, first.id);
    let mut bad = spec.clone();
    bad.options.truncate(1);
    assert!(matches!(store.import_match("fifa-14", &bad).await, Err(BetError::Invalid { .. })));
    let all = store.matches().await.unwrap();
    assert_eq!(all.len(), 2, "one match per feed id: {all:?}");
    assert_conserved(store).await;
}
