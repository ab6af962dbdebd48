//! The subscribers of the topics benchmark, in a child process (10 000
//! client sockets next to the proxies' 10 000 would pass common descriptor
//! limits in one process).
//!
//! Every member connects to one of the proxies in turn and subscribes to
//! the topic. Fast members read as fast as they can; slow ones read one
//! frame, then wait `slow_pause`, with a 4 KiB receive buffer so that the
//! proxy feels it soon. For each message (`seq`, publication time `ts` in
//! Unix nanoseconds in its body) the swarm keeps how many fast members had
//! it and when the last of them did. When stdin has a line, it prints one
//! `TOPICS` report line and exits.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use espoir::ClientFrame;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpSocket;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::swarm::unix_nanos;

/// Environment variable that turns `espoir-load` into the topics swarm.
pub const TOPICS_SWARM_ENV: &str = "ESPOIR_LOAD_TOPICS_SWARM";

const SUBSCRIBE: i32 = 10_004;
/// Members connecting at once.
const CONNECTING: usize = 200;

/// What the swarm does.
#[derive(Debug, Clone, PartialEq)]
pub struct SwarmSpec {
    /// Proxy websocket URLs (`ws://ip:port`); members go to each in turn.
    pub urls: Vec<String>,
    /// Subscribers.
    pub members: usize,
    /// Members that read slowly: every `members / slow`-th member, so
    /// both proxies get their share.
    pub slow: usize,
    /// How long a slow member waits after each frame.
    pub slow_pause: Duration,
    /// The topic every member subscribes to.
    pub topic: String,
    /// The command of its messages.
    pub tick: i32,
    /// Highest `seq` the publisher will use.
    pub max_seq: usize,
}

impl SwarmSpec {
    /// The spec as the environment variable's value.
    pub fn encode(&self) -> String {
        let pause = self.slow_pause.as_millis();
        let (members, slow, tick, max) = (self.members, self.slow, self.tick, self.max_seq);
        format!("{}|{members}|{slow}|{pause}|{}|{tick}|{max}", self.urls.join(","), self.topic)
    }

    /// Parses [`SwarmSpec::encode`]'s output.
    pub fn decode(text: &str) -> Option<SwarmSpec> {
        let p: Vec<&str> = text.split('|').collect();
        let [urls, members, slow, pause, topic, tick, max] = p.as_slice() else { return None };
        Some(SwarmSpec {
            urls: urls.split(',').map(str::to_owned).collect(),
            members: members.parse().ok()?,
            slow: slow.parse().ok()?,
            slow_pause: Duration::from_millis(pause.parse().ok()?),
            topic: (*topic).to_owned(),
            tick: tick.parse().ok()?,
            max_seq: max.parse().ok()?,
        })
    }

    fn is_slow(&self, n: usize) -> bool {
        let every = (self.members / self.slow.max(1)).max(1);
        self.slow > 0 && n.is_multiple_of(every) && n / every < self.slow
    }
}

/// Per message: fast members that had it, and when the last one did.
struct Seen {
    count: Vec<AtomicU32>,
    last: Vec<AtomicU64>,
    sent: Vec<AtomicU64>,
    slow_frames: AtomicU64,
    subscribed: AtomicU32,
}

