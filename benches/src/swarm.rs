//! A swarm of websocket clients in a child process: the load harness for
//! benchmarks that need more connections than one process may open (each
//! client also costs the proxy a socket in the benchmark's process).
//!
//! The child connects every member to the given proxies, sends each a
//! `join` frame and waits for the replies, then prints `SWARM ready`. For
//! each broadcast it prints `SWARM round <r> <nanos>`: the time from the
//! broadcast's timestamp (`ts`, Unix nanoseconds, in its JSON body) until
//! the last member had it. Both processes read the same system clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use espoir::ClientFrame;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{Semaphore, mpsc};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Environment variable that turns a benchmark binary into the swarm.
pub const SWARM_ENV: &str = "ESPOIR_BENCH_SWARM";

/// Members connecting at once.
const CONNECTING: usize = 200;

/// What the swarm does.
#[derive(Debug, Clone)]
pub struct SwarmSpec {
    /// Proxy websocket URLs; members are spread over them in turn.
    pub urls: Vec<String>,
    /// Members.
    pub members: usize,
    /// Command id and JSON body each member sends once to join.
    pub join: (i32, String),
    /// Command id of the broadcast frames.
    pub broadcast: i32,
}

impl SwarmSpec {
    /// The spec as the environment variable's value.
    pub fn encode(&self) -> String {
        format!("{}|{}|{}|{}|{}", self.urls.join(","), self.members, self.join.0, self.join.1, self.broadcast)
    }

    /// Parses [`SwarmSpec::encode`]'s output.
    pub fn decode(text: &str) -> Option<SwarmSpec> {
        let mut parts = text.split('|');
        Some(SwarmSpec {
            urls: parts.next()?.split(',').map(str::to_owned).collect(),
            members: parts.next()?.parse().ok()?,
            join: (parts.next()?.parse().ok()?, parts.next()?.to_owned()),
            broadcast: parts.next()?.parse().ok()?,
        })
    }
}

/// Unix time in nanoseconds (the broadcast timestamp's unit).
pub fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Runs the swarm until stdin closes (the parent ended).
pub async fn run(spec: SwarmSpec) {
    let joined = Arc::new(AtomicUsize::new(0));
    let received = Arc::new(AtomicUsize::new(0));
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(u64, Duration)>();
    let connecting = Arc::new(Semaphore::new(CONNECTING));
    for n in 0..spec.members {
        let url = spec.urls[n % spec.urls.len()].clone();
        let (spec, joined, received, done) =
            (spec.clone(), Arc::clone(&joined), Arc::clone(&received), done_tx.clone());
        let connecting = Arc::clone(&connecting);
        tokio::spawn(async move {
            let mut permit = Some(connecting.acquire_owned().await.expect("never closed"));
            let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
            let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url.as_str(), Some(config), true)
                .await
                .expect("member connects");
            let join =
                ClientFrame::new(spec.join.0, spec.join.1.clone()).encode(1 << 20).expect("small frame");
            ws.send(Message::Binary(join)).await.expect("join sent");
            while let Some(Ok(msg)) = ws.next().await {
                let Message::Binary(data) = msg else { continue };
                let Some(command) = data.get(4..8).and_then(|b| b.try_into().ok()).map(i32::from_le_bytes)
                else {
                    continue;
                };
                if command == spec.join.0 {
                    joined.fetch_add(1, Ordering::SeqCst);
                    drop(permit.take());
                } else if command == spec.broadcast {
                    let total = received.fetch_add(1, Ordering::SeqCst) + 1;
                    if total % spec.members == 0 {
                        // The last member of this round: measure against the
                        // timestamp the broadcaster put in the body.
                        let now = unix_nanos();
                        let body: serde_json::Value = serde_json::from_slice(&data[12..]).unwrap_or_default();
                        let sent = body["ts"].as_u64().unwrap_or(now);
                        let round = body["round"].as_u64().unwrap_or(0);
                        let _ = done.send((round, Duration::from_nanos(now.saturating_sub(sent))));
                    }
                }
            }
        });
    }
    while joined.load(Ordering::SeqCst) < spec.members {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!("\nSWARM ready");
    let stdin_closed = tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        while std::io::stdin().read_line(&mut sink).is_ok_and(|n| n > 0) {}
    });
    tokio::pin!(stdin_closed);
    loop {
        tokio::select! {
            _ = &mut stdin_closed => return,
            done = done_rx.recv() => match done {
                Some((round, latency)) => println!("\nSWARM round {round} {}", latency.as_nanos()),
                None => return,
            },
        }
    }
}

/// A client that sends a request and waits for its reply (the benchmark's
/// trigger).
#[derive(Debug)]
pub struct Trigger {
    ws: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
}

impl Trigger {
    /// Connects to a proxy.
    ///
    /// # Panics
    /// If the proxy does not accept the connection.
    pub async fn connect(url: &str) -> Trigger {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("trigger connects");
        Trigger { ws }
    }

    /// Sends `body` with `command` and waits for the reply frame.
    ///
    /// # Panics
    /// If the connection fails.
    pub async fn send(&mut self, command: i32, body: &serde_json::Value) {
        let frame = ClientFrame::new(command, body.to_string()).encode(1 << 20).expect("small frame");
        self.ws.send(Message::Binary(frame)).await.expect("request sent");
        while let Some(msg) = self.ws.next().await {
            if let Ok(Message::Binary(data)) = msg
                && data.get(4..8) == Some(&command.to_le_bytes()[..])
            {
                return;
            }
        }
        panic!("the trigger's connection closed");
    }
}
