//! Topics under load: N subscribers over two proxies, one producer
//! publishing M messages a second, the time from publication until the
//! last subscriber had each message; then the same with a share of slow
//! subscribers (conflated), for the fast ones' latency and the proxies'
//! memory. The cluster runs in this process; the subscribers in a child
//! (`swarm`).
//!
//! * `swarm`: the child process: subscribers, fast and slow.
//! * this file: the cluster, the publisher, and the report.

mod swarm;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use espoir::{Node, NodeConfig, RunningNode, Shutdown, TopicMessage, TopicStats};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

pub use swarm::{SwarmSpec, TOPICS_SWARM_ENV, run as run_swarm};

use crate::swarm::unix_nanos;

const TOKEN: &str = "espoir-topics-bench-token-000001";
const TOPIC: &str = "bench.ticks";
const TICK: i32 = 62_001;
/// Conflation keys the messages cycle through (as symbols would).
const KEYS: u64 = 10;

/// One run's shape.
#[derive(Debug, Clone)]
pub struct TopicsSpec {
    /// Subscribers, spread over the two proxies.
    pub subscribers: usize,
    /// Share of slow subscribers, in percent.
    pub slow_percent: usize,
    /// Messages published per second.
    pub rate: f64,
    /// How long the producer publishes.
    pub duration: Duration,
    /// Padding bytes in each message body.
    pub pad: usize,
    /// How long a slow subscriber waits after each frame it reads.
    pub slow_pause: Duration,
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct TopicsReport {
    /// The run's shape.
    pub spec: TopicsSpec,
    /// Messages published.
    pub published: u64,
    /// Milliseconds from publication to the last fast subscriber: p50,
    /// p99, max, over the messages every fast subscriber had.
    pub p50_ms: f64,
    /// See `p50_ms`.
    pub p99_ms: f64,
    /// See `p50_ms`.
    pub max_ms: f64,
    /// Messages some fast subscriber never had.
    pub fast_missed: u64,
    /// Fast subscribers.
    pub fast: usize,
    /// Frames the slow subscribers read, all together.
    pub slow_frames: u64,
    /// Messages the proxies conflated.
    pub conflated: u64,
    /// This process's RSS (the cluster's) once subscribed, and the most
    /// seen while publishing, in MiB.
    pub rss_before_mib: f64,
    /// See `rss_before_mib`.
    pub rss_peak_mib: f64,
    /// Most conflated entries and bytes waiting at once, over both proxies.
    pub pending_peak: (usize, usize),
}

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1_048_576.0
}

async fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = l.local_addr().expect("bound").port();
    (l, port)
}

fn config(text: &str, name: &str) -> NodeConfig {
    NodeConfig::from_json5_str(text, Path::new(name)).expect("valid config")
}

struct Cluster {
    proxies: Vec<RunningNode>,
    producer: RunningNode,
    shutdown: Shutdown,
}

impl Cluster {
    /// Two proxies and a producer (a service) linked to both: a publish
    /// is one message to each proxy. A push queue of 16 frames per client,
    /// so that a slow subscriber is conflated after a short run.
    async fn start() -> Cluster {
        let shutdown = Shutdown::new();
        let mut proxies = Vec::new();
        let mut proxy_ports = Vec::new();
        for i in 0..2 {
            let ((rpc_l, rpc), (ws_l, ws)) = (listener().await, listener().await);
            let text = format!(
                r#"{{"name": "proxy{i}", "type": "proxy", "host": "127.0.0.1",
                "websocket": {{"port": {ws}, "max_connections": 50000, "send_queue": 16, "timeout": 600,
                    "limits": {{"max_connections_per_ip": 100000, "write_timeout": 600}}}},
                "topics": {{"max_pending_keys": 64, "policies": [{{"prefix": "bench.", "conflate": true}}]}},
                "rpc": {{"port": {rpc}, "token": "{TOKEN}", "reconnect_time": 0.05}}}}"#
            );
            let node = Node::builder(config(&text, "proxy"))
                .rpc_listener(rpc_l)
                .websocket_listener(ws_l)
                .start(&shutdown)
                .await
                .expect("proxy starts");
            proxies.push(node);
            proxy_ports.push(rpc);
        }
        let (rpc_l, rpc) = listener().await;
        let remotes: Vec<String> = proxy_ports
            .iter()
            .map(|p| format!(r#"{{"host": "127.0.0.1", "port": {p}, "token": "{TOKEN}", "type": "proxy"}}"#))
            .collect();
        let text = format!(
            r#"{{"name": "producer", "type": "service", "host": "127.0.0.1",
            "rpc": {{"port": {rpc}, "token": "{TOKEN}", "reconnect_time": 0.05}},
            "remote_ports": [{}]}}"#,
            remotes.join(",")
        );
        let producer = Node::builder(config(&text, "producer"))
            .rpc_listener(rpc_l)
            .start(&shutdown)
            .await
            .expect("starts");
        while !proxies.iter().all(|p| producer.endpoint().link(p.id()).is_some()) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Cluster { proxies, producer, shutdown }
    }

    fn urls(&self) -> Vec<String> {
        self.proxies.iter().map(|p| format!("ws://{}", p.addresses().websocket.expect("a proxy"))).collect()
    }

    fn pending(&self) -> (usize, usize) {
        self.proxies
            .iter()
            .map(RunningNode::topic_gauges)
            .fold((0, 0), |(n, b), g| (n + g.pending_entries, b + g.pending_bytes))
    }
}