/// Runs the swarm until a line arrives on stdin, then prints its report.
pub async fn run(spec: SwarmSpec) {
    let n = spec.max_seq + 1;
    let seen = Arc::new(Seen {
        count: (0..n).map(|_| AtomicU32::new(0)).collect(),
        last: (0..n).map(|_| AtomicU64::new(0)).collect(),
        sent: (0..n).map(|_| AtomicU64::new(0)).collect(),
        slow_frames: AtomicU64::new(0),
        subscribed: AtomicU32::new(0),
    });
    let connecting = Arc::new(Semaphore::new(CONNECTING));
    let fast = (0..spec.members).filter(|m| !spec.is_slow(*m)).count();
    for member in 0..spec.members {
        let (spec, seen, connecting) = (spec.clone(), Arc::clone(&seen), Arc::clone(&connecting));
        tokio::spawn(async move {
            let permit = connecting.acquire_owned().await.expect("never closed");
            let slow = spec.is_slow(member);
            let url = &spec.urls[member % spec.urls.len()];
            let addr: std::net::SocketAddr = url.trim_start_matches("ws://").parse().expect("ws://ip:port");
            let socket = TcpSocket::new_v4().expect("a socket");
            if slow {
                let _ = socket.set_recv_buffer_size(4096);
            }
            let stream = socket.connect(addr).await.expect("member connects");
            let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
            let (mut ws, _) = tokio_tungstenite::client_async_with_config(url.as_str(), stream, Some(config))
                .await
                .expect("websocket handshake");
            let body = format!(r#"{{"topic":"{}"}}"#, spec.topic);
            let frame = ClientFrame::new(SUBSCRIBE, body).encode(1 << 20).expect("small frame");
            ws.send(Message::Binary(frame)).await.expect("subscribe sent");
            let mut permit = Some(permit);
            while let Some(Ok(msg)) = ws.next().await {
                let Message::Binary(data) = msg else { continue };
                let command = data.get(4..8).and_then(|b| b.try_into().ok()).map(i32::from_le_bytes);
                if command == Some(SUBSCRIBE) {
                    seen.subscribed.fetch_add(1, Ordering::SeqCst);
                    drop(permit.take());
                    continue;
                }
                if command != Some(spec.tick) {
                    continue;
                }
                if slow {
                    seen.slow_frames.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(spec.slow_pause).await;
                    continue;
                }
                let now = unix_nanos();
                let body: serde_json::Value = serde_json::from_slice(&data[12..]).unwrap_or_default();
                let (Some(seq), Some(ts)) = (body["seq"].as_u64(), body["ts"].as_u64()) else { continue };
                let Ok(i) = usize::try_from(seq) else { continue };
                if i < seen.count.len() {
                    seen.sent[i].store(ts, Ordering::Relaxed);
                    seen.last[i].fetch_max(now, Ordering::Relaxed);
                    seen.count[i].fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while (seen.subscribed.load(Ordering::SeqCst) as usize) < spec.members {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!("\nTOPICS ready");
    let _ = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
    })
    .await;
    // Latency of each message to its last fast member, in microseconds;
    // messages some fast member never had are counted apart.
    let mut complete = Vec::new();
    let mut missed = 0;
    for i in 1..n {
        let count = seen.count[i].load(Ordering::Relaxed) as usize;
        if count == 0 {
            continue;
        }
        if count < fast {
            missed += 1;
            continue;
        }
        let (sent, last) = (seen.sent[i].load(Ordering::Relaxed), seen.last[i].load(Ordering::Relaxed));
        complete.push(last.saturating_sub(sent) / 1000);
    }
    let slow_frames = seen.slow_frames.load(Ordering::Relaxed);
    let list: Vec<String> = complete.iter().map(u64::to_string).collect();
    println!("\nTOPICS done {fast} {missed} {slow_frames} {}", list.join(","));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_round_trips_and_slow_members_are_spread_evenly() {
        let spec = SwarmSpec {
            urls: vec!["ws://127.0.0.1:1".into(), "ws://127.0.0.1:2".into()],
            members: 100,
            slow: 10,
            slow_pause: Duration::from_millis(100),
            topic: "bench.ticks".into(),
            tick: 7,
            max_seq: 2016,
        };
        assert_eq!(SwarmSpec::decode(&spec.encode()), Some(spec.clone()));
        let slow: Vec<usize> = (0..100).filter(|m| spec.is_slow(*m)).collect();
        assert_eq!(slow, [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
        assert!(!SwarmSpec { slow: 0, ..spec }.is_slow(0));
    }
}
