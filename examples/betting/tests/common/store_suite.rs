//! Scenarios every [`Store`] implementation must pass. Each takes a fresh,
//! empty store and ends with the money conservation check.

use std::collections::HashMap;
use std::sync::Arc;

use betting::{
    Action, BetError, Match, MatchState, NewBet, OrderIds, OrderStatus, Placed, Store, User, now_ms,
};

use super::{assert_conserved, three_way};

pub async fn user(store: &dyn Store, name: &str, coins: u64) -> User {
    let user = store.create_user(name, "$argon2id$test", 0).await.unwrap();
    if coins > 0 {
        store.credit(name, coins).await.unwrap();
    }
    user
}

pub async fn open_match(store: &dyn Store) -> Match {
    let m = store.create_match(&three_way("football")).await.unwrap();
    store.transition(m.id, Action::Approve, None).await.unwrap();
    store.transition(m.id, Action::Open, None).await.unwrap()
}

pub async fn bet(
    store: &dyn Store,
    ids: &OrderIds,
    uid: u64,
    match_id: u64,
    option: &str,
    amount: u64,
) -> Result<Placed, BetError> {
    let bet =
        NewBet { order_id: ids.next(), uid, match_id, option: option.into(), amount, placed_at: now_ms() };
    store.place_bet(bet).await
}

/// Drives a fresh match into `state` along the shortest path.
pub async fn match_in(store: &dyn Store, state: MatchState) -> Match {
    use Action as A;
    let path: &[(Action, Option<&str>)] = match state {
        MatchState::NotStarted => &[],
        MatchState::BettingStopped => &[(A::Approve, None)],
        MatchState::BettingOpen => &[(A::Approve, None), (A::Open, None)],
        MatchState::Closed => &[(A::Approve, None), (A::Kickoff, None)],
        MatchState::Settling => &[(A::Approve, None), (A::SetResult, Some("home"))],
        MatchState::Cancelled => &[(A::Cancel, None)],
        MatchState::NoResult => &[(A::Approve, None), (A::SetNoResult, None)],
        MatchState::Settled | MatchState::Refunded | MatchState::PaidOut => {
            panic!("{state} is reached by paying out, not by a command")
        }
    };
    let mut m = store.create_match(&three_way("football")).await.unwrap();
    for (action, result) in path {
        m = store.transition(m.id, *action, *result).await.unwrap();
    }
    assert_eq!(m.state, state);
    m
}

pub async fn users_and_credit(store: &dyn Store) {
    let alice = store.create_user("alice", "h1", 100).await.unwrap();
    assert_eq!(store.balance(alice.uid).await.unwrap(), 100, "sign-up bonus");
    let again = store.create_user("alice", "h2", 0).await.unwrap_err();
    assert_eq!(again, BetError::NameTaken("alice".into()));
    assert_eq!(store.user("alice").await.unwrap().unwrap().password_hash, "h1");
    assert_eq!(store.user("nobody").await.unwrap(), None);
    assert_eq!(store.credit("alice", 50).await.unwrap(), 150);
    assert_eq!(store.credit("bob", 50).await.unwrap_err(), BetError::UserNotFound("bob".into()));
    assert_eq!(store.credit("alice", 0).await.unwrap_err().code(), 6003);
    assert_eq!(store.credit("alice", u64::MAX).await.unwrap_err().code(), 6003, "overflow refused");
    assert_eq!(store.create_user(" ", "h", 0).await.unwrap_err().code(), 6003);
    let bob = store.create_user("bob", "h", 0).await.unwrap();
    assert_ne!(alice.uid, bob.uid);
    let audit = assert_conserved(store).await;
    assert_eq!(audit.credited, 150);
}

