//! Crashes under load, with real processes: every node is an `espoir node`
//! child killed with SIGKILL (no shutdown hook runs, nothing is flushed).
//! Each test generates its cluster on free ports in a temp folder, with
//! fast liveness (heartbeats every 0.2 s, a link dead after 1 s), and
//! checks the store against what the clients saw acknowledged.

mod crash_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use betting::{EmbeddedStore, MongoStore, Store};
use crash_support::bettors::{
    Acked, Audited, Ledger, MatchIn, admin, admin_until, check_user, connect, expected_balance, login,
    open_match,
};
use crash_support::load::{Progress, all_served, bet_loop, wait_members};
use crash_support::*;
use espoir_client::Admin;
use espoir_client::Bettor;
use espoir_testkit::{WAIT, wait_until};
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout};

/// Bettors in the settlement test, and bets each.
const BETTORS: usize = 30;
const BETS_EACH: u64 = 20;

/// A match settles in commits of 2 orders, so settling 600 takes 300
/// commits: the kill lands in the middle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settlement_interrupted_by_kill_9_completes_exactly_once_after_restart() {
    let _serial = one_at_a_time().await;
    settlement_interrupted(None).await;
}

/// The same on the MongoDB store, where each batch is a transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settlement_interrupted_by_kill_9_completes_exactly_once_after_restart_on_mongodb() {
    let _serial = one_at_a_time().await;
    let Some(db) = espoir_testkit::Mongo::start().await else { return };
    settlement_interrupted(Some(&db.uri())).await;
}

/// The settlement test on the embedded store, or on MongoDB at `mongo_uri`.
async fn settlement_interrupted(mongo_uri: Option<&str>) {
    // configs/local's layout: proxy → service and route; route → both.
    let mut cluster = Cluster::start(6, |p, dir| {
        let store = match mongo_uri {
            Some(uri) => mongo(uri, 1, 2),
            None => embedded(dir, "betting.redb", 1, 2),
        };
        vec![
            proxy("proxy", p[0], p[1], vec![remote("service", p[4]), remote("route", p[2])]),
            route("route", p[5], p[2], vec![remote("proxy", p[1]), remote("service", p[4])]),
            betting("betting", p[3], p[4], vec![remote("route", p[2])], store),
        ]
    })
    .await;
    let urls = vec![ws_url(cluster_port(&cluster, "proxy"))];
    let admin = admin(cluster_port(&cluster, "betting"));
    let id = open_match(&admin).await;

    // Every bettor bets concurrently, remembering each acknowledgement.
    let mut bettors = Vec::new();
    for i in 0..BETTORS {
        let name = format!("settle-{i}");
        let bettor = connect(&urls).await;
        login(&bettor, &name).await;
        bettors.push((name, bettor));
    }
    let mut placing = tokio::task::JoinSet::new();
    for (i, (name, bettor)) in bettors.iter().enumerate() {
        let (name, bettor) = (name.clone(), bettor.clone());
        placing.spawn(async move {
            let mut ledger = Ledger::default();
            for n in 0..BETS_EACH {
                let option = if (i as u64 + n).is_multiple_of(3) { "away" } else { "home" };
                let amount = 1 + (i as u64 * 7 + n * 3) % 40;
                let placed =
                    bettor.bet(id, option, amount).await.unwrap_or_else(|e| panic!("{name}: bet: {e}"));
                ledger.acked.push(Acked { order_id: placed.order_id, option: option.into(), amount });
            }
            (name, ledger)
        });
    }
    let ledgers: Vec<(String, Ledger)> = placing.join_all().await;
    let total = BETTORS as u64 * BETS_EACH;

    // The first settlement push means the first batch committed: kill the
    // service then, with most orders still open.
    let (first_push, mut pushed) = mpsc::channel(BETTORS);
    for (_, bettor) in &bettors {
        let mut pushes = bettor.client().pushes();
        let first_push = first_push.clone();
        tokio::spawn(async move {
            if Bettor::next_settlement(&mut pushes, WAIT).await.is_ok() {
                let _ = first_push.send(()).await;
            }
        });
    }
    admin.settle(id, Some("home")).await.expect("set the result");
    timeout(WAIT, pushed.recv()).await.expect("a settlement push in time").expect("a push");
    cluster.kill("betting");

    // The store as the kill left it: settlement half done, yet every
    // committed batch whole (money conserved, the open index consistent).
    let store: Box<dyn Store> = match mongo_uri {
        Some(uri) => Box::new(MongoStore::connect(uri, "betting").await.expect("MongoDB")),
        None => Box::new(
            EmbeddedStore::open(cluster.dir.path().join("betting.redb"))
                .expect("the killed service's store opens (and repairs)"),
        ),
    };
    let at_kill = store.audit().await.expect("audit");
    store.close().await;
    drop(store);
    assert!(at_kill.balanced(), "a kill mid-settlement left money unbalanced: {at_kill:?}");
    assert!(
        at_kill.open_orders > 0 && at_kill.open_orders < total,
        "the kill must land mid-settlement: {} of {total} orders open",
        at_kill.open_orders
    );
    eprintln!("killed with {} of {total} orders still open", at_kill.open_orders);

    // Restarted, the service resumes the payout and finishes it.
    cluster.restart("betting").await;
    admin_until(&admin, "the match settles after the restart", MatchIn(id, 4)).await;
    let audit = admin_until(&admin, "the audit", Audited).await;
    assert!(audit.balanced, "{audit:?}");
    assert_eq!((audit.open_orders, audit.credited), (0, (BETTORS as u64 * BONUS).into()), "{audit:?}");

    // Each bettor: every acknowledged order settled once, the balance exact.
    let mut house = 0i128;
    for (name, ledger) in &ledgers {
        let orders = check_user(&urls, name, ledger).await;
        assert_eq!(orders.len(), ledger.acked.len(), "{name}: no bet went unanswered here");
        for order in &orders {
            let (status, payout) =
                if order.option == "home" { (9, order.amount * 250 / 100) } else { (4, 0) };
            assert_eq!((order.status, order.payout), (status, payout), "{name}: order {}", order.order_id);
            house += i128::from(order.amount) - i128::from(order.payout);
        }
        let bettor = connect(&urls).await;
        assert_eq!(login(&bettor, name).await, expected_balance(&orders, true), "{name}: paid exactly once");
        bettor.client().close().await;
    }
    assert_eq!(audit.house, house, "the house's result is the sum of the orders'");
}