/// One run: cluster, swarm, publishing, report.
///
/// # Errors
/// When the swarm cannot start or its report is unreadable.
pub async fn run_topics(spec: &TopicsSpec) -> Result<TopicsReport, String> {
    let cluster = Cluster::start().await;
    let max_seq = (spec.rate * spec.duration.as_secs_f64()).ceil() as usize + 16;
    let swarm = SwarmSpec {
        urls: cluster.urls(),
        members: spec.subscribers,
        slow: spec.subscribers * spec.slow_percent / 100,
        slow_pause: spec.slow_pause,
        topic: TOPIC.to_owned(),
        tick: TICK,
        max_seq,
    };
    let mut child = tokio::process::Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
        .env(TOPICS_SWARM_ENV, swarm.encode())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("the swarm does not start: {e}"))?;
    let mut lines = BufReader::new(child.stdout.take().ok_or("no swarm stdout")?).lines();
    let mut report = async || -> Result<String, String> {
        loop {
            let line = lines.next_line().await.map_err(|e| e.to_string())?.ok_or("the swarm ended")?;
            if let Some(rest) = line.strip_prefix("TOPICS ") {
                return Ok(rest.to_owned());
            }
        }
    };
    if report().await? != "ready" {
        return Err("the swarm did not get ready".into());
    }
    let rss_before = rss_bytes();
    let (mut rss_peak, mut pending_peak) = (rss_before, (0, 0));
    let pad = "x".repeat(spec.pad);
    let mut interval = tokio::time::interval(Duration::from_secs_f64(1.0 / spec.rate));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut published = 0u64;
    while (published as usize) < max_seq - 16 {
        interval.tick().await;
        published += 1;
        let body = format!(r#"{{"seq":{published},"ts":{},"pad":"{pad}"}}"#, unix_nanos());
        let message = TopicMessage::new(TOPIC, TICK, body).with_key(format!("k{}", published % KEYS));
        cluster.producer.publish(message).map_err(|e| e.to_string())?;
        if published.is_multiple_of(10) {
            rss_peak = rss_peak.max(rss_bytes());
            let p = cluster.pending();
            pending_peak = (pending_peak.0.max(p.0), pending_peak.1.max(p.1));
        }
    }
    // Let the last messages arrive.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stdin = child.stdin.as_mut().ok_or("no swarm stdin")?;
    stdin.write_all(b"done\n").await.map_err(|e| e.to_string())?;
    stdin.flush().await.map_err(|e| e.to_string())?;
    let done = report().await?;
    let mut parts = done.split(' ');
    let (_, fast, missed, slow_frames) = (parts.next(), parts.next(), parts.next(), parts.next());
    let parse = |s: Option<&str>| s.and_then(|s| s.parse::<u64>().ok()).ok_or(format!("bad report: {done}"));
    let (fast, fast_missed, slow_frames) = (parse(fast)?, parse(missed)?, parse(slow_frames)?);
    let mut micros: Vec<u64> =
        parts.next().unwrap_or_default().split(',').filter_map(|s| s.parse().ok()).collect();
    micros.sort_unstable();
    let pct = |p: f64| {
        micros
            .get(((micros.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .map_or(0.0, |m| *m as f64 / 1000.0)
    };
    let conflated = cluster.proxies.iter().map(|p| TopicStats::get(&p.topic_stats().conflated)).sum();
    drop(child);
    cluster.shutdown.trigger();
    cluster.shutdown.finish(Duration::from_secs(5)).await;
    Ok(TopicsReport {
        spec: spec.clone(),
        published,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: pct(1.0),
        fast_missed,
        fast: usize::try_from(fast).unwrap_or(0),
        slow_frames,
        conflated,
        rss_before_mib: mib(rss_before),
        rss_peak_mib: mib(rss_peak),
        pending_peak,
    })
}

/// The runs side by side, as a markdown table.
pub fn markdown(reports: &[TopicsReport]) -> String {
    let mut out = String::from(
        "| subscribers | slow | msgs/s | published | p50 ms | p99 ms | max ms | fast missed | conflated | slow frames read | cluster RSS MiB (subscribed → peak) | conflation map peak |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in reports {
        let s = &r.spec;
        out.push_str(&format!(
            "| {} | {} ({}%) | {} | {} | {:.1} | {:.1} | {:.1} | {} | {} | {} | {:.0} → {:.0} | {} entries, {} KiB |\n",
            s.subscribers,
            s.subscribers * s.slow_percent / 100,
            s.slow_percent,
            s.rate,
            r.published,
            r.p50_ms,
            r.p99_ms,
            r.max_ms,
            r.fast_missed,
            r.conflated,
            r.slow_frames,
            r.rss_before_mib,
            r.rss_peak_mib,
            r.pending_peak.0,
            r.pending_peak.1 / 1024,
        ));
    }
    out
}
