//! Bets per second end to end (`espoir-load bets`): the betting app's
//! cluster started as deployed (`espoir up DIR`, its own process), and C
//! websocket clients that log in through the proxy and then place real
//! bets (command 100020) in a closed loop. A bet counts once the betting
//! service acknowledges it with an order id, which it sends only after
//! the bet's group commit is durable.
//!
//! * `cluster`: the adapted copy of the config folder and the admin API.

pub mod cluster;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use espoir::{ClientFrame, DEFAULT_MAX_CLIENT_FRAME};
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep, timeout};

use crate::client::{Client, ClientError, is_error_reply};
use crate::closed_loop::connect_all;
use crate::latency::{Latencies, Summary};
use crate::procs::{ServerProcs, check_free, config_ports};
use crate::scale::cores::spawn_placed;
use crate::window::{WindowStats, measure_window};

const LOGIN: i32 = 100_002;
const BET: i32 = 100_020;
/// Coins each load user gets: more than any run can stake at 1 coin a bet.
const CREDIT: u64 = 100_000_000;
/// Logins hash passwords (Argon2id) with bounded concurrency on the
/// server, so hundreds of them queue: each may take this long.
const LOGIN_WAIT: Duration = Duration::from_secs(60);
/// Logins sent at once. A thousand at once queue behind the server's few
/// hashers past the handlers' 10 s deadline on a busy machine.
const LOGINS_AT_ONCE: usize = 32;

/// How to run the bets load.
#[derive(Debug, Clone)]
pub struct BetsOptions {
    /// The `espoir` binary.
    pub espoir: PathBuf,
    /// The cluster's config folder (`configs/local`).
    pub cluster: PathBuf,
    /// Scratch folder: the adapted configs, the store, the log.
    pub workdir: PathBuf,
    /// Clients (sessions), each its own user.
    pub clients: usize,
    /// Bets each client keeps in flight (1: a closed loop).
    pub window: usize,
    /// Unmeasured seconds first.
    pub warmup: Duration,
    /// Measured seconds.
    pub duration: Duration,
    /// Pin `espoir up` to these cores (the generator pins itself).
    pub server_cores: Option<Vec<usize>>,
    /// Count the server's system calls with perf.
    pub perf: bool,
    /// Nice value of the server (the generator renices itself).
    pub nice: Option<i32>,
}

/// What a bets run measured.
#[derive(Debug, Clone)]
pub struct BetsReport {
    /// Clients that bet.
    pub clients: usize,
    /// Bets in flight per client.
    pub window: usize,
    /// Bets acknowledged with an order id inside the measured window.
    pub acknowledged: u64,
    /// Bets refused (an error reply) inside the window.
    pub refused: u64,
    /// Timeouts and broken connections.
    pub errors: u64,
    /// The measured window's length.
    pub elapsed: Duration,
    /// Latency of the acknowledged bets.
    pub latency: Summary,
    /// The server's costs over the window.
    pub server: WindowStats,
    /// How long logging every client in took.
    pub logins: Duration,
}

