//! Idle connections: N clients that only heartbeat, to measure what one
//! connection costs the proxy in resident memory.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use espoir::{ClientFrame, DEFAULT_MAX_CLIENT_FRAME};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep, sleep_until, timeout};

use crate::client::{Client, ClientError};
use crate::procs::ProcSample;

/// Connections opened at once.
const CONNECT_CONCURRENCY: usize = 128;

/// What to hold.
#[derive(Debug, Clone)]
pub struct IdleSpec {
    /// `ws://host:port` or `wss://host:port` of the proxy.
    pub url: String,
    /// How `wss://` urls are dialed (the CA trusted).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Connections to open.
    pub connections: usize,
    /// Heartbeat command (answered by the proxy).
    pub heartbeat_command: i32,
    /// Each connection sends one heartbeat this often.
    pub heartbeat_every: Duration,
    /// How long every connection stays open once all are connected.
    pub hold: Duration,
    /// Loopback source addresses to spread connections over; 127.0.0.1
    /// alone when empty.
    pub sources: Vec<IpAddr>,
}

/// What holding them cost.
#[derive(Debug, Clone, Copy)]
pub struct IdleReport {
    /// Connections that were open at the end.
    pub held: usize,
    /// Connections that could not be opened or were dropped.
    pub failed: usize,
    /// Server resident memory before the first connection.
    pub rss_before: u64,
    /// Server resident memory with every connection open.
    pub rss_after: u64,
    /// Heartbeats sent.
    pub heartbeats_sent: u64,
    /// Heartbeats answered.
    pub heartbeats_answered: u64,
}

impl IdleReport {
    /// Server memory per held connection, bytes.
    pub fn per_connection(&self) -> u64 {
        self.rss_after.saturating_sub(self.rss_before) / self.held.max(1) as u64
    }
}

/// `count` loopback addresses 127.0.0.2, 127.0.0.3, … (all route to lo).
pub fn loopback_sources(count: u8) -> Vec<IpAddr> {
    (0..count).map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + i))).collect()
}

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    answered: AtomicU64,
}

/// Opens the connections, keeps them heartbeating for `spec.hold`, and
/// samples the server with `sample` before and while they are all open.
pub async fn run_idle(spec: &IdleSpec, sample: impl Fn() -> ProcSample) -> Result<IdleReport, ClientError> {
    let rss_before = sample().rss;
    let frame = ClientFrame::new(spec.heartbeat_command, Bytes::from_static(b"{}"))
        .encode(DEFAULT_MAX_CLIENT_FRAME)?;
    let counters = Arc::new(Counters::default());
    let gate = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let (connected_tx, mut connected_rx) = tokio::sync::mpsc::channel::<bool>(1024);
    // Set once every connection is open: when to stop heartbeating.
    let (until_tx, until_rx) = tokio::sync::watch::channel(None::<Instant>);

    let mut tasks = JoinSet::new();
    for i in 0..spec.connections {
        let source = (!spec.sources.is_empty()).then(|| spec.sources[i % spec.sources.len()]);
        let (gate, url, frame, tls) = (Arc::clone(&gate), spec.url.clone(), frame.clone(), spec.tls.clone());
        let (counters, connected, mut until_rx) =
            (Arc::clone(&counters), connected_tx.clone(), until_rx.clone());
        let every = spec.heartbeat_every;
        let command = spec.heartbeat_command;
        // Spread heartbeats over the period instead of sending in waves.
        let offset = every.mul_f64((i % 1000) as f64 / 1000.0);
        tasks.spawn(async move {
            let permit = gate.acquire_owned().await;
            let client = Client::connect(&url, source, tls.as_ref()).await;
            drop(permit);
            let _ = connected.send(client.is_ok()).await;
            drop(connected);
            let mut client = client.ok()?;
            let until = (*until_rx.wait_for(Option::is_some).await.ok()?)?;
            let mut next = Instant::now() + offset;
            loop {
                sleep_until(next).await;
                if Instant::now() >= until {
                    break;
                }
                counters.sent.fetch_add(1, Ordering::Relaxed);
                match timeout(Duration::from_secs(10), client.request(frame.clone(), command)).await {
                    Ok(Ok(_)) => counters.answered.fetch_add(1, Ordering::Relaxed),
                    _ => return None,
                };
                next += every;
            }
            Some(client)
        });
    }
    drop(connected_tx);
    let mut opened = 0usize;
    let mut failed = 0usize;
    for _ in 0..spec.connections {
        match connected_rx.recv().await {
            Some(true) => opened += 1,
            Some(false) => failed += 1,
            None => break,
        }
    }
    let _ = until_tx.send(Some(Instant::now() + spec.hold));
    // Wait for a full heartbeat round so every connection has done real
    // work (buffers touched) before memory is read.
    sleep(spec.heartbeat_every.min(spec.hold) + Duration::from_millis(500)).await;
    let rss_after = sample().rss;

    let mut held = 0usize;
    let mut clients = Vec::with_capacity(opened);
    while let Some(done) = tasks.join_next().await {
        if let Ok(Some(client)) = done {
            held += 1;
            clients.push(client);
        }
    }
    let dropped = opened - held;
    for client in clients {
        client.close().await;
    }
    Ok(IdleReport {
        held,
        failed: failed + dropped,
        rss_before,
        rss_after,
        heartbeats_sent: counters.sent.load(Ordering::Relaxed),
        heartbeats_answered: counters.answered.load(Ordering::Relaxed),
    })
}
