//! `espoir up` logs each node at its own level, to its own files, every
//! line naming its node; JSON lines parse; nothing queued is lost when the
//! process stops.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use espoir_testkit::free_ports;

struct Cluster(Child);

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http(port: u16, request: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// Polls `f` until it holds; generous, it only runs out when broken.
fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The one file of `dir` whose name starts with `prefix`.
fn only_file(dir: &Path, prefix: &str) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files.into_iter().next().unwrap()
}

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

#[test]
fn up_logs_each_node_at_its_level_to_its_own_files_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (configs, proxy_logs, service_logs) =
        (tmp.path().join("configs"), tmp.path().join("proxy-logs"), tmp.path().join("service-logs"));
    std::fs::create_dir_all(&configs).unwrap();
    let p = free_ports(5);
    let (proxy_ws, proxy_rpc, proxy_http, service_rpc, service_http) = (p[0], p[1], p[2], p[3], p[4]);
    // The proxy: debug, JSON, one file. The service: warn, text, daily files.
    std::fs::write(
        configs.join("proxy.json5"),
        format!(
            r#"{{ name: "proxy_a", type: "proxy", host: "127.0.0.1", log_level: "debug",
                 log_dir: {proxy_logs:?}, logs: {{ format: "json", rotation: "never" }},
                 websocket: {{ port: {proxy_ws} }},
                 http: {{ port: {proxy_http}, token: "{TOKEN}" }},
                 rpc: {{ port: {proxy_rpc}, token: "{TOKEN}", encode: 0 }},
                 remote_ports: [{{ host: "127.0.0.1", port: {service_rpc}, token: "{TOKEN}", encode: 0, type: "service" }}] }}"#
        ),
    )
    .unwrap();
    std::fs::write(
        configs.join("service.json5"),
        format!(
            r#"{{ name: "service_b", type: "service", host: "127.0.0.1", log_level: "warn",
                 log_dir: {service_logs:?}, logs: {{ rotation: "daily", max_files: 3 }},
                 api_path: ["hello.service"],
                 http: {{ port: {service_http}, token: "{TOKEN}" }},
                 rpc: {{ port: {service_rpc}, token: "{TOKEN}", encode: 0 }} }}"#
        ),
    )
    .unwrap();
    let stderr_file = tmp.path().join("stderr.txt");
    let child = Command::new(env!("CARGO_BIN_EXE_espoir"))
        .arg("up")
        .arg(&configs)
        .env_remove("RUST_LOG")
        .stderr(Stdio::from(std::fs::File::create(&stderr_file).unwrap()))
        .spawn()
        .unwrap();
    let mut cluster = Cluster(child);
    let auth = format!("Authorization: Bearer {TOKEN}\r\n");
    wait_for("the proxy to be ready", || {
        TcpStream::connect(("127.0.0.1", proxy_http)).is_ok()
            && http(proxy_http, &format!("GET /ready HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n"))
                .starts_with("HTTP/1.1 200")
    });
    // A debug line on the proxy: a websocket handshake that fails.
    http(proxy_ws, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    // A warn line on the service: an admin call without the token.
    let refused = http(service_http, "GET /nodes HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");

    let pid = cluster.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    wait_for("espoir up to stop on SIGTERM", || cluster.0.try_wait().unwrap().is_some());

    // The proxy's file: every line JSON, naming proxy_a, debug included.
    let proxy_file = only_file(&proxy_logs, "proxy_a");
    assert_eq!(proxy_file.file_name().unwrap(), "proxy_a.log", "rotation never: one plain file");
    let text = std::fs::read_to_string(&proxy_file).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.iter().all(|l| l["node"] == "proxy_a"), "{text}");
    let has = |level: &str, message: &str| {
        lines.iter().any(|l| {
            l["level"] == level && l["fields"]["message"].as_str().is_some_and(|m| m.contains(message))
        })
    };
    assert!(has("INFO", "node started"), "{text}");
    assert!(has("DEBUG", "websocket handshake failed"), "{text}");
    assert!(!text.contains("service_b"), "no line of the other node: {text}");

    // The service's file: dated (daily), text, warn and above only.
    let service_file = only_file(&service_logs, "service_b.");
    let name = service_file.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.len() == "service_b.2026-12-04.log".len() && name.ends_with(".log"), "{name}");
    let text = std::fs::read_to_string(&service_file).unwrap();
    assert!(text.contains("admin request refused"), "{text}");
    assert!(text.lines().all(|l| l.contains("node{node=service_b}")), "every line names its node: {text}");
    assert!(text.lines().all(|l| l.contains(" WARN ") || l.contains(" ERROR ")), "warn and above: {text}");

    // The terminal: the process's own lines, none of a node with a file.
    let stderr = std::fs::read_to_string(&stderr_file).unwrap();
    assert!(stderr.contains("cluster up"), "{stderr}");
    assert!(!stderr.contains("node{node="), "{stderr}");
}

#[test]
fn an_invalid_rust_log_is_refused_saying_why() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_espoir"))
        .arg("up")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/hello"))
        .env("RUST_LOG", "espoir=loud")
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("RUST_LOG=\"espoir=loud\""), "{stderr}");
}
