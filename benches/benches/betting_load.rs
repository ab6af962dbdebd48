//! Bets per second end to end on `configs/local`: the proxy, route and
//! betting service of `configs/local` (its ports, its embedded store, in a
//! temporary directory), with websocket clients in the same process placing
//! bets through the proxy. Target: at least 20,000 bets/s on the 2-core CI
//! machine.
//!
//! Every bet is a real one: framed by the client, routed by the proxy,
//! handled by the betting service, group-committed to redb (fsync) and
//! acknowledged only then. Clients pipeline up to `WINDOW` bets each; the
//! proxy still handles each session's frames one at a time.
//!
//! `cargo bench -p espoir-benches --bench betting_load`. Environment:
//! `BETTING_LOAD_CONNECTIONS` (default 200), `BETTING_LOAD_SECS` (default 10).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use espoir::{ClientDecoder, ClientFrame, Node, NodeConfig, RunningNode, Shutdown};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// Bets a client may have in flight.
const WINDOW: usize = 32;
const WARMUP: Duration = Duration::from_secs(2);

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn configs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/local")
}

/// Starts `configs/local` with the store moved to `data`; returns the
/// nodes and the admin address and token.
async fn start(data: &Path, shutdown: &Shutdown) -> (Vec<RunningNode>, String, String) {
    let mut nodes = Vec::new();
    let (mut admin, mut token) = (String::new(), String::new());
    for (file, mut config) in NodeConfig::load_dir(configs_dir()).unwrap() {
        let builder = if config.api_path.iter().any(|g| g == "betting.service") {
            config.app.get_mut("betting").unwrap()["path"] = json!(data.join("betting.redb"));
            let http = config.http.as_ref().unwrap();
            admin = format!("{}:{}", config.host, http.port);
            // The token is only readable from the file (the parsed one is redacted).
            let text = std::fs::read_to_string(&file).unwrap();
            let raw: Value = serde_json5::from_str(&text).unwrap();
            token = raw["http"]["token"].as_str().unwrap().to_owned();
            betting::service(Node::builder(config))
        } else {
            // Every bench client connects from 127.0.0.1 and pipelines
            // bets: the default per-IP and per-client rate limits would
            // measure themselves, not the app.
            if let Some(ws) = config.websocket.as_mut() {
                ws.limits.max_connections_per_ip = usize::MAX;
                (ws.limits.message_rate, ws.limits.message_burst) = (u32::MAX, u32::MAX);
                (ws.limits.bytes_rate, ws.limits.bytes_burst) = (u32::MAX, u32::MAX);
            }
            Node::builder(config)
        };
        nodes.push(builder.start(shutdown).await.unwrap());
    }
    (nodes, admin, token)
}

async fn admin_call(addr: &str, token: &str, path: &str, body: &Value) -> Value {
    let body = serde_json::to_vec(body).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&body).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw);
    serde_json::from_str(text.split_once("\r\n\r\n").unwrap().1).unwrap()
}

fn frame(command: i32, body: &Value) -> Message {
    Message::Binary(ClientFrame::new(command, serde_json::to_vec(body).unwrap()).encode(1 << 20).unwrap())
}

struct Counters {
    ok: AtomicU64,
    refused: AtomicU64,
}

