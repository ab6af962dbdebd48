//! Rooms on a service node (issue 21): R rooms ticking at 20 Hz, four
//! member clients each, every tick's state pushed to the room's group;
//! side by side with a baseline of R bare tokio intervals doing the same
//! state update, serialization and broadcast without rooms. What the
//! baseline leaves out is what the rooms cost: the room registry's lock,
//! each tick's timeouts and input queue, the tick loop.
//!
//! A route, a proxy and the service run in this process; the service on
//! its own runtime, one worker thread named [`SERVICE_THREAD`], so its CPU
//! time is read from that thread alone. The members are real websocket
//! clients through the proxy, on the caller's runtime.
//!
//! * `service`: the service's join command, the game (an arena of four
//!   players) and the two ways of driving it; each tick's lateness.
//! * `members`: the clients: join, then count the state frames.
//! * `report`: the figures of a run and the markdown table.

mod members;
mod report;
mod service;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use espoir::{Node, NodeConfig, RunningNode, Shutdown};
use tokio::net::TcpListener;

pub use report::{RoomsReport, markdown};
pub use service::Mode;

use members::Seen;
use service::{Host, MEMBERS};

/// The name of the service's thread (Linux keeps 15 bytes).
pub const SERVICE_THREAD: &str = "rooms-service";
const TOKEN: &str = "espoir-rooms-bench-token-0000001";
/// How long the members may take to connect and join.
const JOIN_TIMEOUT: Duration = Duration::from_secs(120);

/// One run's shape.
#[derive(Debug, Clone)]
pub struct RoomsSpec {
    /// Rooms, each with four members.
    pub rooms: usize,
    /// Rooms, or the baseline.
    pub mode: Mode,
    /// Unmeasured seconds once every member joined.
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
}

fn std_listener() -> Result<(std::net::TcpListener, u16), String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    l.set_nonblocking(true).map_err(|e| e.to_string())?;
    let port = l.local_addr().map_err(|e| e.to_string())?.port();
    Ok((l, port))
}

fn config(name: &str, role: &str, rpc: u16, ws: Option<u16>, remotes: &[(u16, &str)]) -> NodeConfig {
    // Thousands of members from one address, idle but for the pushes.
    let ws = ws
        .map(|p| {
            format!(
                r#""websocket": {{"port": {p}, "max_connections": 50000, "send_queue": 64, "timeout": 600,
                    "limits": {{"max_connections_per_ip": 100000, "write_timeout": 600}}}},"#
            )
        })
        .unwrap_or_default();
    let remotes: Vec<String> = remotes
        .iter()
        .map(|(port, t)| {
            format!(r#"{{"host": "127.0.0.1", "port": {port}, "token": "{TOKEN}", "type": "{t}"}}"#)
        })
        .collect();
    let route = r#", "route": {"range": {"service": [[5001, 100000]]}}"#;
    let text = format!(
        r#"{{"name": "{name}", "type": "{role}", "host": "127.0.0.1", "log_level": "warn", {ws}
            "rpc": {{"port": {rpc}, "token": "{TOKEN}", "reconnect_time": 0.05 {route}}},
            "remote_ports": [{}]}}"#,
        remotes.join(",")
    );
    NodeConfig::from_json5_str(&text, Path::new(name)).expect("a valid config")
}

/// A route, a proxy, and the service on its own runtime.
struct Cluster {
    route: RunningNode,
    proxy: RunningNode,
    service: RunningNode,
    host: Arc<Host>,
    shutdown: Shutdown,
    service_shutdown: Shutdown,
    service_runtime: tokio::runtime::Runtime,
}

