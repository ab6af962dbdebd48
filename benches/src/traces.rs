//! Tracing's cost end to end (`espoir-load traces`): one cluster run with
//! `traces` off, then on at each sampling ratio, exporting over OTLP/HTTP
//! to a local sink, then off again, side by side in one run.
//!
//! The sink ([`OtlpSink`]) answers every export with `200` and counts the
//! batches and bytes: it proves spans went out, and it costs the servers
//! nothing a real collector would not (it runs in the generator).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::closed_loop::{LoadReport, LoadSpec, run_closed_loop};
use crate::procs::{ServerProcs, wait_serving};
use crate::report::{ms, thousands};

/// Largest request head the sink reads.
const MAX_HEAD: usize = 16 * 1024;
/// Largest export body it accepts.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// Markers of the traces section in `docs/benchmarks.md`.
const BEGIN: &str = "<!-- load-traces:begin -->";
const END: &str = "<!-- load-traces:end -->";

/// An OTLP/HTTP endpoint that accepts every export and counts it.
#[derive(Debug, Clone)]
pub struct OtlpSink {
    /// Where it listens.
    pub addr: SocketAddr,
    exports: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
}

impl OtlpSink {
    /// Listens on 127.0.0.1 (any port) and serves until the runtime stops.
    ///
    /// # Errors
    /// When it cannot listen.
    pub async fn start() -> std::io::Result<OtlpSink> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let sink = OtlpSink { addr: listener.local_addr()?, exports: Arc::default(), bytes: Arc::default() };
        let counts = sink.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(counts.clone().serve(stream));
            }
        });
        Ok(sink)
    }

    /// Waits until no export has arrived for a moment (bounded), so that
    /// a stopped cluster's last exports count for its variant.
    pub async fn settle(&self) {
        let mut last = self.counts();
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let now = self.counts();
            if now == last {
                return;
            }
            last = now;
        }
    }

    /// `(export requests, body bytes)` so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.exports.load(Ordering::Relaxed), self.bytes.load(Ordering::Relaxed))
    }

    /// One keep-alive connection: requests with a `Content-Length`, each
    /// answered `200` with an empty body (an empty export response).
    async fn serve(self, mut stream: TcpStream) {
        let mut buf = Vec::with_capacity(4096);
        loop {
            let Some(head_end) = read_head(&mut stream, &mut buf).await else { return };
            let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if length > MAX_BODY {
                return;
            }
            let body_start = head_end + 4;
            while buf.len() < body_start + length {
                let mut chunk = [0u8; 16 * 1024];
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            self.exports.fetch_add(1, Ordering::Relaxed);
            self.bytes.fetch_add(length as u64, Ordering::Relaxed);
            buf.drain(..body_start + length);
            let reply =
                b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
            if stream.write_all(reply).await.is_err() {
                return;
            }
        }
    }
}

