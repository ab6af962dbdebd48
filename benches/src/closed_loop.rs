//! The closed loop: C clients, each sending one request and waiting for its
//! reply before sending the next. Throughput is then set by latency, which
//! is what a game's request/response traffic looks like.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use espoir::{ClientFrame, DEFAULT_MAX_CLIENT_FRAME};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{Instant, timeout};

use crate::client::{Client, ClientError, is_error_reply};
use crate::latency::{Latencies, Summary};

/// Connections opened at once while setting up; more would only make the
/// server's accept queue overflow and retry.
const CONNECT_CONCURRENCY: usize = 64;

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// `ws://host:port` or `wss://host:port` of a proxy (or anything
    /// speaking the framing).
    pub url: String,
    /// How `wss://` urls are dialed (the CA trusted).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Command id of every request.
    pub command: i32,
    /// Request body (JSON).
    pub body: Bytes,
    /// Number of clients, each with one request in flight.
    pub clients: usize,
    /// Time run but not measured, so connections and caches are warm.
    pub warmup: Duration,
    /// Measured time.
    pub duration: Duration,
    /// A request not answered within this counts as an error and ends
    /// its client.
    pub timeout: Duration,
}

/// What a run measured.
#[derive(Debug, Clone, Copy)]
pub struct LoadReport {
    /// Clients that ran.
    pub clients: usize,
    /// Round trips completed inside the measured window.
    pub round_trips: u64,
    /// Error replies, timeouts and broken connections in the window.
    pub errors: u64,
    /// Length of the measured window.
    pub elapsed: Duration,
    /// Latency of the measured round trips.
    pub latency: Summary,
}

impl LoadReport {
    /// Round trips per second.
    pub fn rate(&self) -> f64 {
        self.round_trips as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

#[derive(Default)]
struct Tally {
    latencies: Latencies,
    errors: u64,
}

/// Connects every client, runs the loop and merges what each measured.
pub async fn run_closed_loop(spec: &LoadSpec) -> Result<LoadReport, ClientError> {
    let clients = connect_all(&spec.url, spec.clients, spec.tls.as_ref()).await?;
    let (measure_from, until) = spec.window_from(Instant::now());
    drive(clients, spec, measure_from, until).await
}

impl LoadSpec {
    /// The measured window of a loop that starts at `start`: after the
    /// warm-up, for the duration.
    pub(crate) fn window_from(&self, start: Instant) -> (Instant, Instant) {
        let from = start + self.warmup;
        (from, from + self.duration)
    }
}

/// Runs the loop on connected `clients`, counting what falls between
/// `measure_from` and `until` (so a caller can measure the servers over
/// the same window).
pub(crate) async fn drive(
    clients: Vec<Client>,
    spec: &LoadSpec,
    measure_from: Instant,
    until: Instant,
) -> Result<LoadReport, ClientError> {
    let frame = ClientFrame::new(spec.command, spec.body.clone()).encode(DEFAULT_MAX_CLIENT_FRAME)?;

    let mut tasks = JoinSet::new();
    for client in clients {
        let (frame, command, limit) = (frame.clone(), spec.command, spec.timeout);
        tasks.spawn(one_client(client, frame, command, limit, measure_from, until));
    }
    let mut total = Tally::default();
    while let Some(done) = tasks.join_next().await {
        // A panicking client task is a harness bug; count it, keep the run.
        let tally = done.unwrap_or_else(|_| Tally { errors: 1, ..Tally::default() });
        total.latencies.merge(&tally.latencies);
        total.errors += tally.errors;
    }
    Ok(LoadReport {
        clients: spec.clients,
        round_trips: total.latencies.len(),
        errors: total.errors,
        elapsed: spec.duration,
        latency: total.latencies.summary(),
    })
}

async fn one_client(
    mut client: Client,
    frame: Bytes,
    command: i32,
    limit: Duration,
    measure_from: Instant,
    until: Instant,
) -> Tally {
    let mut tally = Tally::default();
    loop {
        let start = Instant::now();
        if start >= until {
            break;
        }
        let measured = start >= measure_from;
        match timeout(limit, client.request(frame.clone(), command)).await {
            Ok(Ok(reply)) => {
                let done = Instant::now();
                if measured && done <= until {
                    if is_error_reply(&reply.body) {
                        tally.errors += 1;
                    } else {
                        tally.latencies.record(done - start);
                    }
                }
            }
            // A broken or stuck connection ends this client: its state is
            // unknown, and reconnecting would measure something else.
            Ok(Err(_)) | Err(_) => {
                tally.errors += 1;
                return tally;
            }
        }
    }
    client.close().await;
    tally
}

/// Opens `n` connections, at most [`CONNECT_CONCURRENCY`] at a time.
pub(crate) async fn connect_all(
    url: &str,
    n: usize,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> Result<Vec<Client>, ClientError> {
    let gate = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let mut tasks = JoinSet::new();
    for _ in 0..n {
        let (gate, url, tls) = (Arc::clone(&gate), url.to_owned(), tls.cloned());
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await;
            Client::connect(&url, None, tls.as_ref()).await
        });
    }
    let mut clients = Vec::with_capacity(n);
    while let Some(done) = tasks.join_next().await {
        clients.push(done.map_err(|e| ClientError::Ws(std::io::Error::other(e.to_string()).into()))??);
    }
    Ok(clients)
}
