//! A longer, randomized fault schedule on the multi-host bed of the fault
//! suite (nodes/tests/faults_support): the same cluster and betting load,
//! then round after round one fault picked at random (a partition both
//! ways or one way between two nodes, a node cut off, a link down, packet
//! loss, delay and jitter on the relayed service's link, a node paused or
//! killed and restarted), held for a random 0.5–3.5 s, healed; each round
//! waits until every client bets again and reports how long that took.
//! At the end the betting invariants run (faults_support::checker).
//!
//! Bounded in count and time, needs root (`.ci/provision-netns`) and
//! mongod:
//!
//! ```text
//! ESPOIR_FAULT_ROUNDS=20 ESPOIR_FAULT_SEED=7 ESPOIR_FAULT_BUDGET=600 \
//!     cargo bench -p espoir-nodes --bench fault_schedule
//! ```
//!
//! Rounds default to 10 (at most 200), the budget to 600 s (at most 3600:
//! no new round starts after it), the seed to the clock (printed, so a run
//! can be repeated). MongoDB's own links are left alone: a service cut off
//! from its store fails bets with a storage error, which the betting loop
//! treats as a bug.
#![allow(missing_docs, unreachable_pub)]

#[path = "../tests/crash_support/mod.rs"]
mod crash_support;
#[path = "../tests/faults_support/mod.rs"]
mod faults_support;

use std::collections::BTreeMap;
use std::time::Duration;

use espoir_testkit::net::{FaultSpec, nft};
use faults_support::load::{Load, proxy_links};
use faults_support::{FaultCluster, PROXIES};
use tokio::time::{Instant, sleep};

/// The nodes faults act on (MongoDB's links are left alone, see above).
const NODES: [&str; 5] = ["route", "proxy_a", "proxy_b", "betting_1", "betting_2"];

/// One fault of the schedule.
#[derive(Debug, Clone)]
enum Fault {
    Partition(&'static str, &'static str),
    OneWay(&'static str, &'static str),
    Isolate(&'static str),
    LinkDown(&'static str),
    Loss(&'static str, u8),
    Delay { ms: u64, jitter: u64 },
    Pause(&'static str),
    Restart(&'static str),
}

impl Fault {
    fn kind(&self) -> &'static str {
        match self {
            Fault::Partition(..) => "partition both ways",
            Fault::OneWay(..) => "partition one way",
            Fault::Isolate(_) => "node cut off",
            Fault::LinkDown(_) => "link down",
            Fault::Loss(..) => "packet loss",
            Fault::Delay { .. } => "delay and jitter",
            Fault::Pause(_) => "paused and resumed",
            Fault::Restart(_) => "killed and restarted",
        }
    }
}

/// xorshift: a repeatable schedule from a seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }

    fn node(&mut self) -> &'static str {
        NODES[self.below(NODES.len() as u64) as usize]
    }

    fn pair(&mut self) -> (&'static str, &'static str) {
        let a = self.node();
        loop {
            let b = self.node();
            if b != a {
                return (a, b);
            }
        }
    }

    fn fault(&mut self) -> Fault {
        match self.below(8) {
            0 => {
                let (a, b) = self.pair();
                Fault::Partition(a, b)
            }
            1 => {
                let (a, b) = self.pair();
                Fault::OneWay(a, b)
            }
            2 => Fault::Isolate(self.node()),
            3 => Fault::LinkDown(self.node()),
            4 => Fault::Loss(self.node(), 1 + self.below(20) as u8),
            5 => Fault::Delay { ms: 50 + self.below(400), jitter: self.below(100) },
            6 => Fault::Pause(self.node()),
            _ => Fault::Restart(self.node()),
        }
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v.parse().unwrap_or_else(|_| panic!("{name}={v}: not a whole number")),
        Err(_) => default,
    }
}

async fn apply(cluster: &mut FaultCluster, fault: &Fault) {
    let host = |c: &FaultCluster, n: &str| c.host(n).clone();
    match *fault {
        Fault::Partition(a, b) => nft::partition(&host(cluster, a), &host(cluster, b)).expect("nft"),
        Fault::OneWay(a, b) => nft::block(&host(cluster, a), &host(cluster, b)).expect("nft"),
        Fault::Isolate(a) => nft::isolate(&host(cluster, a)).expect("nft"),
        Fault::LinkDown(a) => cluster.bed().set_link(&host(cluster, a), false).expect("ip link"),
        Fault::Loss(a, pct) => nft::loss(&host(cluster, a), pct).expect("nft"),
        Fault::Delay { ms, jitter } => cluster.service_link.set(FaultSpec {
            delay: Duration::from_millis(ms),
            jitter: Duration::from_millis(jitter),
            ..FaultSpec::default()
        }),
        Fault::Pause(a) => cluster.proc(a).pause(),
        Fault::Restart(a) => cluster.proc(a).kill(),
    }
}

async fn heal(cluster: &mut FaultCluster, fault: &Fault) {
    for name in NODES {
        nft::heal(&cluster.host(name).clone()).expect("nft");
        cluster.bed().set_link(&cluster.host(name).clone(), true).expect("ip link");
    }
    cluster.service_link.clear();
    match *fault {
        Fault::Pause(a) => cluster.proc(a).resume(),
        Fault::Restart(a) => cluster.restart(a).await,
        _ => {}
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rounds = env_u64("ESPOIR_FAULT_ROUNDS", 10).min(200);
    let budget = Duration::from_secs(env_u64("ESPOIR_FAULT_BUDGET", 600).min(3600));
    let clock = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970");
    let seed = env_u64("ESPOIR_FAULT_SEED", clock.as_secs() % 1_000_000) | 1;
    eprintln!("fault schedule: {rounds} rounds, budget {budget:?}, seed {seed}");
    let Some(mut cluster) = FaultCluster::start().await else { return };
    let load = Load::start(&cluster).await;
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let started = Instant::now();
    let mut times: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    for round in 0..rounds {
        if started.elapsed() > budget {
            eprintln!("budget spent after {round} rounds");
            break;
        }
        let fault = rng.fault();
        let hold = Duration::from_millis(500 + rng.below(3000));
        apply(&mut cluster, &fault).await;
        // The schedule's own pacing, not a wait for an event.
        sleep(hold).await;
        heal(&mut cluster, &fault).await;
        let healed = Instant::now();
        for proxy in PROXIES {
            proxy_links(&cluster, proxy, 2, &format!("{proxy} links to both services after {fault:?}")).await;
        }
        load.all_served(&format!("every client bets after {fault:?}")).await;
        let took = healed.elapsed();
        eprintln!("round {round}: {fault:?} held {hold:.1?}: every client served {took:.2?} after the heal");
        times.entry(fault.kind()).or_default().push(took);
    }
    load.finish("randomized schedule").await;
    eprintln!("| fault | rounds | recovery min | median | max |\n|---|---|---|---|---|");
    for (kind, mut list) in times {
        list.sort();
        let (min, med, max) = (list[0], list[list.len() / 2], list[list.len() - 1]);
        eprintln!("| {kind} | {} | {min:.2?} | {med:.2?} | {max:.2?} |", list.len());
    }
}
