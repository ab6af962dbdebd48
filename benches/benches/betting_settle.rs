//! Settling 100,000 bets on the embedded store: the time from "result set"
//! to "every order paid and the match settled", in payout batches of the
//! default size (5000 orders per transaction). Target: at most 3 s on the
//! 2-core CI machine.
//!
//! Each sample builds a fresh store with 1,000 users holding 100 open bets
//! each on one match (placed through the group-committing writer, not
//! timed), sets the result, then times the payout loop.

use std::sync::Arc;
use std::time::{Duration, Instant};

use betting::{Action, EmbeddedStore, MatchState, NewBet, NewMatch, NewOption, OrderIds, Store};
use criterion::{Criterion, Throughput, criterion_main};
use tokio::runtime::Runtime;

const USERS: u64 = 1_000;
const BETS_PER_USER: u64 = 100;
const PAYOUT_BATCH: usize = 5_000;

/// A store holding 100,000 open bets on match 1, result set (state 3).
async fn store_with_bets(dir: &std::path::Path) -> Arc<EmbeddedStore> {
    let store = Arc::new(EmbeddedStore::open(dir.join("settle.redb")).unwrap());
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

async fn settle(store: &EmbeddedStore) -> usize {
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
        b.iter_custom(|iters| run(&rt, iters));
    });
    group.finish();
}

fn run(rt: &Runtime, iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let dir = tempfile::tempdir().unwrap();
        total += rt.block_on(async {
            let store = store_with_bets(dir.path()).await;
            let started = Instant::now();
            let settled = settle(&store).await;
            let took = started.elapsed();
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
