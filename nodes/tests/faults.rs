//! The multi-host fault suite: a cluster spread over network namespaces
//! (faults_support), betting clients in a loop throughout, and one fault
//! per test: a partition between the route and a service, a proxy cut off,
//! 200 ms delay with jitter and 5% loss on a service's link, a service
//! paused (SIGSTOP) until its sessions moved, then resumed. Each test runs
//! the betting invariants during the fault and after it heals
//! (faults_support::checker) and prints its times to recover; it asserts
//! only that recovery happens within the generous wait, never how fast.
//!
//! Needs root, `ip` and `nft` (`.ci/provision-netns`) and mongod; skipped
//! without them, except under `CI=true`.

mod crash_support;
mod faults_support;

use std::time::Duration;

use crash_support::bettors::{connect, login, retryable};
use crash_support::load::all_served;
use crash_support::{linked_peers, one_at_a_time};
use espoir_testkit::net::{FaultSpec, nft};
use espoir_testkit::{WAIT, wait_until};
use faults_support::load::{CLIENTS, Load, PER_PROXY, proxy_links, report};
use faults_support::{FaultCluster, PROXIES};
use tokio::time::Instant;

/// The route and betting_1 cannot reach each other, both ways. The
/// proxies link to the services directly, so every client is served
/// throughout; after the heal the route links to betting_1 again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_between_route_and_service_heals() {
    let _serial = one_at_a_time().await;
    let Some(cluster) = FaultCluster::start().await else { return };
    let scenario = "route-service partition";
    let load = Load::start(&cluster).await;
    let route_http = cluster.http_port("route");
    wait_until("the route links to both services", async || linked_peers(route_http, "service") == Some(2))
        .await;

    let (route, service) = (cluster.host("route"), cluster.host("betting_1"));
    nft::partition(route, service).expect("partition");
    let cut = Instant::now();
    wait_until("the route sees betting_1 gone", async || linked_peers(route_http, "service") == Some(1))
        .await;
    report(scenario, "route notices the partition", cut.elapsed());
    let during = load.all_served("every client bets during the partition").await;
    report(scenario, "every client served during the partition", during);

    nft::heal(route).expect("heal");
    nft::heal(service).expect("heal");
    let healed = Instant::now();
    wait_until("the route links to betting_1 again", async || linked_peers(route_http, "service") == Some(2))
        .await;
    report(scenario, "route relinked after the heal", healed.elapsed());
    let served = load.all_served("every client bets after the heal").await;
    report(scenario, "every client served after the heal", healed.elapsed().max(served));
    load.finish(scenario).await;
}

/// Proxy a is cut off from every host, its clients too. They notice its
/// silence (heartbeats), reconnect to proxy b and bet there; after the
/// heal proxy a links to the cluster again and serves a new client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_cut_off_loses_its_clients_to_the_other_and_serves_again_after_the_heal() {
    let _serial = one_at_a_time().await;
    let Some(cluster) = FaultCluster::start().await else { return };
    let scenario = "proxy isolated";
    let mut load = Load::start(&cluster).await;

    let proxy = cluster.host("proxy_a");
    load.progress.lock().unwrap().mark(Instant::now(), None);
    let cut = Instant::now();
    nft::isolate(proxy).expect("isolate");
    all_served(&load.progress, 0..PER_PROXY, "proxy a's clients bet through proxy b").await;
    report(scenario, "proxy a's clients served through proxy b", cut.elapsed());
    load.all_served("every client bets while proxy a is cut off").await;

    nft::heal(proxy).expect("heal");
    let healed = Instant::now();
    proxy_links(&cluster, "proxy_a", 2, "proxy a links to both services again").await;
    report(scenario, "proxy a relinked to both services after the heal", healed.elapsed());
    // Healed means linked to the whole cluster again, the route (membership,
    // relays) included.
    let http = cluster.http_port("proxy_a");
    wait_until("proxy a links to the route again", async || linked_peers(http, "route") == Some(1)).await;
    report(scenario, "proxy a relinked to the route after the heal", healed.elapsed());
    // A client that knows only proxy a is served by it again.
    let url = [cluster.ws_url("proxy_a")];
    let bettor = connect(&url).await;
    login(&bettor, "after-heal").await;
    // Seen in CI (never locally): this first client's bets went
    // unanswered for a while after its login. Its heartbeats queued behind
    // the bet then, so it dropped the link every two seconds; the proxy now
    // answers heartbeats on arrival (framework/tests/handler_limits.rs).
    // Unanswered attempts may have been stored: the ledger allows them.
    let deadline = Instant::now() + WAIT;
    let mut unanswered = 0;
    let placed = loop {
        match bettor.bet(load.match_id, "home", 1).await {
            Ok(placed) => break placed,
            Err(e) if Instant::now() < deadline && retryable(&e) => {
                unanswered += 1;
                eprintln!("proxy isolated: the new client's bet went unanswered ({e}); again");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("proxy a serves no bet after the heal: {e}"),
        }
    };
    report(scenario, "a new client of proxy a served after the heal", healed.elapsed());
    bettor.client().close().await;
    load.extra_user("after-heal", &placed, unanswered);
    load.all_served("every client bets after the heal").await;
    load.finish(scenario).await;
}

