//! The store scenarios against the MongoDB store on a real mongod, plus
//! what only a shared store can show: several betting nodes (several
//! `MongoStore`s on one database) betting, settling and resuming at once.
//!
//! Needs `mongod` (`.ci/provision-mongod`); skipped without it, except under
//! `CI=true`, where its absence fails the tests. The tests share one mongod,
//! each on its own database.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use betting::{
    Action, Betting, MatchState, MongoStore, OrderIds, OrderStatus, PushSink, Settings, Store, StoreKind,
};
use common::mongo::{fresh_database, fresh_store, shared_mongo};
use common::store_suite::{self as suite, bet, open_match, user};
use common::{assert_conserved, three_way};
use espoir::{Shutdown, Status};
use espoir_testkit::mongodb::bson::{Document, doc};

/// Runs a suite scenario that takes `&dyn Store` on a fresh database.
macro_rules! scenario {
    ($name:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let Some(mongo) = shared_mongo().await else { return };
            let store = fresh_store(&mongo, stringify!($name)).await;
            suite::$name(&store).await;
        }
    };
}

scenario!(users_and_credit);

/// As `scenario!`, for the time and feed scenarios.
macro_rules! time_scenario {
    ($name:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let Some(mongo) = shared_mongo().await else { return };
            let store = fresh_store(&mongo, stringify!($name)).await;
            common::store_time::$name(&store).await;
        }
    };
}

time_scenario!(bets_stop_at_the_start_time);
time_scenario!(feed_imports_are_idempotent);

