//! The betting service without a network: logins, the commands, pushes to
//! exactly the bettors, kickoff at the start time and resuming after a
//! restart. Pushes are recorded by a test sink; handlers run on detached
//! contexts.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use betting::{
    Action, BetError, Betting, ListStatus, MatchState, NewMatch, PUSH_SETTLEMENT, PUSH_STATE, PushSink,
    Settings, Store, StoreKind,
};
use common::store_suite::{bet, user};
use common::{TempStore, assert_conserved, reopen, three_way};
use espoir::{AppState, Context, EventTable, NodeId, NodeType, SessionId, Shutdown, Status};
use espoir_testkit::wait_until;
use serde_json::{Value, json};

#[derive(Default)]
struct Recorder {
    pushes: Mutex<Vec<(u64, i32, Value)>>,
}

impl PushSink for Recorder {
    fn push_user(&self, uid: u64, command: i32, body: &Value) -> Result<(), Status> {
        self.pushes.lock().unwrap().push((uid, command, body.clone()));
        Ok(())
    }
}

impl Recorder {
    fn take(&self, command: i32) -> Vec<(u64, Value)> {
        let mut all = self.pushes.lock().unwrap();
        let (hit, rest): (Vec<_>, Vec<_>) = all.drain(..).partition(|(_, c, _)| *c == command);
        *all = rest;
        hit.into_iter().map(|(s, _, b)| (s, b)).collect()
    }
}

fn settings(bonus: u64) -> Settings {
    Settings {
        store: StoreKind::Embedded,
        path: "unused".into(),
        mongo_uri: None,
        database: "betting".into(),
        worker_id: 7,
        signup_bonus: bonus,
        payout_batch: 3,
        recover_every: std::time::Duration::from_secs(2),
        feed: None,
    }
}

struct Harness {
    betting: Betting,
    pushes: Arc<Recorder>,
    shutdown: Shutdown,
    store: Arc<dyn Store>,
    _dir: tempfile::TempDir,
}

fn harness_on(store: Arc<dyn Store>, dir: tempfile::TempDir, bonus: u64) -> Harness {
    let betting = Betting::new(Arc::clone(&store), settings(bonus));
    let pushes = Arc::new(Recorder::default());
    let shutdown = Shutdown::new();
    betting.start(Arc::clone(&pushes) as Arc<dyn PushSink>, &shutdown);
    Harness { betting, pushes, shutdown, store, _dir: dir }
}

fn harness(bonus: u64) -> Harness {
    let t = TempStore::new();
    harness_on(Arc::new(t.store), t.dir, bonus)
}

async fn open_match(betting: &Betting, spec: &NewMatch) -> u64 {
    let id = betting.create_match(spec).await.unwrap().id;
    betting.apply(id, Action::Approve, None).await.unwrap();
    betting.apply(id, Action::Open, None).await.unwrap();
    id
}

/// Runs command `command` through the betting handlers' table, as the node
/// would, on a session bound to `uid` (or not logged in).
async fn handle(betting: &Betting, uid: Option<&str>, command: i32, body: Value) -> Result<Value, Status> {
    let mut state = AppState::new();
    state.insert(betting.clone());
    let node = NodeId::of("127.0.0.1", 30004);
    let session = SessionId::new(NodeId::of("127.0.0.1", 30002), 1);
    let mut ctx = Context::detached(node, NodeType::Service, state, Some(session), command);
    if let Some(uid) = uid {
        ctx = ctx.bound_to(uid);
    }
    let table: EventTable = betting::handlers::events();
    let handler = table.get(command).expect("a betting command");
    let reply = handler.call(ctx, serde_json::to_vec(&body).unwrap().into()).await?;
    Ok(serde_json::from_slice(&reply.unwrap_or_default()).unwrap_or(Value::Null))
}

#[tokio::test]
async fn every_command_but_login_needs_a_login() {
    let h = harness(0);
    let id = open_match(&h.betting, &three_way("football")).await;
    let bet = json!({ "match_id": id, "option": "home", "amount": 1 });
    for (command, body) in [
        (100010, json!({})),
        (100011, json!({ "match_id": id })),
        (100020, bet.clone()),
        (100021, json!({})),
        (100030, json!({})),
    ] {
        let refused = handle(&h.betting, None, command, body.clone()).await.unwrap_err();
        assert_eq!(refused.code().as_u32(), 6001, "command {command}: {refused}");
        // A session bound to something that is not a uid is not logged in either.
        let odd = handle(&h.betting, Some("ann"), command, body).await.unwrap_err();
        assert_eq!(odd.code().as_u32(), 6001);
    }
    // The login's handler binds the session; on the detached context the
    // bind has no proxy to reach, which the client hears as unavailable.
    let login = json!({ "name": "ann", "password": "pw" });
    assert_eq!(handle(&h.betting, None, 100002, login).await.unwrap_err().code().as_u32(), 503);
    let ann =
        h.store.user("ann").await.unwrap().expect("the user was created before the bind").uid.to_string();
    // A session bound to ann's uid is served by any node, with her account.
    let balance = handle(&h.betting, Some(&ann), 100030, json!({})).await.unwrap();
    assert_eq!(balance, json!({ "balance": 0 }));
    let refused = handle(&h.betting, Some(&ann), 100020, bet).await.unwrap_err();
    assert_eq!(refused.code().as_u32(), BetError::InsufficientBalance { balance: 0, amount: 1 }.code());
}

