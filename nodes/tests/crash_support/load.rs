//! Load that runs through kills: clients that bet in a loop, log in again
//! when their connection (and so their session) is lost, and record what
//! they saw; plus the waits the tests synchronise on (no fixed sleeps).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use espoir_client::{Bettor, ClientError};
use tokio::time::{Instant, sleep};

use super::bettors::{Acked, Ledger, connect, retryable, timed_out};
use espoir_testkit::wait_until;

use super::members;

/// Bets per user before a client moves to a new user, so one "my bets"
/// page (100) holds every order of a user.
const BETS_PER_USER: usize = 40;

/// What the betting loops share with the test.
#[derive(Debug)]
pub struct Progress {
    /// Per client, bets acknowledged since the last [`all_served`].
    successes: Vec<u64>,
    /// Per client, the worker id of the service that placed its last
    /// acknowledged bet (order ids carry it).
    served_by: Vec<Option<u16>>,
    /// Set by [`Progress::mark`]: the kill being measured.
    mark: Option<Instant>,
    /// Per client whose service the kill took: its first acknowledged bet
    /// after the kill (`Some(None)`: none yet).
    hit: Vec<Option<Option<Instant>>>,
    /// Failed requests since the mark (503s for requests in flight on the
    /// killed node, reconnects).
    failures: u64,
    /// Bets refused with 6001 (the session had lost its login) since the
    /// mark: a session that moves keeps its login, so this stays 0.
    relogins: u64,
    /// Requests since the mark that failed by waiting out a timeout rather
    /// than at once: a SIGKILLed node's sockets close at once, so a
    /// failover that works as designed leaves this at 0 however slow the
    /// machine.
    timeouts: u64,
}

impl Progress {
    pub fn new(clients: usize) -> Arc<Mutex<Progress>> {
        Arc::new(Mutex::new(Progress {
            successes: vec![0; clients],
            served_by: vec![None; clients],
            mark: None,
            hit: vec![None; clients],
            failures: 0,
            relogins: 0,
            timeouts: 0,
        }))
    }

    /// Starts counting failures from `at`, the moment of a kill; with
    /// `Some(worker)`, also measures how the sessions that the service with
    /// that worker id served recover (whether or not a request of theirs
    /// failed: a session whose next bet simply goes elsewhere is hit too).
    pub fn mark(&mut self, at: Instant, killed_service: Option<u16>) {
        self.mark = Some(at);
        for (hit, served) in self.hit.iter_mut().zip(&self.served_by) {
            *hit = (killed_service.is_some() && *served == killed_service).then_some(None);
        }
        self.failures = 0;
        self.relogins = 0;
        self.timeouts = 0;
    }

    /// Per client, the worker id of the service that placed its last
    /// acknowledged bet.
    pub fn served_by(&self) -> &[Option<u16>] {
        &self.served_by
    }

    /// Requests since the mark that waited out a timeout.
    pub fn timeouts(&self) -> u64 {
        self.timeouts
    }

    /// Bets refused for a lost login since the mark.
    pub fn relogins(&self) -> u64 {
        self.relogins
    }

    /// Requests failed since the mark.
    pub fn failures(&self) -> u64 {
        self.failures
    }

    /// Per client hit by the kill: time from the mark to its first
    /// acknowledged bet after it (`None`: not yet).
    pub fn recoveries(&self) -> Vec<Option<Duration>> {
        let mark = self.mark.expect("marked");
        self.hit.iter().flatten().map(|ok| ok.map(|t| t - mark)).collect()
    }

    fn failed(&mut self) {
        if self.mark.is_some() {
            self.failures += 1;
        }
    }

    /// A failure with error `e`: also counted as a timeout if it was one.
    fn failed_with(&mut self, e: &ClientError) {
        self.failed();
        if self.mark.is_some() && timed_out(e) {
            self.timeouts += 1;
        }
    }

    fn succeeded(&mut self, client: usize, order_id: &str) {
        self.successes[client] += 1;
        self.served_by[client] = order_id.parse().ok().map(betting::OrderIds::worker_of);
        if let Some(ok @ None) = &mut self.hit[client] {
            *ok = Some(Instant::now());
        }
    }
}

/// One client of the load: bets 1 coin at a time until `stop`, through
/// whatever fails. Returns its client and each user's ledger.
pub async fn bet_loop(
    client: usize,
    urls: Vec<String>,
    id: u64,
    progress: Arc<Mutex<Progress>>,
    stop: Arc<AtomicBool>,
) -> (Bettor, Vec<(String, Ledger)>) {
    let bettor = connect(&urls).await;
    let mut users: Vec<(String, Ledger)> = Vec::new();
    let mut logged_in = false;
    while !stop.load(Ordering::Relaxed) {
        if users.last().is_none_or(|(_, l)| l.acked.len() + l.unanswered >= BETS_PER_USER) {
            users.push((format!("c{client}-u{}", users.len()), Ledger::default()));
            logged_in = false;
        }
        let (name, ledger) = users.last_mut().expect("a user");
        if !logged_in {
            match bettor.login(name, &format!("{name}-pw")).await {
                Ok(_) => logged_in = true,
                Err(e) if retryable(&e) => {
                    progress.lock().unwrap().failed_with(&e);
                    sleep(Duration::from_millis(50)).await;
                    continue;
                }
                Err(e) => panic!("{name}: login: {e}"),
            }
        }
        match bettor.bet(id, "home", 1).await {
            Ok(placed) => {
                progress.lock().unwrap().succeeded(client, &placed.order_id);
                ledger.acked.push(Acked { order_id: placed.order_id, option: "home".into(), amount: 1 });
            }
            // The session lost its login (a new connection after a proxy
            // died): this bet was refused before it was placed.
            Err(e) if e.code() == Some(6001) => {
                let mut progress = progress.lock().unwrap();
                progress.failed();
                progress.relogins += 1;
                logged_in = false;
            }
            Err(e) if retryable(&e) => {
                // The bet may have committed before the failure.
                ledger.unanswered += 1;
                progress.lock().unwrap().failed_with(&e);
                if matches!(e, ClientError::Disconnected) {
                    logged_in = false;
                }
            }
            // A 429 lands here too: the test proxies allow far more than
            // this loop sends (crash_support::proxy), so one is a bug.
            Err(e) => panic!("{name}: bet: {e}"),
        }
        // At most one bet per 20 ms (≤ 50 frames/s with the heartbeat, on a
        // fast machine; fewer on a slow one): load enough to keep every
        // node busy, well under the test proxies' MESSAGE_RATE.
        sleep(Duration::from_millis(20)).await;
    }
    (bettor, users)
}

/// Waits until every client in `clients` has a bet acknowledged from now
/// on; returns how long that took.
pub async fn all_served(
    progress: &Arc<Mutex<Progress>>,
    clients: std::ops::Range<usize>,
    what: &str,
) -> Duration {
    let started = Instant::now();
    progress.lock().unwrap().successes.iter_mut().for_each(|n| *n = 0);
    wait_until(what, async || {
        // A copy, so a failed assert never poisons the lock the loops share.
        let served = progress.lock().unwrap().successes[clients.clone()].to_vec();
        served.iter().all(|n| *n > 0)
    })
    .await;
    started.elapsed()
}

/// Waits until the node's `/nodes` lists exactly `want` as members.
pub async fn wait_members(http: u16, want: &[String], what: &str) {
    wait_until(what, async || members(http).as_deref() == Some(want)).await;
}