/// Reads until `buf` holds a whole request head; the offset of its
/// `\r\n\r\n`, or `None` when the peer closes or sends too much.
async fn read_head(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<usize> {
    loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            return Some(at);
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// What `espoir-load traces` runs.
#[derive(Debug, Clone)]
pub struct TracesOptions {
    /// The `espoir` binary.
    pub espoir: PathBuf,
    /// The cluster's config folder (`configs/hello`).
    pub cluster: PathBuf,
    /// Where the configs' ports move to (their distinct ports, in order,
    /// become `port_base`, `port_base + 1`, …), so that runs do not collide
    /// with other clusters on the machine; `None` keeps them.
    pub port_base: Option<u16>,
    /// The proxy's websocket port in the configs (before the offset).
    pub ws_port: u16,
    /// The request.
    pub command: i32,
    /// Its body.
    pub body: Bytes,
    /// Clients.
    pub clients: usize,
    /// Warm-up per variant.
    pub warmup: Duration,
    /// Measured time per variant.
    pub duration: Duration,
    /// Sampling ratios to run with tracing on.
    pub ratios: Vec<f64>,
    /// Where the rewritten configs and logs go.
    pub workdir: PathBuf,
}

/// One variant's figures.
#[derive(Debug)]
pub struct TracesRow {
    /// `off`, or `on, ratio R`.
    pub label: String,
    /// The load.
    pub report: LoadReport,
    /// Server CPU, in cores.
    pub cpu_cores: f64,
    /// OTLP exports and bytes received during the variant.
    pub exported: (u64, u64),
}

/// Runs off, on at each ratio, and off again, one `espoir up` process per
/// variant.
///
/// # Errors
/// When a config cannot be read or written, or a variant cannot run.
pub async fn run_traces(opts: &TracesOptions) -> Result<Vec<TracesRow>, String> {
    let sink = OtlpSink::start().await.map_err(|e| format!("otlp sink: {e}"))?;
    let endpoint = format!("http://{}/v1/traces", sink.addr);
    let mut variants: Vec<(String, Option<f64>)> = vec![("off".into(), None)];
    variants.extend(opts.ratios.iter().map(|&r| (format!("on, sample_ratio {r}"), Some(r))));
    variants.push(("off (again)".into(), None));
    let ports = port_map(&opts.cluster, opts.port_base)?;
    let url = format!("ws://127.0.0.1:{}", ports.get(&opts.ws_port).copied().unwrap_or(opts.ws_port));
    let mut rows = Vec::new();
    for (i, (label, ratio)) in variants.into_iter().enumerate() {
        let dir = opts.workdir.join(format!("variant{i}"));
        let traces = ratio.map(|r| json!({ "sample_ratio": r, "otlp": { "endpoint": endpoint } }));
        rewrite_cluster(&opts.cluster, &dir, &ports, traces.as_ref())?;
        let mut cmd = Command::new(&opts.espoir);
        cmd.arg("up").arg(&dir);
        let procs = ServerProcs::spawn(cmd, &opts.workdir.join(format!("variant{i}.log")))
            .map_err(|e| format!("{label}: cannot start: {e}"))?;
        let measured = measure(opts, &url, &procs).await;
        // The exporter flushes what it holds when its node stops; `stop`
        // blocks this runtime, so the sink reads those exports after it.
        procs.stop(Duration::from_secs(10));
        sink.settle().await;
        let (report, cpu_cores) = measured.map_err(|e| format!("{label}: {e}"))?;
        let before = rows.iter().map(|r: &TracesRow| r.exported).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        let now = sink.counts();
        let exported = (now.0 - before.0, now.1 - before.1);
        eprintln!("{label}: {:.0} rt/s p99 {:?}, {} exports", report.rate(), report.latency.p99, exported.0);
        rows.push(TracesRow { label, report, cpu_cores, exported });
    }
    Ok(rows)
}

async fn measure(opts: &TracesOptions, url: &str, procs: &ServerProcs) -> Result<(LoadReport, f64), String> {
    wait_serving(url, None, opts.command, &opts.body, Duration::from_secs(30))
        .await
        .map_err(|e| e.to_string())?;
    let spec = LoadSpec {
        url: url.to_owned(),
        tls: None,
        command: opts.command,
        body: opts.body.clone(),
        clients: opts.clients,
        warmup: opts.warmup,
        duration: opts.duration,
        timeout: Duration::from_secs(10),
    };
    let before = procs.sample();
    let started = std::time::Instant::now();
    let report = run_closed_loop(&spec).await.map_err(|e| e.to_string())?;
    let cpu = procs.sample().cpu.saturating_sub(before.cpu).as_secs_f64() / started.elapsed().as_secs_f64();
    Ok((report, cpu))
}

/// The node configs of `dir`, by file name.
fn configs(dir: &Path) -> Result<Vec<(std::ffi::OsString, Value)>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json5") {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        out.push((
            entry.file_name(),
            serde_json5::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?,
        ));
    }
    Ok(out)
}

/// Each distinct port of the configs of `dir`, in order, to `base + i`.
fn port_map(dir: &Path, base: Option<u16>) -> Result<BTreeMap<u16, u16>, String> {
    let Some(base) = base else { return Ok(BTreeMap::new()) };
    let mut ports = BTreeSet::new();
    for (_, config) in configs(dir)? {
        collect_ports(&config, &mut ports);
    }
    ports.into_iter().zip(base..).map(|(from, to)| Ok((from, to))).collect()
}

fn collect_ports(value: &Value, out: &mut BTreeSet<u16>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match v.as_u64().and_then(|p| u16::try_from(p).ok()) {
                    Some(port) if key == "port" && port != 0 => {
                        out.insert(port);
                    }
                    _ => collect_ports(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_ports(v, out)),
        _ => {}
    }
}