/// The port a node's clients (proxy: websocket) or admin (service: HTTP)
/// use: the first one it listens on.
fn cluster_port(cluster: &Cluster, name: &str) -> u16 {
    cluster.procs.iter().find(|p| p.name == name).map(|p| p.first_port()).expect("a node")
}

/// Waits until the proxy whose admin port is `http` has its own links to
/// `services` service nodes (configured, or learned from the route).
async fn wait_linked_to_service(http: u16, proxy: &str, services: usize) {
    // Distinct services: a proxy may hold two links to one (each side
    // dialled), which must not pass for two services.
    wait_until(&format!("{proxy} links to {services} service(s)"), async || {
        linked_peers(http, "service").is_some_and(|n| n >= services)
    })
    .await;
}

/// Clients per proxy in the route and proxy test.
const PER_PROXY: usize = 4;

/// Two proxies that know only the route: they learn the service from it.
/// Killing the route cuts no client; its restart rebuilds the membership.
/// Killing a proxy moves its clients to the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_and_proxy_kill_9_heal_and_lose_no_acknowledged_bet() {
    let _serial = one_at_a_time().await;
    let mut cluster = Cluster::start(10, |p, dir| {
        vec![
            with_admin(proxy("proxy_a", p[0], p[1], vec![remote("route", p[4])]), p[8]),
            with_admin(proxy("proxy_b", p[2], p[3], vec![remote("route", p[4])]), p[9]),
            route(
                "route",
                p[7],
                p[4],
                vec![remote("proxy", p[1]), remote("proxy", p[3]), remote("service", p[5])],
            ),
            betting("betting", p[6], p[5], vec![remote("route", p[4])], embedded(dir, "b.redb", 1, 100)),
        ]
    })
    .await;
    let a = ws_url(cluster_port(&cluster, "proxy_a"));
    let b = ws_url(cluster_port(&cluster, "proxy_b"));
    let admin = admin(cluster_port(&cluster, "betting"));
    let id = open_match(&admin).await;

    let progress = Progress::new(2 * PER_PROXY);
    let stop = Arc::new(AtomicBool::new(false));
    let mut loops = Vec::new();
    for client in 0..2 * PER_PROXY {
        // Clients 0.. start on proxy a, the rest on b; each knows both.
        let urls = if client < PER_PROXY { vec![a.clone(), b.clone()] } else { vec![b.clone(), a.clone()] };
        loops.push(tokio::spawn(bet_loop(client, urls, id, progress.clone(), stop.clone())));
    }
    all_served(&progress, 0..2 * PER_PROXY, "every client bets").await;

    // The route dies. The proxies learned the service from it and linked
    // to it directly (docs/operations.md), so bets go on meanwhile.
    let route_http = cluster_port(&cluster, "route");
    let everyone = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    let all = everyone(&["betting", "proxy_a", "proxy_b"]);
    wait_members(route_http, &all, "the route knows every node").await;
    for proxy in ["proxy_a", "proxy_b"] {
        let http = cluster.proc(proxy).port(2);
        wait_linked_to_service(http, proxy, 1).await;
    }
    cluster.kill("route");
    let down = all_served(&progress, 0..2 * PER_PROXY, "every client bets while the route is down").await;
    eprintln!("route down: every client served within {down:?}");

    // Restarted, it rebuilds the membership as the nodes redial it.
    let killed = Instant::now();
    cluster.restart("route").await;
    let listening = killed.elapsed();
    wait_members(route_http, &all, "the restarted route knows every node again").await;
    let rebuilt = killed.elapsed() - listening;
    eprintln!("route restart: membership rebuilt {rebuilt:?} after the new route listened");
    // How long it took is reported, not asserted (the machine's speed must
    // not decide the test): healing at all within the wait is the
    // evidence. That redials keep to `max_backoff` is the transport's
    // `Backoff` unit tests' to show.
    all_served(&progress, 0..2 * PER_PROXY, "every client bets after the route's restart").await;

    // Proxy a dies: its clients fail over to b.
    progress.lock().unwrap().mark(Instant::now(), None);
    cluster.kill("proxy_a");
    let moved = all_served(&progress, 0..PER_PROXY, "proxy a's clients bet through proxy b").await;
    let (failures, timeouts) = {
        let progress = progress.lock().unwrap();
        (progress.failures(), progress.timeouts())
    };
    eprintln!(
        "proxy kill: proxy a's clients served through b {moved:?} after the kill; {failures} requests failed"
    );
    // "Within seconds", as evidence rather than a stopwatch: the clients
    // saw their connection drop and moved at once (all_served bounds the
    // whole move by WAIT); none waited out its request timeout.
    assert_eq!(timeouts, 0, "clients move as soon as their proxy dies, without waiting out a timeout");
    all_served(&progress, 0..2 * PER_PROXY, "every client bets after the proxy kill").await;

    stop.store(true, Ordering::Relaxed);
    let mut users = Vec::new();
    for (client, handle) in loops.into_iter().enumerate() {
        let (bettor, mine) = handle.await.expect("a betting loop panicked");
        if client < PER_PROXY {
            assert_eq!(bettor.client().url(), b, "client {client} moved to proxy b");
        }
        bettor.client().close().await;
        users.extend(mine);
    }

    check_users(&[b], &users, &admin).await;
}