pub async fn matches_and_transitions(store: &dyn Store) {
    let mut bad = three_way("football");
    bad.options[1].odds = 1.0;
    assert_eq!(store.create_match(&bad).await.unwrap_err().code(), 6003);
    bad.options[1].odds = 2.345;
    assert_eq!(store.create_match(&bad).await.unwrap_err().code(), 6003);
    bad.options[1] = bad.options[0].clone();
    assert_eq!(store.create_match(&bad).await.unwrap_err().code(), 6003, "duplicate option");

    let m = store.create_match(&three_way("football")).await.unwrap();
    assert_eq!((m.state, m.options[0].odds_centi), (MatchState::NotStarted, 250));
    assert_eq!(store.get_match(m.id).await.unwrap(), m);
    assert_eq!(store.get_match(999).await.unwrap_err(), BetError::MatchNotFound(999));
    let refused = store.transition(m.id, Action::Open, None).await.unwrap_err();
    assert_eq!(
        refused,
        BetError::IllegalTransition { id: m.id, from: MatchState::NotStarted, action: Action::Open }
    );
    assert_eq!(refused.code(), 6011);
    store.transition(m.id, Action::Approve, None).await.unwrap();
    // A result must name a real option; a refused result changes nothing.
    assert_eq!(store.transition(m.id, Action::SetResult, None).await.unwrap_err().code(), 6003);
    assert_eq!(store.transition(m.id, Action::SetResult, Some("nope")).await.unwrap_err().code(), 6013);
    assert_eq!(store.transition(m.id, Action::Open, Some("home")).await.unwrap_err().code(), 6003);
    assert_eq!(store.get_match(m.id).await.unwrap().state, MatchState::BettingStopped);
    let settled = store.transition(m.id, Action::SetResult, Some("draw")).await.unwrap();
    assert_eq!((settled.state, settled.result), (MatchState::Settling, Some(1)));
    assert_eq!(store.matches().await.unwrap().len(), 1);
    assert_conserved(store).await;
}

pub async fn bets_are_taken_only_while_betting_is_open(store: &dyn Store) {
    let ids = OrderIds::new(1, None).unwrap();
    let u = user(store, "punter", 1_000).await;
    for state in [
        MatchState::NotStarted,
        MatchState::BettingStopped,
        MatchState::BettingOpen,
        MatchState::Closed,
        MatchState::Settling,
        MatchState::Cancelled,
        MatchState::NoResult,
    ] {
        let m = match_in(store, state).await;
        let got = bet(store, &ids, u.uid, m.id, "home", 10).await;
        if state == MatchState::BettingOpen {
            assert_eq!(got.unwrap().order.status, OrderStatus::Open);
        } else {
            assert_eq!(got.unwrap_err(), BetError::BettingClosed { id: m.id, state }, "{state}");
        }
    }
    // The final states, reached by paying out.
    for (state, action) in [(MatchState::Settled, Action::SetResult), (MatchState::Refunded, Action::Cancel)]
    {
        let m = match_in(store, MatchState::BettingStopped).await;
        let option = (action == Action::SetResult).then_some("home");
        store.transition(m.id, action, option).await.unwrap();
        assert_eq!(store.pay_out(m.id, 10).await.unwrap().state, state);
        let got = bet(store, &ids, u.uid, m.id, "home", 10).await;
        assert_eq!(got.unwrap_err(), BetError::BettingClosed { id: m.id, state });
    }
    assert_eq!(store.balance(u.uid).await.unwrap(), 990, "only the open match took a stake");
    assert_conserved(store).await;
}

pub async fn bad_bets_change_nothing(store: &dyn Store) {
    let ids = OrderIds::new(1, None).unwrap();
    let u = user(store, "punter", 100).await;
    let m = open_match(store).await;
    let short = bet(store, &ids, u.uid, m.id, "home", 101).await.unwrap_err();
    assert_eq!(short, BetError::InsufficientBalance { balance: 100, amount: 101 });
    assert_eq!(short.code(), 6014);
    assert_eq!(bet(store, &ids, u.uid, m.id, "nope", 1).await.unwrap_err().code(), 6013);
    assert_eq!(bet(store, &ids, u.uid, m.id, "home", 0).await.unwrap_err().code(), 6003);
    assert_eq!(bet(store, &ids, u.uid, 4242, "home", 1).await.unwrap_err(), BetError::MatchNotFound(4242));
    let placed = bet(store, &ids, u.uid, m.id, "home", 100).await.unwrap();
    assert_eq!(placed.balance, 0);
    let again = OrderIds::new(1, None).unwrap(); // same worker, no resume: may collide
    let mut dup = NewBet {
        order_id: placed.order.id,
        uid: u.uid,
        match_id: m.id,
        option: "home".into(),
        amount: 1,
        placed_at: 0,
    };
    store.credit("punter", 1).await.unwrap();
    assert_eq!(store.place_bet(dup.clone()).await.unwrap_err().code(), 6003, "an order id is never reused");
    dup.order_id = again.next().max(placed.order.id + 1);
    assert_eq!(store.place_bet(dup).await.unwrap().balance, 0);
    assert_eq!(store.balance(u.uid).await.unwrap(), 0);
    assert_conserved(store).await;
}