/// Two nodes importing one feed at once make one match per feed id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_importing_one_feed_make_one_match_each() {
    let Some(mongo) = shared_mongo().await else { return };
    let (a, b, _) = two_nodes(&mongo, "feed_race").await;
    let specs: Vec<_> = (0..20).map(|i| (format!("id-{i}"), three_way("football"))).collect();
    let run = |store: Arc<MongoStore>, specs: Vec<(String, betting::NewMatch)>| async move {
        for (id, spec) in &specs {
            store.import_match(id, spec).await.unwrap();
        }
    };
    tokio::join!(run(a.clone(), specs.clone()), run(b.clone(), specs));
    assert_eq!(a.matches().await.unwrap().len(), 20);
}
scenario!(matches_and_transitions);
scenario!(bets_are_taken_only_while_betting_is_open);
scenario!(bad_bets_change_nothing);
scenario!(settlement_pays_each_winner_exactly_once);
scenario!(refunds_return_every_stake_exactly_once);
scenario!(my_bets_and_bettors);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_bets_never_overdraw() {
    let Some(mongo) = shared_mongo().await else { return };
    suite::concurrent_bets_never_overdraw(Arc::new(fresh_store(&mongo, "concurrent").await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_payouts_pay_once() {
    let Some(mongo) = shared_mongo().await else { return };
    suite::racing_payouts_pay_once(Arc::new(fresh_store(&mongo, "racing").await)).await;
}

/// Two stores on one database: two betting nodes.
async fn two_nodes(mongo: &espoir_testkit::Mongo, test: &str) -> (Arc<MongoStore>, Arc<MongoStore>, String) {
    let database = fresh_database(test);
    let a = MongoStore::connect(mongo.uri(), database.clone()).await.unwrap();
    let b = MongoStore::connect(mongo.uri(), database.clone()).await.unwrap();
    (Arc::new(a), Arc::new(b), database)
}

/// The stake totals the bets keep on each match equal the orders' stakes.
async fn assert_stake_totals(mongo: &espoir_testkit::Mongo, database: &str) {
    let db = mongo.database(database).await;
    let mut by_match: HashMap<i64, i64> = HashMap::new();
    let mut orders = db.collection::<Document>("orders").find(doc! {}).await.unwrap();
    while orders.advance().await.unwrap() {
        let order = orders.deserialize_current().unwrap();
        *by_match.entry(order.get_i64("match_id").unwrap()).or_default() += order.get_i64("amount").unwrap();
    }
    let mut matches = db.collection::<Document>("matches").find(doc! {}).await.unwrap();
    while matches.advance().await.unwrap() {
        let m = matches.deserialize_current().unwrap();
        let id = m.get_i64("_id").unwrap();
        let staked = m.get_i64("staked").unwrap();
        assert_eq!(staked, by_match.get(&id).copied().unwrap_or(0), "stake total of match {id}");
        let per_option: i64 = m
            .get_array("options")
            .unwrap()
            .iter()
            .map(|o| o.as_document().unwrap().get_i64("staked").unwrap())
            .sum();
        assert_eq!(per_option, staked, "option totals of match {id}");
    }
}

/// 1,000 bets from one user, spread over two nodes and racing each other
/// (`store_suite::BETS_IN_FLIGHT` at a time), never take the balance below
/// zero; every accepted stake is in the orders and the
/// match's totals.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bets_from_two_nodes_never_overdraw() {
    let Some(mongo) = shared_mongo().await else { return };
    let (a, b, database) = two_nodes(&mongo, "overdraw").await;
    suite::bets_of_one_user_over_nodes(&[a.clone(), b.clone()]).await;
    eprintln!("two nodes, 1000 bets: {} + {} transaction retries", a.retries(), b.retries());
    assert_stake_totals(&mongo, &database).await;
}

/// An audit taken while two nodes place bets sees each bet whole: every
/// one balances. Counted collection by collection outside one snapshot, a
/// bet committed between the reads unbalanced it (the fault suite,
/// nodes/tests/faults.rs, found that on a live cluster).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn audits_taken_while_bets_commit_always_balance() {
    let Some(mongo) = shared_mongo().await else { return };
    let (a, b, _) = two_nodes(&mongo, "live_audit").await;
    let m = open_match(&*a).await;
    let mut users = Vec::new();
    for i in 0..6 {
        users.push(user(&*a, &format!("live{i}"), 500).await.uid);
    }
    let betting = tokio::spawn({
        let (a, b) = (a.clone(), b.clone());
        async move {
            let ids = Arc::new([OrderIds::new(1, None).unwrap(), OrderIds::new(2, None).unwrap()]);
            for round in 0..40u64 {
                let mut placing = tokio::task::JoinSet::new();
                for (i, uid) in users.iter().copied().enumerate() {
                    let store: Arc<MongoStore> = if i % 2 == 0 { a.clone() } else { b.clone() };
                    let ids = ids.clone();
                    placing.spawn(async move {
                        bet(&*store, &ids[i % 2], uid, m.id, "home", 1 + round % 3).await
                    });
                }
                for placed in placing.join_all().await {
                    placed.unwrap();
                }
            }
        }
    });
    let mut audits = 0;
    while !betting.is_finished() {
        let audit = b.audit().await.unwrap();
        assert!(audit.balanced(), "an audit during betting: {audit:?}");
        audits += 1;
    }
    betting.await.unwrap();
    assert!(audits > 0);
    eprintln!("{audits} audits while 240 bets committed, each balanced");
    assert_conserved(&*a).await;
}

/// Bets on one match from several users, placed through both nodes.
async fn bets_on_one_match(a: &dyn Store, b: &dyn Store, users: u64) -> (u64, HashMap<u64, u64>) {
    let ids = [OrderIds::new(1, None).unwrap(), OrderIds::new(2, None).unwrap()];
    let m = open_match(a).await;
    let mut expected = HashMap::new();
    for i in 0..users {
        let u = user(a, &format!("p{i}"), 100).await;
        let mut balance = 100;
        for j in 0..3u64 {
            let option = ["home", "draw", "away"][((i + j) % 3) as usize];
            let stake = 1 + (i + j) % 7;
            let store = if j % 2 == 0 { a } else { b };
            bet(store, &ids[(j % 2) as usize], u.uid, m.id, option, stake).await.unwrap();
            balance += if option == "away" { stake * 280 / 100 } else { 0 };
            balance -= stake;
        }
        expected.insert(u.uid, balance);
    }
    (m.id, expected)
}

/// Pays out `match_id` to completion; returns the orders this run paid.
async fn pay_all(store: Arc<dyn Store>, match_id: u64, batch: usize) -> Vec<u64> {
    let mut paid = Vec::new();
    loop {
        let batch = store.pay_out(match_id, batch).await.unwrap();
        paid.extend(batch.payouts.iter().map(|p| p.order_id));
        if batch.done() {
            return paid;
        }
    }
}

/// Two nodes settle the same match at once: each order is paid by exactly
/// one of them, nobody is missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn settlement_from_two_nodes_pays_each_order_once() {
    let Some(mongo) = shared_mongo().await else { return };
    let (a, b, _) = two_nodes(&mongo, "settle2").await;
    let (match_id, expected) = bets_on_one_match(&*a, &*b, 40).await;
    b.transition(match_id, Action::SetResult, Some("away")).await.unwrap();
    let (paid_a, paid_b) = tokio::join!(
        tokio::spawn(pay_all(a.clone(), match_id, 9)),
        tokio::spawn(pay_all(b.clone(), match_id, 9))
    );
    let (paid_a, paid_b) = (paid_a.unwrap(), paid_b.unwrap());
    let all: HashSet<u64> = paid_a.iter().chain(&paid_b).copied().collect();
    assert_eq!(all.len(), paid_a.len() + paid_b.len(), "no order paid by both nodes");
    assert_eq!(all.len(), 120, "nobody missed");
    for (uid, want) in expected {
        assert_eq!(a.balance(uid).await.unwrap(), want, "user {uid}");
    }
    assert_eq!(a.get_match(match_id).await.unwrap().state, MatchState::Settled);
    eprintln!("two settling nodes: {} + {} transaction retries", a.retries(), b.retries());
    assert_conserved(&*a).await;
}