impl BetsReport {
    /// Acknowledged bets per second.
    pub fn rate(&self) -> f64 {
        self.acknowledged as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Prepares and starts the cluster, sets up a match and the users, runs
/// the load, stops the cluster.
///
/// # Errors
/// Anything that keeps the run from starting or finishing.
pub async fn run(opts: &BetsOptions) -> Result<BetsReport, String> {
    let prepared = cluster::prepare(&opts.cluster, &opts.workdir)?;
    let configs = espoir::NodeConfig::load_dir(&prepared.dir).map_err(|e| e.to_string())?;
    check_free(&configs.iter().flat_map(|(_, c)| config_ports(c)).collect::<Vec<_>>())?;
    let mut cmd = std::process::Command::new(&opts.espoir);
    cmd.arg("up").arg(&prepared.dir).arg("--no-watch").current_dir(&opts.workdir);
    let log = opts.workdir.join("espoir-up.log");
    let _ = std::fs::remove_file(&log);
    let mut procs = ServerProcs::empty();
    procs
        .add_with(&mut cmd, &log, |c| spawn_placed(opts.server_cores.as_deref(), opts.nice, c))
        .map_err(|e| format!("cannot start {}: {e}", opts.espoir.display()))?;
    let match_id = open_match(&prepared.admin, &prepared.token).await?;
    if procs.any_exited() {
        return Err(format!("espoir up exited; see {}", log.display()));
    }
    wait_listening(&prepared.url).await?;
    let login_start = Instant::now();
    let mut clients = connect_all(&prepared.url, opts.clients, None).await.map_err(|e| e.to_string())?;
    let mut logins = JoinSet::new();
    let gate = Arc::new(Semaphore::new(LOGINS_AT_ONCE));
    for (i, client) in clients.drain(..).enumerate() {
        let gate = Arc::clone(&gate);
        logins.spawn(async move {
            let _permit = gate.acquire_owned().await;
            login(client, format!("load{i}")).await
        });
    }
    while let Some(done) = logins.join_next().await {
        clients.push(done.map_err(|e| e.to_string())??);
    }
    let logins = login_start.elapsed();
    for i in 0..opts.clients {
        let path = format!("/gm/users/load{i}/credit");
        let (status, reply) =
            cluster::admin_call(&prepared.admin, &prepared.token, &path, Some(&json!({"amount": CREDIT})))
                .await?;
        if status != 200 {
            return Err(format!("credit refused ({status}): {reply}"));
        }
    }
    let bet = ClientFrame::new(BET, json!({"match_id": match_id, "option": "home", "amount": 1}).to_string())
        .encode(DEFAULT_MAX_CLIENT_FRAME)
        .map_err(|e| e.to_string())?;
    let from = Instant::now() + opts.warmup;
    let until = from + opts.duration;
    let window = tokio::spawn(measure_window(procs.pids(), from, until, opts.perf));
    let mut bettors = JoinSet::new();
    for client in clients {
        bettors.spawn(bettor(client, bet.clone(), opts.window, from, until));
    }
    let mut total = Tally::default();
    while let Some(done) = bettors.join_next().await {
        let t = done.unwrap_or_else(|_| Tally { errors: 1, ..Tally::default() });
        total.latencies.merge(&t.latencies);
        (total.refused, total.errors) = (total.refused + t.refused, total.errors + t.errors);
    }
    let server = window.await.map_err(|e| e.to_string())?;
    procs.stop(Duration::from_secs(10));
    Ok(BetsReport {
        clients: opts.clients,
        window: opts.window,
        acknowledged: total.latencies.len(),
        refused: total.refused,
        errors: total.errors,
        elapsed: opts.duration,
        latency: total.latencies.summary(),
        server,
        logins,
    })
}

/// Creates a match through the admin API, approves and opens it (state
/// 2: bets accepted); waits for the node to serve first.
async fn open_match(admin: &str, token: &str) -> Result<u64, String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while cluster::admin_call(admin, token, "/gm/matches", None).await.is_err() {
        if Instant::now() > deadline {
            return Err(format!("the admin API on {admin} never answered"));
        }
        sleep(Duration::from_millis(200)).await;
    }
    let spec = json!({"type": "football", "home": "Lions", "away": "Tigers", "start_time": 4_102_444_800u64,
        "options": [{"name": "home", "odds": 2.5}, {"name": "away", "odds": 1.6}]});
    let (_, created) = cluster::admin_call(admin, token, "/gm/matches", Some(&spec)).await?;
    let id = created["id"].as_u64().ok_or_else(|| format!("match not created: {created}"))?;
    for step in ["approve", "open"] {
        let (status, reply) =
            cluster::admin_call(admin, token, &format!("/gm/matches/{id}/{step}"), Some(&Value::Null))
                .await?;
        if status != 200 {
            return Err(format!("{step} refused ({status}): {reply}"));
        }
    }
    Ok(id)
}

/// Waits until the proxy accepts websocket connections: `espoir up`
/// starts its nodes one after another, so the admin API answering says
/// nothing about the proxy.
async fn wait_listening(url: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match Client::connect(url, None, None).await {
            Ok(client) => {
                client.close().await;
                return Ok(());
            }
            Err(err) if Instant::now() > deadline => return Err(format!("the proxy never listened: {err}")),
            Err(_) => sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Logs `client` in as `name` (signing up on first use), retrying error
/// replies: the proxy's links may still be coming up.
async fn login(mut client: Client, name: String) -> Result<Client, String> {
    let frame = ClientFrame::new(LOGIN, json!({"name": name, "password": "load-test"}).to_string())
        .encode(DEFAULT_MAX_CLIENT_FRAME)
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + LOGIN_WAIT;
    loop {
        let reply = timeout(LOGIN_WAIT, client.request(frame.clone(), LOGIN)).await;
        let why = match reply {
            Ok(Ok(r)) if !is_error_reply(&r.body) => return Ok(client),
            Ok(Ok(r)) => String::from_utf8_lossy(&r.body).into_owned(),
            Ok(Err(err)) => return Err(format!("{name}: {err}")),
            Err(_) => "timed out".into(),
        };
        if Instant::now() > deadline {
            return Err(format!("{name} could not log in: {why}"));
        }
        sleep(Duration::from_millis(200)).await;
    }
}

#[derive(Default)]
struct Tally {
    latencies: Latencies,
    refused: u64,
    errors: u64,
}

/// Keeps `window` bets in flight until `until`, then collects the replies
/// still owed; counts the bets both sent and answered inside the window.
async fn bettor(mut client: Client, bet: Bytes, window: usize, from: Instant, until: Instant) -> Tally {
    let mut tally = Tally::default();
    let mut sent: VecDeque<Instant> = VecDeque::with_capacity(window);
    let outcome: Result<(), ClientError> = async {
        for _ in 0..window.max(1) {
            sent.push_back(Instant::now());
            client.send(bet.clone()).await?;
        }
        while let Some(&started) = sent.front() {
            let reply =
                timeout(Duration::from_secs(30), client.recv()).await.map_err(|_| ClientError::Closed)??;
            if reply.command != BET {
                continue; // a push (match state), not our answer
            }
            sent.pop_front();
            let done = Instant::now();
            if started >= from && done <= until {
                if acknowledged(&reply.body) {
                    tally.latencies.record(done - started);
                } else {
                    tally.refused += 1;
                }
            }
            if done < until {
                sent.push_back(done);
                client.send(bet.clone()).await?;
            }
        }
        Ok(())
    }
    .await;
    match outcome {
        Ok(()) => client.close().await,
        Err(_) => tally.errors += 1,
    }
    tally
}

/// Whether a bet reply carries an order id (`{"order_id": …}`); refusals
/// are `{"code": …, "msg": …}`. A byte search keeps JSON parsing off the
/// generator's hot loop.
fn acknowledged(body: &[u8]) -> bool {
    body.windows(10).any(|w| w == b"\"order_id\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledgements_are_told_from_refusals() {
        assert!(acknowledged(br#"{"order_id":"123","balance":99}"#));
        assert!(!acknowledged(br#"{"code":6003,"msg":"balance too low"}"#));
        assert!(!acknowledged(b""));
    }
}