/// 1,000 bets from one user, [`BETS_IN_FLIGHT`] at a time, never take the
/// balance below zero.
pub async fn concurrent_bets_never_overdraw(store: Arc<dyn Store>) {
    bets_of_one_user_over_nodes(&[store]).await;
}

/// Bets of one user placed at the same time in the overdraw scenario. Every
/// one of them races the others for the balance, which is what the
/// scenario tests. A fixed number, not "all 1,000 at once": how many of a
/// thousand spawned bets would really overlap depends on the machine's
/// speed, and a store that resolves a write conflict by retrying
/// (MongoDB's transactions, at most 60 attempts) would give up on a
/// starved machine where hundreds collide. In production one session's
/// commands run in order, so one user's bets overlap only across sessions
/// and nodes: far fewer than this.
pub const BETS_IN_FLIGHT: usize = 8;

/// 1,000 bets from one user, [`BETS_IN_FLIGHT`] at a time, spread in turn
/// over `nodes` (stores on one database, each with its own worker id),
/// never take the balance below zero, and every accepted stake is held.
/// Returns the stakes taken.
pub async fn bets_of_one_user_over_nodes(nodes: &[Arc<dyn Store>]) -> u64 {
    let first = &nodes[0];
    let ids: Vec<Arc<OrderIds>> =
        (0..nodes.len()).map(|i| Arc::new(OrderIds::new(3 + i as u16, None).unwrap())).collect();
    let u = user(&**first, "whale", 500).await;
    let m = open_match(&**first).await;
    let in_flight = Arc::new(tokio::sync::Semaphore::new(BETS_IN_FLIGHT));
    let mut tasks = Vec::new();
    for i in 0..1_000u64 {
        let node = i as usize % nodes.len();
        let (store, ids) = (Arc::clone(&nodes[node]), Arc::clone(&ids[node]));
        let in_flight = Arc::clone(&in_flight);
        tasks.push(tokio::spawn(async move {
            let _slot = in_flight.acquire_owned().await.expect("never closed");
            bet(&*store, &ids, u.uid, m.id, "home", 1 + i % 3).await
        }));
    }
    let (mut taken, mut refused) = (0u64, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(placed) => taken += placed.order.amount,
            Err(BetError::InsufficientBalance { .. }) => refused += 1,
            Err(other) => panic!("unexpected {other}"),
        }
    }
    let balance = nodes[nodes.len() - 1].balance(u.uid).await.unwrap();
    assert_eq!(balance + taken, 500, "every accepted stake left the balance, nothing more");
    assert!(refused > 0 && balance < 3, "the balance ran out: {balance} left, {refused} refused");
    let audit = assert_conserved(&**first).await;
    assert_eq!(audit.open_stakes, u128::from(taken));
    taken
}

/// Settles with small batches; running it again pays nobody twice.
pub async fn settlement_pays_each_winner_exactly_once(store: &dyn Store) {
    let ids = OrderIds::new(1, None).unwrap();
    let m = open_match(store).await;
    let mut expected: HashMap<u64, u64> = HashMap::new();
    for (i, (option, stake)) in
        [("home", 100), ("draw", 40), ("home", 7), ("away", 30), ("home", 1)].iter().enumerate()
    {
        let u = user(store, &format!("u{i}"), 200).await;
        bet(store, &ids, u.uid, m.id, option, *stake).await.unwrap();
        let paid = if *option == "home" { stake * 250 / 100 } else { 0 };
        expected.insert(u.uid, 200 - stake + paid);
    }
    let m = store.transition(m.id, Action::SetResult, Some("home")).await.unwrap();
    assert_eq!(m.state, MatchState::Settling);
    assert_conserved(store).await;
    let mut payouts = Vec::new();
    loop {
        let batch = store.pay_out(m.id, 2).await.unwrap();
        assert!(batch.payouts.len() <= 2);
        payouts.extend(batch.payouts.clone());
        assert_conserved(store).await;
        if batch.done() {
            assert_eq!(batch.state, MatchState::Settled);
            break;
        }
    }
    assert_eq!(payouts.len(), 5);
    let winners: u64 = payouts.iter().map(|p| p.payout).sum();
    assert_eq!(winners, 250 + 17 + 2, "2.5 × 100, 2.5 × 7 (rounded down), 2.5 × 1 (rounded down)");
    for p in &payouts {
        assert_eq!(p.status, if p.payout > 0 { OrderStatus::PaidOut } else { OrderStatus::Settled });
    }
    let again = store.pay_out(m.id, 100).await.unwrap();
    assert!(again.payouts.is_empty() && again.done());
    for (uid, want) in expected {
        assert_eq!(store.balance(uid).await.unwrap(), want, "user {uid}");
    }
    assert_eq!(store.get_match(m.id).await.unwrap().state, MatchState::Settled);
    let audit = assert_conserved(store).await;
    assert_eq!(audit.open_stakes, 0);
    assert_eq!(audit.house, (100 + 40 + 7 + 30 + 1) - 269);
}