/// One client: logs in, then bets as fast as its window allows until `stop`.
async fn client(
    url: String,
    name: String,
    match_id: u64,
    counters: Arc<Counters>,
    stop: CancellationToken,
    ready: tokio::sync::mpsc::Sender<()>,
) -> Vec<u32> {
    let (ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let (mut sink, mut stream) = ws.split();
    let mut decoder = ClientDecoder::new(1 << 20);
    let mut frames = Vec::new();
    // A login can time out while hundreds of others hash their passwords:
    // retry until it succeeds.
    loop {
        sink.send(frame(100_002, &json!({"name": name, "password": "load-test"}))).await.unwrap();
        frames.clear();
        while frames.is_empty() {
            let Some(Ok(Message::Binary(data))) = stream.next().await else {
                panic!("connection lost at login")
            };
            decoder.feed(data, &mut frames).unwrap();
        }
        let reply: Value = serde_json::from_slice(&frames[0].body).unwrap();
        if reply.get("uid").is_some() {
            break;
        }
    }
    let _ = ready.send(()).await;
    let window = Arc::new(Semaphore::new(WINDOW));
    let sent = Arc::new(std::sync::Mutex::new(std::collections::VecDeque::<Instant>::new()));
    let bet = frame(100_020, &json!({"match_id": match_id, "option": "home", "amount": 1}));
    let (w, s, writer_stop) = (Arc::clone(&window), Arc::clone(&sent), stop.clone());
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = writer_stop.cancelled() => return,
                permit = w.acquire() => permit.unwrap().forget(),
            }
            s.lock().unwrap().push_back(Instant::now());
            if sink.send(bet.clone()).await.is_err() {
                return;
            }
        }
    });
    let mut latencies = Vec::new();
    let mut stopping = false;
    loop {
        // Once stopped, wait only for the replies still owed.
        if stopping && sent.lock().unwrap().is_empty() {
            break;
        }
        let msg = tokio::select! {
            msg = stream.next() => msg,
            () = stop.cancelled(), if !stopping => {
                stopping = true;
                continue;
            }
        };
        let Some(Ok(Message::Binary(data))) = msg else { break };
        frames.clear();
        decoder.feed(data, &mut frames).unwrap();
        for f in &frames {
            if f.command != 100_020 {
                continue;
            }
            let started = sent.lock().unwrap().pop_front().unwrap();
            latencies.push(started.elapsed().as_micros() as u32);
            let body: Value = serde_json::from_slice(&f.body).unwrap();
            let counter = if body.get("order_id").is_some() { &counters.ok } else { &counters.refused };
            counter.fetch_add(1, Ordering::Relaxed);
            window.add_permits(1);
        }
    }
    latencies
}

fn main() {
    let connections = env_or("BETTING_LOAD_CONNECTIONS", 200);
    let secs = env_or("BETTING_LOAD_SECS", 10);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let shutdown = Shutdown::new();
        let (nodes, admin, token) = start(dir.path(), &shutdown).await;
        tokio::time::sleep(Duration::from_millis(1500)).await; // links come up
        let spec = json!({"type": "football", "home": "Lions", "away": "Tigers", "start_time": 4_102_444_800u64,
            "options": [{"name": "home", "odds": 2.5}, {"name": "away", "odds": 1.6}]});
        let m = admin_call(&admin, &token, "/gm/matches", &spec).await;
        let id = m["id"].as_u64().unwrap();
        admin_call(&admin, &token, &format!("/gm/matches/{id}/approve"), &Value::Null).await;
        admin_call(&admin, &token, &format!("/gm/matches/{id}/open"), &Value::Null).await;

        let url = format!("ws://127.0.0.1:{}", nodes.iter().find_map(|n| n.addresses().websocket).unwrap().port());
        let counters = Arc::new(Counters { ok: AtomicU64::new(0), refused: AtomicU64::new(0) });
        let stop = CancellationToken::new();
        let mut tasks = Vec::new();
        let (ready_tx, mut ready) = tokio::sync::mpsc::channel(connections as usize);
        for i in 0..connections {
            let name = format!("load{i}");
            let client = client(url.clone(), name, id, Arc::clone(&counters), stop.clone(), ready_tx.clone());
            tasks.push(tokio::spawn(client));
        }
        // Logins hash passwords (Argon2id, bounded concurrency): wait for all.
        for _ in 0..connections {
            ready.recv().await.unwrap();
        }
        // Everyone gets enough coins for the whole run.
        for i in 0..connections {
            let r = admin_call(&admin, &token, &format!("/gm/users/load{i}/credit"), &json!({"amount": 10_000_000})).await;
            assert!(r.get("balance").is_some(), "{r}");
        }
        tokio::time::sleep(WARMUP).await;
        let (ok0, started) = (counters.ok.load(Ordering::Relaxed), Instant::now());
        tokio::time::sleep(Duration::from_secs(secs)).await;
        let (ok1, took) = (counters.ok.load(Ordering::Relaxed), started.elapsed());
        stop.cancel();
        let mut latencies: Vec<u32> = Vec::new();
        for t in tasks {
            latencies.extend(t.await.unwrap());
        }
        latencies.sort_unstable();
        let pct = |p: f64| latencies.get(((latencies.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(0);
        let rate = (ok1 - ok0) as f64 / took.as_secs_f64();
        println!(
            "betting_load: {connections} connections × window {WINDOW}, {secs} s measured: {rate:.0} bets/s \
             (accepted {} total, refused {}), latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            counters.ok.load(Ordering::Relaxed),
            counters.refused.load(Ordering::Relaxed),
            f64::from(pct(0.50)) / 1000.0,
            f64::from(pct(0.99)) / 1000.0,
            f64::from(pct(1.0)) / 1000.0,
        );
        shutdown.finish(Duration::from_secs(10)).await;
        drop(nodes);
    });
}