/// A node settles one batch, starts a second that never commits (it dies
/// mid-transaction), and is gone; another node resumes: nobody is paid
/// twice, nobody is missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settlement_interrupted_by_a_crash_is_finished_by_another_node() {
    let Some(mongo) = shared_mongo().await else { return };
    let (a, b, database) = two_nodes(&mongo, "crash").await;
    let (match_id, expected) = bets_on_one_match(&*a, &*b, 20).await;
    a.transition(match_id, Action::SetResult, Some("away")).await.unwrap();
    let first = a.pay_out(match_id, 15).await.unwrap();
    assert_eq!(first.payouts.len(), 15);
    // The crash, mid-batch: what a payout transaction had written — orders
    // closed, a bettor credited — is never committed.
    let client = mongo.client().await;
    let db = client.database(&database);
    let mut session = client.start_session().await.unwrap();
    session.start_transaction().await.unwrap();
    let open = doc! { "match_id": match_id as i64, "status": 0 };
    let closed = db
        .collection::<Document>("orders")
        .update_many(open, doc! { "$set": { "status": 9, "payout": 1_000_i64 } })
        .session(&mut session)
        .await
        .unwrap();
    assert_eq!(closed.modified_count, 45);
    db.collection::<Document>("users")
        .update_many(doc! {}, doc! { "$inc": { "balance": 1_000_i64 } })
        .session(&mut session)
        .await
        .unwrap();
    drop(session);
    a.close().await;
    drop(a);
    assert_eq!(b.pay_out(match_id, 1).await.unwrap().payouts.len(), 1, "the uncommitted batch left nothing");

    let rest = pay_all(b.clone(), match_id, 15).await;
    for order in &rest {
        assert!(!first.payouts.iter().any(|p| p.order_id == *order), "order {order} paid twice");
    }
    assert_eq!(first.payouts.len() + 1 + rest.len(), 60, "nobody missed");
    for (uid, want) in expected {
        assert_eq!(b.balance(uid).await.unwrap(), want, "user {uid}");
        for order in b.orders_of(uid, 10).await.unwrap() {
            assert_ne!(order.status, OrderStatus::Open);
        }
    }
    assert_conserved(&*b).await;
}

struct NoPush;

impl PushSink for NoPush {
    fn push_user(&self, _: u64, _: i32, _: &serde_json::Value) -> Result<(), Status> {
        Ok(())
    }
}

fn settings(worker_id: u16, uri: String, database: &str) -> Settings {
    Settings {
        store: StoreKind::Mongo,
        path: Default::default(),
        mongo_uri: Some(uri),
        database: database.into(),
        worker_id,
        signup_bonus: 0,
        payout_batch: 4,
        recover_every: std::time::Duration::from_secs(2),
        feed: None,
    }
}