/// Cancelled and no-result matches refund every stake, once.
pub async fn refunds_return_every_stake_exactly_once(store: &dyn Store) {
    let ids = OrderIds::new(1, None).unwrap();
    for (i, (action, final_state)) in
        [(Action::Cancel, MatchState::Refunded), (Action::SetNoResult, MatchState::Refunded)]
            .into_iter()
            .enumerate()
    {
        let m = open_match(store).await;
        let a = user(store, &format!("a{i}"), 50).await;
        let b = user(store, &format!("b{i}"), 50).await;
        bet(store, &ids, a.uid, m.id, "home", 20).await.unwrap();
        bet(store, &ids, a.uid, m.id, "away", 5).await.unwrap();
        bet(store, &ids, b.uid, m.id, "draw", 50).await.unwrap();
        store.transition(m.id, action, None).await.unwrap();
        let first = store.pay_out(m.id, 2).await.unwrap();
        assert_eq!(first.payouts.len(), 2);
        assert!(!first.done());
        let second = store.pay_out(m.id, 2).await.unwrap();
        assert_eq!((second.payouts.len(), second.state), (1, final_state));
        assert!(store.pay_out(m.id, 2).await.unwrap().payouts.is_empty());
        for p in first.payouts.iter().chain(&second.payouts) {
            assert_eq!((p.payout, p.status), (p.stake, OrderStatus::Refunded));
        }
        assert_eq!(store.balance(a.uid).await.unwrap(), 50);
        assert_eq!(store.balance(b.uid).await.unwrap(), 50);
        assert_conserved(store).await;
    }
}

/// Two payout runs racing over one match still pay each order once.
pub async fn racing_payouts_pay_once(store: Arc<dyn Store>) {
    let ids = OrderIds::new(1, None).unwrap();
    let m = open_match(&*store).await;
    let u = user(&*store, "racer", 1_000).await;
    for _ in 0..50 {
        bet(&*store, &ids, u.uid, m.id, "away", 10).await.unwrap();
    }
    store.transition(m.id, Action::SetResult, Some("away")).await.unwrap();
    let run = |store: Arc<dyn Store>| async move {
        let mut paid = 0;
        loop {
            let batch = store.pay_out(m.id, 7).await.unwrap();
            paid += batch.payouts.len();
            if batch.done() {
                return paid;
            }
        }
    };
    let (a, b) = tokio::join!(tokio::spawn(run(Arc::clone(&store))), tokio::spawn(run(Arc::clone(&store))));
    assert_eq!(a.unwrap() + b.unwrap(), 50);
    assert_eq!(store.balance(u.uid).await.unwrap(), 500 + 50 * 28);
    assert_conserved(&*store).await;
}

pub async fn my_bets_and_bettors(store: &dyn Store) {
    let ids = OrderIds::new(9, None).unwrap();
    let m = open_match(store).await;
    let other = open_match(store).await;
    let a = user(store, "a", 100).await;
    let b = user(store, "b", 100).await;
    let mut placed = Vec::new();
    for amount in 1..=5 {
        placed.push(bet(store, &ids, a.uid, m.id, "home", amount).await.unwrap().order.id);
    }
    let last = bet(store, &ids, b.uid, other.id, "away", 1).await.unwrap().order.id;
    let mine = store.orders_of(a.uid, 3).await.unwrap();
    let newest: Vec<u64> = placed.iter().rev().take(3).copied().collect();
    assert_eq!(mine.iter().map(|o| o.id).collect::<Vec<_>>(), newest, "newest first");
    assert_eq!(mine[0].amount, 5);
    assert_eq!(store.bettors(m.id).await.unwrap(), vec![a.uid], "one entry per bettor");
    assert_eq!(store.bettors(other.id).await.unwrap(), vec![b.uid]);
    assert_eq!(store.last_order_id().await.unwrap(), Some(last), "ids only grow");
    assert_conserved(store).await;
}
