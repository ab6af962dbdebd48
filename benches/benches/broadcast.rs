//! Broadcast of one message to 10 000 connected websocket clients, half on
//! each of two proxies, behind one route and one service: the time from the
//! service's `ctx.broadcast` until the last client has the frame.
//!
//! The clients run in a child process (this binary again, with
//! [`SWARM_ENV`] set): 10 000 client sockets plus the proxies' 10 000 would
//! pass common descriptor limits in one process. The latency is measured
//! against a timestamp the service puts in the broadcast body; both
//! processes read the same clock.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use criterion::Criterion;
use espoir::{
    Context, EventTable, Member, Node, NodeConfig, RunningNode, Shutdown, Status, events, register_event,
};
use espoir_benches::swarm::{self, SWARM_ENV, SwarmSpec, unix_nanos};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::net::TcpListener;
use tokio::process::{Child, ChildStdout};
use tokio::runtime::Runtime;

const TOKEN: &str = "helloworldiloveyou~1234567890123";
const MEMBERS: usize = 10_000;
const GROUP: &str = "bench";
const JOIN: i32 = 21_005;
const BROADCAST: i32 = 21_006;
const BROADCASTED: i32 = 52_000;

#[register_event(21005)]
async fn join(ctx: Context) -> Result<Value, Status> {
    let session = ctx.require_session()?.clone();
    ctx.join_group(GROUP, Member::Session(session)).await?;
    Ok(json!({}))
}

#[register_event(21006)]
async fn broadcast(ctx: Context, req: Value) -> Result<Value, Status> {
    ctx.broadcast(GROUP, BROADCASTED, &json!({ "round": req["round"], "ts": unix_nanos() }))?;
    Ok(json!({}))
}

struct Cluster {
    proxies: Vec<RunningNode>,
    _others: Vec<RunningNode>,
    _shutdown: Shutdown,
}

async fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = l.local_addr().expect("bound").port();
    (l, port)
}

fn config(
    name: &str,
    role: &str,
    rpc: u16,
    ws: Option<u16>,
    remotes: &[(u16, &str)],
    route: &str,
) -> NodeConfig {
    let ws = ws.map(|p| format!(r#""websocket": {{"port": {p}, "send_queue": 64}},"#)).unwrap_or_default();
    let remotes: Vec<String> = remotes
        .iter()
        .map(|(port, t)| {
            format!(r#"{{"host": "127.0.0.1", "port": {port}, "token": "{TOKEN}", "type": "{t}"}}"#)
        })
        .collect();
    let text = format!(
        r#"{{"name": "{name}", "type": "{role}", "host": "127.0.0.1", {ws}
            "rpc": {{"port": {rpc}, "token": "{TOKEN}", "reconnect_time": 0.05 {route}}},
            "remote_ports": [{}]}}"#,
        remotes.join(",")
    );
    NodeConfig::from_json5_str(&text, Path::new(name)).expect("valid config")
}

async fn start(
    cfg: NodeConfig,
    rpc: TcpListener,
    ws: Option<TcpListener>,
    events: EventTable,
    s: &Shutdown,
) -> RunningNode {
    let mut builder = Node::builder(cfg).events(events).rpc_listener(rpc);
    if let Some(ws) = ws {
        builder = builder.websocket_listener(ws);
    }
    builder.start(s).await.expect("node starts")
}

impl Cluster {
    async fn start() -> Cluster {
        let shutdown = Shutdown::new();
        let (route_l, route) = listener().await;
        let (service_l, service) = listener().await;
        let (p0_l, p0) = listener().await;
        let (p1_l, p1) = listener().await;
        let rules = r#", "route": {"range": {"service": [[5001, 100000]]}}"#;
        let route_node = start(
            config(
                "route",
                "route",
                route,
                None,
                &[(p0, "proxy"), (p1, "proxy"), (service, "service")],
                rules,
            ),
            route_l,
            None,
            EventTable::new(),
            &shutdown,
        )
        .await;
        let service_node = start(
            config("service", "service", service, None, &[(route, "route")], rules),
            service_l,
            None,
            events![join, broadcast],
            &shutdown,
        )
        .await;
        let mut proxies = Vec::new();
        for (name, l, port) in [("proxy0", p0_l, p0), ("proxy1", p1_l, p1)] {
            let (ws_l, ws) = listener().await;
            let cfg = config(name, "proxy", port, Some(ws), &[(route, "route")], "");
            proxies.push(start(cfg, l, Some(ws_l), EventTable::new(), &shutdown).await);
        }
        let linked = |n: &RunningNode, peer: &RunningNode| n.endpoint().link(peer.id()).is_some();
        while !(proxies.iter().all(|p| linked(&route_node, p)) && linked(&route_node, &service_node)) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Cluster { proxies, _others: vec![route_node, service_node], _shutdown: shutdown }
    }

    fn url(&self, i: usize) -> String {
        format!("ws://{}", self.proxies[i].addresses().websocket.expect("a proxy"))
    }
}

/// The swarm child and its report lines.
struct Swarm {
    _child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Swarm {
    async fn start(cluster: &Cluster) -> Swarm {
        let spec = SwarmSpec {
            urls: vec![cluster.url(0), cluster.url(1)],
            members: MEMBERS,
            join: (JOIN, "{}".to_owned()),
            broadcast: BROADCASTED,
        };
        let mut child = tokio::process::Command::new(std::env::current_exe().expect("own path"))
            .env(SWARM_ENV, spec.encode())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("swarm starts");
        let lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        let mut swarm = Swarm { _child: child, lines };
        assert_eq!(swarm.report().await, "ready");
        swarm
    }

    async fn report(&mut self) -> String {
        loop {
            let line = self.lines.next_line().await.expect("readable").expect("the swarm is alive");
            if let Some(report) = line.strip_prefix("SWARM ") {
                return report.to_owned();
            }
        }
    }
}

/// One broadcast per iteration; the sum of the times to the last client.
async fn rounds(
    trigger: &mut espoir_benches::swarm::Trigger,
    swarm: &mut Swarm,
    iters: u64,
    next: &mut u64,
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        *next += 1;
        trigger.send(BROADCAST, &json!({ "round": *next })).await;
        let report = swarm.report().await;
        let nanos: u64 = report.rsplit(' ').next().and_then(|n| n.parse().ok()).expect("round report");
        total += Duration::from_nanos(nanos);
    }
    total
}

fn main() {
    let runtime = || {
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
    };
    if let Some(spec) = std::env::var(SWARM_ENV).ok().and_then(|s| SwarmSpec::decode(&s)) {
        runtime().block_on(swarm::run(spec));
        return;
    }
    let rt: Runtime = runtime();
    let cluster = rt.block_on(Cluster::start());
    let mut swarm = rt.block_on(Swarm::start(&cluster));
    let mut trigger = rt.block_on(espoir_benches::swarm::Trigger::connect(&cluster.url(0)));
    let mut next = 0;
    let mut c =
        Criterion::default().sample_size(10).measurement_time(Duration::from_secs(10)).configure_from_args();
    c.bench_function("broadcast/10000_clients_2_proxies", |b| {
        b.iter_custom(|iters| rt.block_on(rounds(&mut trigger, &mut swarm, iters, &mut next)));
    });
    c.final_summary();
}