/// Two betting services start on a database left half paid out and with
/// a kickoff overdue: both resume from MongoDB, the payout finishes once,
/// betting closes once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_services_resume_payouts_and_kickoffs_from_mongo() {
    let Some(mongo) = shared_mongo().await else { return };
    let (a, b, database) = two_nodes(&mongo, "resume").await;
    let ids = OrderIds::new(1, None).unwrap();
    let settling = open_match(&*a).await;
    let mut overdue = three_way("football");
    overdue.start_time = betting::now_ms() / 1000 - 10;
    let overdue = a.create_match(&overdue).await.unwrap();
    a.transition(overdue.id, Action::Approve, None).await.unwrap();
    for i in 0..10 {
        let u = user(&*a, &format!("r{i}"), 50).await;
        bet(&*a, &ids, u.uid, settling.id, "draw", 10).await.unwrap();
    }
    a.transition(settling.id, Action::SetResult, Some("draw")).await.unwrap();
    assert_eq!(a.pay_out(settling.id, 4).await.unwrap().payouts.len(), 4);

    let shutdown = Shutdown::new();
    for (worker, store) in [(1, a.clone()), (2, b.clone())] {
        let service = Betting::new(store, settings(worker, mongo.uri(), &database));
        service.start(Arc::new(NoPush), &shutdown);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let paid = a.get_match(settling.id).await.unwrap().state == MatchState::Settled;
        let closed = a.get_match(overdue.id).await.unwrap().state == MatchState::Closed;
        if paid && closed {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "resume timed out (paid {paid}, closed {closed})");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let audit = assert_conserved(&*a).await;
    assert_eq!(audit.balances, 10 * (50 - 10 + 32), "everyone paid 3.2 × 10, once");
    shutdown.finish(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_mongod_is_a_storage_error_without_credentials() {
    let store = MongoStore::new("mongodb://bet:hunter2@127.0.0.1:1/?serverSelectionTimeoutMS=200", "betting");
    let err = store.balance(1).await.unwrap_err();
    assert_eq!(err.code(), 6090, "{err}");
    let shown = err.to_string();
    assert!(shown.contains("mongodb://127.0.0.1:1/betting") && !shown.contains("hunter2"), "{shown}");
}

/// A node killed between its transaction's writes and its commit leaves the
/// transaction open on the server, holding the user's balance and the
/// match's totals for `transactionLifetimeLimitSeconds` (60 s). The other
/// node ends it instead of conflicting with it for a minute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_left_open_by_a_dead_node_does_not_block_betting() {
    use espoir_testkit::mongodb::{Client, options::ClientOptions};
    let Some(mongo) = shared_mongo().await else { return };
    let (survivor, _, database) = two_nodes(&mongo, "orphan").await;
    let ids = OrderIds::new(1, None).unwrap();
    let u = user(&*survivor, "punter", 100).await;
    let m = open_match(&*survivor).await;

    // The dead node: a betting store's client whose transaction has written
    // the user and the match, and which never commits nor aborts.
    let mut options = ClientOptions::parse(mongo.uri()).await.unwrap();
    options.app_name = Some(format!("espoir-betting/{database}"));
    let dead = Client::with_options(options).unwrap();
    let db = dead.database(&database);
    let mut session = dead.start_session().await.unwrap();
    session.start_transaction().await.unwrap();
    for (collection, id) in [("users", u.uid), ("matches", m.id)] {
        db.collection::<Document>(collection)
            .update_one(doc! { "_id": id as i64 }, doc! { "$inc": { "touched": 1 } })
            .session(&mut session)
            .await
            .unwrap();
    }
    // Dropping the session would abort the transaction; a killed process
    // never gets to.
    std::mem::forget(session);
    drop(dead);

    let placed =
        bet(&*survivor, &ids, u.uid, m.id, "home", 10).await.expect("the bet waits out the dead node");
    assert_eq!(placed.balance, 90);
    assert!(survivor.retries() > 0, "the bet did meet the dead node's transaction");
    let user = mongo.database(&database).await.collection::<Document>("users");
    let doc = user.find_one(doc! { "_id": u.uid as i64 }).await.unwrap().unwrap();
    assert!(!doc.contains_key("touched"), "the dead node's writes were aborted, never committed");
    assert_conserved(&*survivor).await;
}