impl Cluster {
    async fn start(mode: Mode, rooms: usize) -> Result<Cluster, String> {
        let (route_l, route_port) = std_listener()?;
        let (service_l, service_port) = std_listener()?;
        let (proxy_l, proxy_port) = std_listener()?;
        let (ws_l, ws_port) = std_listener()?;
        let shutdown = Shutdown::new();
        let from_std = |l| TcpListener::from_std(l).map_err(|e| e.to_string());
        let route_cfg =
            config("route", "route", route_port, None, &[(proxy_port, "proxy"), (service_port, "service")]);
        let route = Node::builder(route_cfg)
            .rpc_listener(from_std(route_l)?)
            .start(&shutdown)
            .await
            .map_err(|e| format!("route: {e}"))?;
        let service_runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(SERVICE_THREAD)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let host = Arc::new(Host::new(mode, rooms)?);
        let service_shutdown = Shutdown::new();
        let (state, hook, s) = (Arc::clone(&host), Arc::clone(&host), service_shutdown.clone());
        let service = service_runtime
            .spawn(async move {
                let cfg = config("service", "service", service_port, None, &[(route_port, "route")]);
                let stats = Arc::clone(state.rooms().lock().unwrap_or_else(|e| e.into_inner()).stats());
                Node::builder(cfg)
                    .events(service::room_events())
                    .room_stats(stats)
                    .state(state)
                    .on_start(move |ctx, shutdown| hook.started(ctx, shutdown))
                    .rpc_listener(TcpListener::from_std(service_l).map_err(|e| e.to_string())?)
                    .start(&s)
                    .await
                    .map_err(|e| format!("service: {e}"))
            })
            .await
            .map_err(|e| e.to_string())??;
        let proxy =
            Node::builder(config("proxy", "proxy", proxy_port, Some(ws_port), &[(route_port, "route")]))
                .rpc_listener(from_std(proxy_l)?)
                .websocket_listener(from_std(ws_l)?)
                .start(&shutdown)
                .await
                .map_err(|e| format!("proxy: {e}"))?;
        let linked = |n: &RunningNode, peer: &RunningNode| n.endpoint().link(peer.id()).is_some();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !(linked(&route, &proxy) && linked(&route, &service) && linked(&proxy, &route)) {
            if tokio::time::Instant::now() > deadline {
                return Err("the nodes did not link within 30 s".into());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(Cluster { route, proxy, service, host, shutdown, service_shutdown, service_runtime })
    }

    fn url(&self) -> Result<String, String> {
        let ws = self.proxy.addresses().websocket.ok_or("the proxy has no websocket")?;
        Ok(format!("ws://{ws}"))
    }

    async fn stop(self) {
        self.service_shutdown.trigger();
        self.service_shutdown.finish(Duration::from_secs(5)).await;
        self.shutdown.trigger();
        self.shutdown.finish(Duration::from_secs(5)).await;
        drop((self.route, self.proxy, self.service));
        self.service_runtime.shutdown_background();
    }
}

/// User plus system CPU time of this process's threads whose name starts
/// with `prefix`, or of the whole process for `None`.
fn cpu_time(prefix: Option<&str>) -> Duration {
    // Linux reports CPU time in USER_HZ ticks, 100 a second by its ABI.
    let ticks = |stat: &str| -> u64 {
        let rest = stat.rfind(')').map_or("", |i| &stat[i + 1..]);
        let f: Vec<&str> = rest.split_whitespace().collect();
        let field = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        field(11) + field(12)
    };
    let total = match prefix {
        None => ticks(&std::fs::read_to_string("/proc/self/stat").unwrap_or_default()),
        Some(prefix) => std::fs::read_dir("/proc/self/task")
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|n| n.starts_with(prefix)))
            .map(|t| ticks(&std::fs::read_to_string(t.path().join("stat")).unwrap_or_default()))
            .sum(),
    };
    Duration::from_millis(total * 10)
}

/// The counters at one edge of the measured window.
#[derive(Debug, Clone, Copy)]
struct Edge {
    at: tokio::time::Instant,
    service_cpu: Duration,
    process_cpu: Duration,
    ticks: u64,
    skipped: u64,
    push_errors: u64,
    frames: u64,
    bytes: u64,
    wrong_room: u64,
}

impl Edge {
    fn take(host: &Host, seen: &Seen) -> Edge {
        let p = &host.probe;
        Edge {
            at: tokio::time::Instant::now(),
            service_cpu: cpu_time(Some(SERVICE_THREAD)),
            process_cpu: cpu_time(None),
            // Frames before ticks: a frame counted has its tick counted.
            frames: seen.frames.load(Ordering::Relaxed),
            ticks: p.ticks.load(Ordering::Relaxed),
            skipped: p.skipped.load(Ordering::Relaxed),
            push_errors: p.push_errors.load(Ordering::Relaxed),
            bytes: seen.bytes.load(Ordering::Relaxed),
            wrong_room: seen.wrong_room.load(Ordering::Relaxed),
        }
    }
}

