//! The betting load every fault scenario runs: clients betting in a loop
//! through both proxies, an auditor, and the final checks.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use espoir_client::{Admin, Bettor};
use espoir_testkit::wait_until;
use tokio::task::JoinHandle;

use super::checker::{Auditor, check_all};
use super::{FaultCluster, PROXIES, SERVICES};
use crate::crash_support::bettors::{Acked, Ledger, admin, open_match};
use crate::crash_support::linked_peers;
use crate::crash_support::load::{Progress, all_served, bet_loop};

/// Clients per proxy.
pub const PER_PROXY: usize = 4;
pub const CLIENTS: usize = 2 * PER_PROXY;

/// What a betting loop hands back: its client and each user's ledger.
type LoopEnd = (Bettor, Vec<(String, Ledger)>);

/// The betting load of a scenario: clients 0.. prefer proxy a, the rest
/// proxy b; each fails over to the other.
pub struct Load {
    pub progress: Arc<Mutex<Progress>>,
    stop: Arc<AtomicBool>,
    loops: Vec<JoinHandle<LoopEnd>>,
    urls: Vec<String>,
    pub match_id: u64,
    admin: Admin,
    auditor: Auditor,
    /// Users the scenario made itself, outside the loops.
    extra: Vec<(String, Ledger)>,
}

impl Load {
    pub async fn start(cluster: &FaultCluster) -> Load {
        // Logins made while a proxy links to one service would all stick to it.
        for proxy in PROXIES {
            let http = cluster.http_port(proxy);
            wait_until(&format!("{proxy} links to both services"), async || {
                linked_peers(http, "service") == Some(2)
            })
            .await;
        }
        let admin = admin(cluster.http_port("betting_2"));
        let match_id = open_match(&admin).await;
        let (a, b) = (cluster.ws_url("proxy_a"), cluster.ws_url("proxy_b"));
        let progress = Progress::new(CLIENTS);
        let stop = Arc::new(AtomicBool::new(false));
        let loops = (0..CLIENTS)
            .map(|client| {
                let urls =
                    if client < PER_PROXY { vec![a.clone(), b.clone()] } else { vec![b.clone(), a.clone()] };
                tokio::spawn(bet_loop(client, urls, match_id, progress.clone(), stop.clone()))
            })
            .collect();
        let auditor = Auditor::start(
            SERVICES.map(|s| crate::crash_support::bettors::admin(cluster.http_port(s))).to_vec(),
        );
        let load =
            Load { progress, stop, loops, urls: vec![a, b], match_id, admin, auditor, extra: Vec::new() };
        all_served(&load.progress, 0..CLIENTS, "every client bets").await;
        load
    }

    /// Waits until every client has a bet acknowledged from now on.
    pub async fn all_served(&self, what: &str) -> Duration {
        all_served(&self.progress, 0..CLIENTS, what).await
    }

    /// A user the scenario made and saw one bet of `placed` acknowledged.
    pub fn extra_user(&mut self, name: &str, placed: &espoir_client::Placed, unanswered: usize) {
        let acked = Acked { order_id: placed.order_id.clone(), option: "home".into(), amount: 1 };
        self.extra.push((name.to_owned(), Ledger { acked: vec![acked], unanswered }));
    }

    /// Stops the load and runs the final checks.
    pub async fn finish(self, scenario: &str) {
        self.auditor.finish(scenario).await;
        self.stop.store(true, Ordering::Relaxed);
        let mut users = self.extra;
        for handle in self.loops {
            let (bettor, mine) = handle.await.expect("a betting loop panicked");
            bettor.client().close().await;
            users.extend(mine);
        }
        check_all(&self.urls, &users, &self.admin, self.match_id).await;
        eprintln!("{scenario}: invariants hold for {} users", users.len());
    }
}

/// Prints a recovery time as the suite reports it (docs/benchmarks.md).
pub fn report(scenario: &str, what: &str, took: Duration) {
    eprintln!("RECOVERY {scenario}: {what}: {took:.2?}");
}

/// Waits until proxy `proxy` links to `services` services.
pub async fn proxy_links(cluster: &FaultCluster, proxy: &str, services: usize, what: &str) {
    let http = cluster.http_port(proxy);
    wait_until(what, async || linked_peers(http, "service") == Some(services)).await;
}
