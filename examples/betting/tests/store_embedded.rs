//! The store scenarios against the embedded (redb) store, plus what only a
//! file-backed store can show: durability and crash recovery.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use betting::{Action, EmbeddedStore, MatchState, OrderIds, OrderStatus, Store};
use common::store_suite::{self as suite, bet, open_match, user};
use common::{TempStore, assert_conserved, reopen};

#[tokio::test]
async fn bets_stop_at_the_start_time() {
    common::store_time::bets_stop_at_the_start_time(&TempStore::new().store).await;
}

#[tokio::test]
async fn feed_imports_are_idempotent() {
    common::store_time::feed_imports_are_idempotent(&TempStore::new().store).await;
}

#[tokio::test]
async fn users_and_credit() {
    suite::users_and_credit(&TempStore::new().store).await;
}

#[tokio::test]
async fn matches_and_transitions() {
    suite::matches_and_transitions(&TempStore::new().store).await;
}

#[tokio::test]
async fn bets_are_taken_only_while_betting_is_open() {
    suite::bets_are_taken_only_while_betting_is_open(&TempStore::new().store).await;
}

#[tokio::test]
async fn bad_bets_change_nothing() {
    suite::bad_bets_change_nothing(&TempStore::new().store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_bets_never_overdraw() {
    let t = TempStore::new();
    let _dir = t.dir;
    suite::concurrent_bets_never_overdraw(Arc::new(t.store)).await;
}

#[tokio::test]
async fn settlement_pays_each_winner_exactly_once() {
    suite::settlement_pays_each_winner_exactly_once(&TempStore::new().store).await;
}

#[tokio::test]
async fn refunds_return_every_stake_exactly_once() {
    suite::refunds_return_every_stake_exactly_once(&TempStore::new().store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_payouts_pay_once() {
    let t = TempStore::new();
    let _dir = t.dir;
    suite::racing_payouts_pay_once(Arc::new(t.store)).await;
}

#[tokio::test]
async fn my_bets_and_bettors() {
    suite::my_bets_and_bettors(&TempStore::new().store).await;
}

#[tokio::test]
async fn acknowledged_writes_survive_a_restart() {
    let t = TempStore::new();
    let ids = OrderIds::new(1, None).unwrap();
    let u = user(&t.store, "keeper", 100).await;
    let m = open_match(&t.store).await;
    let placed = bet(&t.store, &ids, u.uid, m.id, "draw", 30).await.unwrap();
    t.store.close().await;
    assert_eq!(t.store.credit("keeper", 1).await.unwrap_err().code(), 6091, "writes are refused once closed");
    assert_eq!(t.store.balance(u.uid).await.unwrap_err().code(), 6091, "reads too");
    // Closing released the file although this handle is still alive.
    let store = EmbeddedStore::open(t.dir.path().join("betting.redb")).unwrap();
    assert_eq!(store.balance(u.uid).await.unwrap(), 70);
    assert_eq!(store.get_match(m.id).await.unwrap().state, MatchState::BettingOpen);
    let orders = store.orders_of(u.uid, 10).await.unwrap();
    assert_eq!(orders, vec![placed.order.clone()]);
    assert_eq!(store.last_order_id().await.unwrap(), Some(placed.order.id));
    let resumed = OrderIds::new(1, store.last_order_id().await.unwrap()).unwrap();
    assert!(resumed.next() > placed.order.id);
    assert_conserved(&store).await;
}

/// Settlement stops half-way (the process dies after some batches have
/// committed); after a restart it finishes: nobody is paid twice, nobody is
/// missed.
#[tokio::test]
async fn a_settlement_interrupted_by_a_crash_finishes_after_restart() {
    let t = TempStore::new();
    let path = t.path();
    let ids = OrderIds::new(1, None).unwrap();
    let m = open_match(&t.store).await;
    let mut expected = HashMap::new();
    for i in 0..40u64 {
        let u = user(&t.store, &format!("p{i}"), 100).await;
        let option = ["home", "draw", "away"][(i % 3) as usize];
        let stake = 10 + i;
        bet(&t.store, &ids, u.uid, m.id, option, stake).await.unwrap();
        let paid = if option == "away" { stake * 280 / 100 } else { 0 };
        expected.insert(u.uid, 100 - stake + paid);
    }
    t.store.transition(m.id, Action::SetResult, Some("away")).await.unwrap();
    let first = t.store.pay_out(m.id, 15).await.unwrap();
    assert_eq!(first.payouts.len(), 15);
    assert_conserved(&t.store).await;
    // The crash: no close, the handle just goes away mid-settlement.
    drop(t.store);

    let store = reopen(&path).await;
    assert_eq!(store.get_match(m.id).await.unwrap().state, MatchState::Settling, "still owed");
    assert_conserved(&store).await;
    let mut rest = 0;
    loop {
        let batch = store.pay_out(m.id, 15).await.unwrap();
        for p in &batch.payouts {
            assert!(
                !first.payouts.iter().any(|f| f.order_id == p.order_id),
                "order {} paid twice",
                p.order_id
            );
        }
        rest += batch.payouts.len();
        if batch.done() {
            break;
        }
    }
    assert_eq!(first.payouts.len() + rest, 40, "nobody missed");
    for (uid, want) in expected {
        assert_eq!(store.balance(uid).await.unwrap(), want, "user {uid}");
        for order in store.orders_of(uid, 10).await.unwrap() {
            assert_ne!(order.status, OrderStatus::Open);
        }
    }
    assert_eq!(store.get_match(m.id).await.unwrap().state, MatchState::Settled);
    assert_conserved(&store).await;
}

#[tokio::test]
async fn a_second_open_of_the_same_file_is_refused_with_a_storage_error() {
    let t = TempStore::new();
    let err = EmbeddedStore::open(t.path()).unwrap_err();
    assert_eq!(err.code(), 6090, "{err}");
}