/// One run: the cluster, the members, the measured window, the report.
///
/// # Errors
/// When the nodes do not start or link, or the members do not all get to
/// join within two minutes.
pub async fn run_rooms(spec: &RoomsSpec) -> Result<RoomsReport, String> {
    if spec.rooms == 0 || spec.rooms > espoir::MAX_ROOMS_PER_NODE {
        return Err(format!("rooms: 1..={}", espoir::MAX_ROOMS_PER_NODE));
    }
    let cluster = Cluster::start(spec.mode, spec.rooms).await?;
    let seen = Arc::new(Seen::default());
    let members = members::start(&cluster.url()?, spec.rooms, &seen);
    let expected = (spec.rooms * MEMBERS) as u64;
    let deadline = tokio::time::Instant::now() + JOIN_TIMEOUT;
    while seen.joined.load(Ordering::Relaxed) + seen.failed.load(Ordering::Relaxed) < expected {
        if tokio::time::Instant::now() > deadline {
            return Err(format!(
                "{} of {expected} members joined in time",
                seen.joined.load(Ordering::Relaxed)
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Every room ticks before the window opens: each member had a state.
    let joined = seen.joined.load(Ordering::Relaxed);
    while seen.ready.load(Ordering::Relaxed) < joined {
        if tokio::time::Instant::now() > deadline {
            return Err(format!(
                "{} of {joined} members had a state in time",
                seen.ready.load(Ordering::Relaxed)
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(spec.warmup).await;
    cluster.host.probe.lateness.lock().unwrap_or_else(|e| e.into_inner()).reset();
    let start = Edge::take(&cluster.host, &seen);
    tokio::time::sleep(spec.duration).await;
    let end = Edge::take(&cluster.host, &seen);
    let lateness = cluster.host.probe.lateness.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let report = RoomsReport {
        spec: spec.clone(),
        seconds: (end.at - start.at).as_secs_f64(),
        joined: seen.joined.load(Ordering::Relaxed),
        ready: seen.ready.load(Ordering::Relaxed),
        ticks_total: end.ticks,
        frames_total: end.frames,
        failed_members: seen.failed.load(Ordering::Relaxed),
        first_error: seen.first_error.get().cloned(),
        loops: cluster.host.probe.loops.load(Ordering::Relaxed),
        loops_stopped: cluster.host.probe.loops_stopped.load(Ordering::Relaxed),
        service_cpu: end.service_cpu.saturating_sub(start.service_cpu),
        process_cpu: end.process_cpu.saturating_sub(start.process_cpu),
        ticks: end.ticks - start.ticks,
        skipped: end.skipped - start.skipped,
        push_errors: end.push_errors - start.push_errors,
        frames: end.frames - start.frames,
        bytes: end.bytes - start.bytes,
        wrong_room: end.wrong_room - start.wrong_room,
        late_p50_us: lateness.value_at_quantile(0.50),
        late_p99_us: lateness.value_at_quantile(0.99),
        late_max_us: lateness.max(),
    };
    drop(members);
    cluster.stop().await;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two rooms of each kind: every member joins and gets its room's
    /// state (the run waits for that), one loop runs per room, no frame
    /// reaches another room's member, none is duplicated, and nothing
    /// fails. Counts only, no rates.
    #[tokio::test]
    async fn members_get_their_own_room_s_state_in_both_modes() {
        for mode in [Mode::Rooms, Mode::Intervals] {
            let spec = RoomsSpec {
                rooms: 2,
                mode,
                warmup: Duration::from_millis(100),
                duration: Duration::from_millis(300),
            };
            let r = run_rooms(&spec).await.expect("the run completes");
            assert_eq!((r.joined, r.ready, r.failed_members), (8, 8, 0), "{mode:?}");
            assert_eq!((r.loops, r.loops_stopped), (2, 0), "{mode:?}");
            assert_eq!((r.push_errors, r.wrong_room), (0, 0), "{mode:?}");
            assert!(r.frames_total <= r.ticks_total * 4, "at most one frame a member a tick: {r:?}");
        }
    }
}