#[tokio::test]
async fn the_first_login_creates_the_user_later_ones_check_the_password() {
    let h = harness(1000);
    let first = h.betting.login("bo", "open sesame").await.unwrap();
    assert!(first.created);
    assert_eq!(first.balance, 1000, "sign-up bonus");
    let wrong = h.betting.login("bo", "open sesame!").await.unwrap_err();
    assert_eq!(wrong.code(), 6002);
    let again = h.betting.login("bo", "open sesame").await.unwrap();
    assert_eq!((again.uid, again.created, again.balance), (first.uid, false, 1000));
    assert_eq!(h.betting.login("", "x").await.unwrap_err().code(), 6003);
    assert_eq!(h.betting.login("cy", "").await.unwrap_err().code(), 6003);
    assert_conserved(&*h.store).await;
}

#[tokio::test]
async fn lists_filter_by_type_and_status_and_hide_unapproved_matches() {
    let h = harness(100);
    let dee = h.betting.login("dee", "pw").await.unwrap().uid;
    let football = open_match(&h.betting, &three_way("football")).await;
    let lol = open_match(&h.betting, &three_way("lol")).await;
    let hidden = h.betting.create_match(&three_way("football")).await.unwrap().id;
    h.betting.apply(lol, Action::Cancel, None).await.unwrap();
    let ids = |v: Vec<betting::MatchView>| v.into_iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(ids(h.betting.list(None, ListStatus::All).await.unwrap()), [football, lol]);
    assert_eq!(ids(h.betting.list(None, ListStatus::Doing).await.unwrap()), [football]);
    assert_eq!(ids(h.betting.list(None, ListStatus::Finished).await.unwrap()), [lol]);
    assert_eq!(ids(h.betting.list(Some("lol"), ListStatus::All).await.unwrap()), [lol]);
    assert_eq!(h.betting.detail(hidden).await.unwrap_err(), BetError::MatchNotFound(hidden));
    let detail = h.betting.detail(football).await.unwrap();
    assert_eq!((detail.state, detail.options[1].odds), (MatchState::BettingOpen, 3.2));

    let placed = h.betting.place_bet(dee, football, "draw", 40).await.unwrap();
    assert_eq!(placed.balance, 60);
    let mine = h.betting.my_bets(dee).await.unwrap();
    assert_eq!(
        (mine[0].order_id.clone(), mine[0].option.as_str(), mine[0].status),
        (placed.order_id, "draw", 0)
    );
}

#[tokio::test]
async fn pushes_reach_exactly_the_bettors_of_the_match() {
    let h = harness(100);
    let uid = async |name: &str| h.betting.login(name, "pw").await.unwrap().uid;
    let (a, b, c) = (uid("a").await, uid("b").await, uid("c").await);
    let m1 = open_match(&h.betting, &three_way("football")).await;
    let m2 = open_match(&h.betting, &three_way("football")).await;
    h.betting.place_bet(a, m1, "home", 10).await.unwrap();
    h.betting.place_bet(c, m1, "away", 20).await.unwrap();
    h.betting.place_bet(c, m1, "home", 4).await.unwrap();
    h.betting.place_bet(b, m2, "home", 10).await.unwrap();
    h.pushes.take(PUSH_STATE);

    h.betting.apply(m1, Action::Stop, None).await.unwrap();
    let mut told: Vec<u64> = h
        .pushes
        .take(PUSH_STATE)
        .into_iter()
        .map(|(uid, body)| {
            assert_eq!((body["match_id"].as_u64(), body["state"].as_u64()), (Some(m1), Some(1)));
            uid
        })
        .collect();
    told.sort_unstable();
    assert_eq!(told, [a, c], "each bettor of m1 once (the proxies reach all their sessions), not b");

    h.betting.apply(m1, Action::SetResult, Some("home")).await.unwrap();
    wait_until("settlement pushes", async || {
        h.pushes.pushes.lock().unwrap().iter().filter(|p| p.1 == PUSH_SETTLEMENT).count() == 3
    })
    .await;
    let mut settled: Vec<(u64, u64, u64, u64)> = h
        .pushes
        .take(PUSH_SETTLEMENT)
        .into_iter()
        .map(|(uid, body)| {
            assert_ne!(uid, b, "b did not bet on m1");
            let n = |k: &str| body[k].as_u64().unwrap();
            (uid, n("stake"), n("payout"), n("balance"))
        })
        .collect();
    settled.sort_unstable();
    // a: 10 on home at 2.5 → 25. c hears of both orders: 20 on away lost,
    // 4 on home at 2.5 → 10.
    let mut want = vec![(a, 10, 25, 115), (c, 4, 10, 86), (c, 20, 0, 76)];
    want.sort_unstable();
    assert_eq!(settled, want);
    wait_until("match settled", async || h.store.get_match(m1).await.unwrap().state == MatchState::Settled)
        .await;
    assert_eq!(h.betting.balance(c).await.unwrap(), 100 - 24 + 10);
    // The settled state is pushed after the store records it.
    let settled_push = |(uid, command, body): &(u64, i32, Value)| {
        *uid == c && *command == PUSH_STATE && body["state"] == 4 && body["result"] == "home"
    };
    wait_until("the settled state pushed", async || h.pushes.pushes.lock().unwrap().iter().any(settled_push))
        .await;
    assert_conserved(&*h.store).await;
}