/// betting_1's link to the cluster gets 200 ms of delay each way (plus up
/// to 50 ms of jitter) and 5% of its RPC packets are dropped; its link to
/// MongoDB 3 ms each way. Every client
/// is still served, nothing acknowledged is lost; after the heal both
/// services serve at full speed again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_and_loss_on_a_service_link_lose_nothing() {
    let _serial = one_at_a_time().await;
    let Some(cluster) = FaultCluster::start().await else { return };
    let scenario = "200 ms delay + 5% loss";
    let load = Load::start(&cluster).await;

    let service = cluster.host("betting_1");
    cluster.service_link.set(FaultSpec {
        delay: Duration::from_millis(200),
        jitter: Duration::from_millis(50),
        ..FaultSpec::default()
    });
    nft::loss_on_port(service, 5, faults_support::RPC).expect("loss");
    // Its store link is slower too (3 ms each way): a betting node with
    // slower MongoDB round trips used to lose every write conflict on the
    // hot match and give up (6090); groups now take the match first.
    cluster.store_link.set(FaultSpec { delay: Duration::from_millis(3), ..FaultSpec::default() });
    let during = load.all_served("every client bets under delay and loss").await;
    report(scenario, "every client served under the fault", during);
    let again = load.all_served("every client bets again under delay and loss").await;
    report(scenario, "every client served again under the fault", again);
    let served_by_1 = load.progress.lock().unwrap().served_by().iter().filter(|w| **w == Some(1)).count();
    eprintln!("{scenario}: {served_by_1} of {CLIENTS} clients' last bets were placed by the delayed service");

    cluster.service_link.clear();
    cluster.store_link.clear();
    nft::heal(service).expect("heal");
    let healed = Instant::now();
    for proxy in PROXIES {
        proxy_links(&cluster, proxy, 2, &format!("{proxy} links to both services after the heal")).await;
    }
    let served = load.all_served("every client bets after the heal").await;
    report(scenario, "every client served after the heal", healed.elapsed().max(served));
    load.finish(scenario).await;
}

/// betting_1 is paused (SIGSTOP): its sessions move to betting_2 and bet
/// there; resumed (SIGCONT), it links again, new sessions land on it, and
/// whatever it held while paused changed nothing acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_service_resumed_after_its_sessions_moved_loses_nothing() {
    let _serial = one_at_a_time().await;
    let Some(mut cluster) = FaultCluster::start().await else { return };
    let scenario = "service paused";
    let mut load = Load::start(&cluster).await;

    let paused = Instant::now();
    load.progress.lock().unwrap().mark(paused, Some(1));
    cluster.proc("betting_1").pause();
    load.all_served("every client bets while betting_1 is paused").await;
    let (recoveries, failures) = {
        let progress = load.progress.lock().unwrap();
        (progress.recoveries(), progress.failures())
    };
    let hit = recoveries.len();
    let worst = recoveries.into_iter().map(|r| r.expect("every hit session bet again")).max();
    if let Some(worst) = worst {
        report(scenario, &format!("slowest of {hit} moved sessions served by betting_2"), worst);
    }
    eprintln!("{scenario}: {failures} requests failed while sessions moved");
    for proxy in PROXIES {
        proxy_links(&cluster, proxy, 1, &format!("{proxy} sees betting_1 gone")).await;
    }

    cluster.proc("betting_1").resume();
    let resumed = Instant::now();
    for proxy in PROXIES {
        proxy_links(&cluster, proxy, 2, &format!("{proxy} links to betting_1 again")).await;
    }
    report(scenario, "both proxies relinked after the resume", resumed.elapsed());
    // New sessions are pinned to betting_1 again (spread over both).
    let urls = [cluster.ws_url("proxy_a"), cluster.ws_url("proxy_b")];
    let mut on_1 = None;
    for i in 0..16 {
        let bettor = connect(&urls[i % 2..]).await;
        let name = format!("repin-{i}");
        login(&bettor, &name).await;
        let placed = bettor.bet(load.match_id, "home", 1).await.expect("a new session bets");
        bettor.client().close().await;
        load.extra_user(&name, &placed, 0);
        if placed.order_id.parse().map(betting::OrderIds::worker_of) == Ok(1) {
            on_1 = Some(i);
            break;
        }
    }
    let first = on_1.expect("one of 16 new sessions is pinned to the resumed betting_1");
    report(
        scenario,
        &format!("a new session ({} tried) served by the resumed betting_1", first + 1),
        resumed.elapsed(),
    );
    load.all_served("every client bets after the resume").await;
    load.finish(scenario).await;
}
