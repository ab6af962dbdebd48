//! Settling 100,000 bets on each store: the time from "result set" to
//! "every order paid and the match settled", in payout batches of the
//! default size (5000 orders per transaction). Targets on the 2-core CI
//! machine: at most 3 s on the embedded store, 15 s on MongoDB.
//!
//! Each sample builds a fresh store with 1,000 users holding 100 open bets
//! each on one match (placed through the store's group-committing writer,
//! not timed), sets the result, then times the payout loop.
//!
//! The MongoDB bench runs a throwaway one-member replica set from the
//! mongod that `ESPOIR_MONGOD` names (`.ci/provision-mongod` prints one);
//! without it, that bench says so and is skipped.

use std::sync::Arc;
use std::time::{Duration, Instant};

use betting::{Action, EmbeddedStore, MatchState, MongoStore, NewBet, NewMatch, NewOption, OrderIds, Store};
use criterion::{Criterion, Throughput, criterion_main};
use espoir_testkit::Mongo;
use tokio::runtime::Runtime;

const USERS: u64 = 1_000;
const BETS_PER_USER: u64 = 100;
const PAYOUT_BATCH: usize = 5_000;

/// Fills `store` with 100,000 open bets on match 1 and sets its result
/// (state 3).
async fn with_bets(store: Arc<dyn Store>) -> Arc<dyn Store> {
    let spec = NewMatch {
        kind: "football".into(),
        home: "Lions".into(),
        away: "Tigers".into(),
        start_time: 4_102_444_800,
        options: vec![
            NewOption { name: "home".into(), odds: 2.5 },
            NewOption { name: "away".into(), odds: 1.6 },
        ],
    };
    let m = store.create_match(&spec).await.unwrap();
    store.transition(m.id, Action::Approve, None).await.unwrap();
    store.transition(m.id, Action::Open, None).await.unwrap();
    let ids = Arc::new(OrderIds::new(1, None).unwrap());
    let mut tasks = Vec::new();
    for u in 0..USERS {
        let (store, ids) = (Arc::clone(&store), Arc::clone(&ids));
        tasks.push(tokio::spawn(async move {
            let user = store.create_user(&format!("user{u}"), "-", 10_000).await.unwrap();
            for i in 0..BETS_PER_USER {
                let option = if i % 2 == 0 { "home" } else { "away" };
                let bet = NewBet {
                    order_id: ids.next(),
                    uid: user.uid,
                    match_id: m.id,
                    option: option.into(),
                    amount: 10,
                    placed_at: 0,
                };
                store.place_bet(bet).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    store.transition(m.id, Action::SetResult, Some("home")).await.unwrap();
    store
}

async fn settle(store: &dyn Store) -> usize {
    let mut orders = 0;
    loop {
        let batch = store.pay_out(1, PAYOUT_BATCH).await.unwrap();
        orders += batch.payouts.len();
        if batch.done() {
            assert_eq!(batch.state, MatchState::Settled);
            return orders;
        }
    }
}

fn settle_100k(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut group = c.benchmark_group("betting_settle");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(60))
        .throughput(Throughput::Elements(USERS * BETS_PER_USER));
    group.bench_function("embedded_100k_bets", |b| {
        b.iter_custom(|iters| {
            run(&rt, iters, |_| async {
                let dir = tempfile::tempdir().unwrap();
                let store = EmbeddedStore::open(dir.path().join("settle.redb")).unwrap();
                (Arc::new(store) as Arc<dyn Store>, Box::new(dir) as Box<dyn Send>)
            })
        });
    });
    match rt.block_on(mongod()) {
        Some(mongo) => {
            group.bench_function("mongo_100k_bets", |b| {
                b.iter_custom(|iters| {
                    run(&rt, iters, |n| {
                        let uri = mongo.uri();
                        async move {
                            let store = MongoStore::connect(uri, format!("settle_{n}")).await.unwrap();
                            (Arc::new(store) as Arc<dyn Store>, Box::new(()) as Box<dyn Send>)
                        }
                    })
                });
            });
        }
        None => eprintln!(
            "betting_settle/mongo_100k_bets skipped: set ESPOIR_MONGOD to a mongod binary \
             (.ci/provision-mongod prints one) to run it"
        ),
    }
    group.finish();
}

/// A throwaway replica set, when `ESPOIR_MONGOD` names a mongod.
async fn mongod() -> Option<Mongo> {
    std::env::var_os("ESPOIR_MONGOD")?;
    Mongo::start().await
}

/// Runs `iters` samples on fresh stores made by `open` (given a sample
/// number, for a fresh database), timing only the settlement.
fn run<F, Fut>(rt: &Runtime, iters: u64, open: F) -> Duration
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = (Arc<dyn Store>, Box<dyn Send>)>,
{
    static SAMPLES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let n = SAMPLES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        total += rt.block_on(async {
            let (store, _keep) = open(n).await;
            let setup = Instant::now();
            let store = with_bets(store).await;
            let setup = setup.elapsed();
            let started = Instant::now();
            let settled = settle(&*store).await;
            let took = started.elapsed();
            // Each sample, as it happens: a MongoDB sample takes a while to
            // set up, and these lines are the figures if the run is cut short.
            eprintln!("sample {n}: settled {settled} bets in {took:.2?} (setup {setup:.1?})");
            assert_eq!(settled as u64, USERS * BETS_PER_USER);
            let audit = store.audit().await.unwrap();
            assert!(audit.balanced(), "{audit:?}");
            store.close().await;
            took
        });
    }
    total
}

/// Runs every benchmark of this file: what `criterion_group!` generates,
/// written out because the generated `pub fn` has no doc comment.
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    settle_100k(&mut c);
}

criterion_main!(benches);