/// Every acknowledged bet is stored once, every user's balance adds up (the
/// match still open), and the audit balances.
async fn check_users(urls: &[String], users: &[(String, Ledger)], admin: &Admin) {
    let mut staked = 0u64;
    for (name, ledger) in users {
        let orders = check_user(urls, name, ledger).await;
        staked += orders.iter().map(|o| o.amount).sum::<u64>();
        let bettor = connect(urls).await;
        assert_eq!(login(&bettor, name).await, expected_balance(&orders, false), "{name}");
        bettor.client().close().await;
    }
    let audit = admin_until(admin, "the audit", Audited).await;
    assert!(audit.balanced, "{audit:?}");
    assert_eq!(audit.credited, (users.len() as u64 * BONUS).into(), "{audit:?}");
    assert_eq!((audit.open_orders, audit.open_stakes), (staked, staked.into()), "{audit:?}");
}

/// Clients in the MongoDB failover test.
const MONGO_CLIENTS: usize = 8;

/// configs/local-mongo's shape: a proxy, a route and two betting services
/// on one MongoDB. One service dies under load: its sessions move to the
/// other at once, and the shared store holds every acknowledged bet once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_one_of_two_betting_services_on_mongodb_moves_its_sessions_and_loses_no_bet() {
    let _serial = one_at_a_time().await;
    let Some(db) = espoir_testkit::Mongo::start().await else { return };
    let uri = db.uri();
    let mut cluster = Cluster::start(9, |p, _| {
        let services = vec![remote("service", p[4]), remote("service", p[6]), remote("route", p[2])];
        vec![
            with_admin(proxy("proxy", p[0], p[1], services), p[8]),
            route(
                "route",
                p[3],
                p[2],
                vec![remote("proxy", p[1]), remote("service", p[4]), remote("service", p[6])],
            ),
            betting("betting_1", p[5], p[4], vec![remote("route", p[2])], mongo(&uri, 1, 100)),
            betting("betting_2", p[7], p[6], vec![remote("route", p[2])], mongo(&uri, 2, 100)),
        ]
    })
    .await;
    let urls = vec![ws_url(cluster_port(&cluster, "proxy"))];
    // Logins made while the proxy links to one service would all stick to
    // it, and the kill might then hit nobody.
    let proxy_http = cluster.proc("proxy").port(2);
    wait_linked_to_service(proxy_http, "proxy", 2).await;
    let survivor = admin(cluster_port(&cluster, "betting_2"));
    let id = open_match(&survivor).await;

    let progress = Progress::new(MONGO_CLIENTS);
    let stop = Arc::new(AtomicBool::new(false));
    let loops: Vec<_> = (0..MONGO_CLIENTS)
        .map(|client| tokio::spawn(bet_loop(client, urls.clone(), id, progress.clone(), stop.clone())))
        .collect();
    all_served(&progress, 0..MONGO_CLIENTS, "every client bets").await;

    let killed = Instant::now();
    // betting_1 is worker 1 (`mongo(&uri, 1, …)` above).
    progress.lock().unwrap().mark(killed, Some(1));
    cluster.kill("betting_1");
    // Let every client try at least once after the kill.
    all_served(&progress, 0..MONGO_CLIENTS, "every client bets after the kill").await;
    let (recoveries, relogins, failures, timeouts) = {
        let progress = progress.lock().unwrap();
        (progress.recoveries(), progress.relogins(), progress.failures(), progress.timeouts())
    };
    eprintln!(
        "service kill: {} of {MONGO_CLIENTS} sessions were on it; first bet after the kill {recoveries:?}; \
         {failures} requests failed",
        recoveries.len()
    );
    // The uid travels with the session (bound on the proxy at login), so
    // the survivor serves a moved session as the same user at once.
    assert_eq!(relogins, 0, "moved sessions stay logged in");
    assert!(!recoveries.is_empty(), "sessions were spread over both services, so the kill hits some");
    let worst = recoveries.iter().map(|r| r.expect("every hit session recovered")).max().expect("some");
    eprintln!("service kill: the slowest hit session bet again {worst:?} after the kill");
    // "Within seconds", as evidence rather than a stopwatch: the killed
    // service's links dropped at once, so its calls failed fast (503) and
    // the proxy sent the next ones to the survivor; none waited out the
    // call timeout (CALL_TIMEOUT_SECS) or the client's request timeout.
    assert_eq!(timeouts, 0, "sessions move as soon as their service dies, without waiting out a timeout");

    stop.store(true, Ordering::Relaxed);
    let mut users = Vec::new();
    let mut bettors = Vec::new();
    for handle in loops {
        let (bettor, mine) = handle.await.expect("a betting loop panicked");
        let has_bets = mine.last().is_some_and(|(_, ledger)| !ledger.acked.is_empty());
        users.extend(mine);
        bettors.push((bettor, has_bets));
    }
    check_users(&urls, &users, &survivor).await;

    // Settled by the survivor, the match's result reaches every client's
    // current user, whichever service handled its login.
    let mut told = tokio::task::JoinSet::new();
    for (bettor, _) in bettors.iter().filter(|(_, has_bets)| *has_bets) {
        let mut pushes = bettor.client().pushes();
        told.spawn(async move { Bettor::next_settlement(&mut pushes, WAIT).await.is_ok() });
    }
    survivor.settle(id, Some("home")).await.expect("set the result");
    assert!(told.join_all().await.into_iter().all(|pushed| pushed), "every client hears its settlement");
    for (bettor, _) in bettors {
        bettor.client().close().await;
    }
}