#[tokio::test]
async fn betting_stops_by_itself_at_the_start_time_and_bettors_are_told() {
    let h = harness(100);
    let eve = h.betting.login("eve", "pw").await.unwrap().uid;
    let mut spec = three_way("football");
    spec.start_time = betting::now_ms() / 1000 + 60;
    let id = open_match(&h.betting, &spec).await;
    h.betting.place_bet(eve, id, "home", 5).await.unwrap();
    h.pushes.take(PUSH_STATE);
    assert_eq!(h.store.get_match(id).await.unwrap().state, MatchState::BettingOpen);

    // Paused only now: with paused time, the clock jumps to the next timer
    // whenever the runtime waits, and the store's I/O is such a wait.
    tokio::time::pause();
    tokio::time::sleep(Duration::from_secs(61)).await;
    wait_until("the kickoff push", async || {
        h.pushes.pushes.lock().unwrap().iter().any(|p| p.1 == PUSH_STATE)
    })
    .await;
    assert_eq!(h.store.get_match(id).await.unwrap().state, MatchState::Closed);
    let told = h.pushes.take(PUSH_STATE);
    assert_eq!(told.len(), 1);
    assert_eq!((told[0].0, told[0].1["state"].as_u64()), (eve, Some(5)));
    let late = h.betting.place_bet(eve, id, "home", 5).await.unwrap_err();
    assert_eq!(late, BetError::BettingClosed { id, state: MatchState::Closed });
    assert_eq!(
        h.betting.apply(id, Action::Open, None).await.unwrap_err().code(),
        6011,
        "no reopening after kickoff"
    );
    h.shutdown.finish(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_restart_resumes_payouts_and_overdue_kickoffs_from_the_store() {
    let t = TempStore::new();
    let path = t.path();
    let ids = betting::OrderIds::new(1, None).unwrap();
    // Before the "crash": a match half paid out, one overdue for kickoff.
    let settling = common::store_suite::open_match(&t.store).await;
    let mut overdue_spec = three_way("football");
    overdue_spec.start_time = betting::now_ms() / 1000 - 10;
    let overdue = t.store.create_match(&overdue_spec).await.unwrap();
    t.store.transition(overdue.id, Action::Approve, None).await.unwrap();
    for i in 0..10 {
        let u = user(&t.store, &format!("r{i}"), 50).await;
        bet(&t.store, &ids, u.uid, settling.id, "draw", 10).await.unwrap();
    }
    t.store.transition(settling.id, Action::SetResult, Some("draw")).await.unwrap();
    assert_eq!(t.store.pay_out(settling.id, 4).await.unwrap().payouts.len(), 4);
    drop(t.store);

    let store: Arc<dyn Store> = Arc::new(reopen(&path).await);
    let h = harness_on(store, t.dir, 0);
    wait_until("payout resumed", async || {
        h.store.get_match(settling.id).await.unwrap().state == MatchState::Settled
    })
    .await;
    wait_until("kickoff resumed", async || {
        h.store.get_match(overdue.id).await.unwrap().state == MatchState::Closed
    })
    .await;
    let audit = assert_conserved(&*h.store).await;
    assert_eq!(audit.balances, 10 * (50 - 10 + 32), "everyone paid 3.2 × 10, once");
    h.shutdown.finish(Duration::from_secs(5)).await;
    assert_eq!(h.store.credit("r1", 1).await.unwrap_err(), BetError::Closed, "shutdown closes the store");
}