/// Copies every node config of `from` into `to` as JSON, each `port`
/// moved as `ports` says, with `traces` set (or removed).
fn rewrite_cluster(
    from: &Path,
    to: &Path,
    ports: &BTreeMap<u16, u16>,
    traces: Option<&Value>,
) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    for (name, mut config) in configs(from)? {
        move_ports(&mut config, ports);
        if let Value::Object(map) = &mut config {
            map.remove("log_dir");
            match traces {
                Some(t) => map.insert("traces".into(), t.clone()),
                None => map.remove("traces"),
            };
        }
        let out = to.join(name);
        std::fs::write(&out, config.to_string()).map_err(|e| format!("{}: {e}", out.display()))?;
    }
    Ok(())
}

fn move_ports(value: &mut Value, ports: &BTreeMap<u16, u16>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                let moved = v.as_u64().and_then(|p| u16::try_from(p).ok()).and_then(|p| ports.get(&p));
                match moved {
                    Some(&to) if key == "port" => *v = json!(to),
                    _ => move_ports(v, ports),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| move_ports(v, ports)),
        _ => {}
    }
}

/// The markdown section: each variant, its ratio to the first `off` run.
pub fn traces_markdown(rows: &[TracesRow], command: &str, machine: &str) -> String {
    let base = rows.first().map_or(1.0, |r| r.report.rate().max(1e-9));
    let per_rt = |r: &TracesRow| r.cpu_cores / r.report.rate().max(1e-9) * 1e6;
    let base_cpu = rows.first().map_or(1.0, |r| per_rt(r).max(1e-9));
    let mut out = format!(
        "Command: `{command}`  \nMachine: {machine}, {date}\n\n\
         | tracing | C | round trips/s | vs off | p50 | p99 | errors | server CPU (cores) | server CPU per round trip | vs off | OTLP exports (bytes) |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        date = crate::report::today()
    );
    for r in rows {
        let l = r.report.latency;
        out.push_str(&format!(
            "| {} | {} | {} | {:.2}× | {} | {} | {} | {:.2} | {:.1} µs | {:.2}× | {} ({}) |\n",
            r.label,
            r.report.clients,
            thousands(r.report.rate()),
            r.report.rate() / base,
            ms(l.p50),
            ms(l.p99),
            r.report.errors,
            r.cpu_cores,
            per_rt(r),
            per_rt(r) / base_cpu,
            r.exported.0,
            thousands(r.exported.1 as f64)
        ));
    }
    out
}

/// Writes `section` between the traces markers of the file at `path`.
///
/// # Errors
/// When the file cannot be read or written.
pub fn write_traces_section(path: &Path, section: &str) -> std::io::Result<()> {
    crate::report::write_between(path, BEGIN, END, section)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_move_to_consecutive_ones_and_zero_ports_stay() {
        let mut v = json!({"rpc": {"port": 20002}, "http": {"port": 0},
            "remote_ports": [{"port": 21002}], "websocket": {"port": 20000, "timeout": 300}});
        let mut found = BTreeSet::new();
        collect_ports(&v, &mut found);
        assert_eq!(found.iter().copied().collect::<Vec<_>>(), [20000, 20002, 21002]);
        let map: BTreeMap<u16, u16> = found.into_iter().zip(41000..).collect();
        move_ports(&mut v, &map);
        assert_eq!(v["rpc"]["port"], 41001);
        assert_eq!(v["http"]["port"], 0);
        assert_eq!(v["remote_ports"][0]["port"], 41002);
        assert_eq!(v["websocket"], json!({"port": 41000, "timeout": 300}));
    }

    #[tokio::test]
    async fn the_sink_answers_and_counts_keep_alive_exports() {
        let sink = OtlpSink::start().await.unwrap();
        let mut s = TcpStream::connect(sink.addr).await.unwrap();
        for body in [&b"abc"[..], &b"defgh"[..]] {
            let head =
                format!("POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", body.len());
            s.write_all(head.as_bytes()).await.unwrap();
            s.write_all(body).await.unwrap();
            let mut reply = [0u8; 128];
            let n = s.read(&mut reply).await.unwrap();
            assert!(reply[..n].starts_with(b"HTTP/1.1 200 OK"));
        }
        assert_eq!(sink.counts(), (2, 8));
    }
}
