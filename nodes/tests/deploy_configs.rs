//! The configs of docs/deploy, as `espoir check` and `espoir node` see
//! them: valid once their secrets and addresses come from the environment
//! (as the Kubernetes example gives them), refused naming the variable
//! when one is missing; and run as a cluster on this machine — each node
//! bound to every interface, announcing its own address — that serves a
//! client, survives its route being replaced, and drains on SIGTERM.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use espoir::NodeId;
use espoir_testkit::process::{free_ports, log_tail};
use espoir_testkit::{Client, WAIT, http, wait_until};
use serde_json::{Value, json};
use tokio::time::Instant;

const RPC_TOKEN: &str = "deploy-test-rpc-secret-0123456789ab";
const HTTP_TOKEN: &str = "deploy-test-admin-secret-0123456789";
/// Every variable the Kubernetes example's configs read.
const VARIABLES: [&str; 3] = ["POD_IP", "ESPOIR_RPC_TOKEN", "ESPOIR_HTTP_TOKEN"];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn kubernetes_configs() -> PathBuf {
    repo().join("docs/deploy/kubernetes/config")
}

/// `espoir` with exactly the given variables of [`VARIABLES`] set.
fn espoir(env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_espoir"));
    for var in VARIABLES {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    cmd
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Every config file under `dir`, at any depth.
fn config_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(config_files(&path));
        } else if path.extension().is_some_and(|e| e == "json5" || e == "json") {
            found.push(path);
        }
    }
    found
}

#[test]
fn every_config_under_docs_deploy_is_valid_with_its_secrets_from_the_environment() {
    let deploy = repo().join("docs/deploy");
    let env = [("POD_IP", "10.20.30.40"), ("ESPOIR_RPC_TOKEN", RPC_TOKEN), ("ESPOIR_HTTP_TOKEN", HTTP_TOKEN)];
    let out = espoir(&env).arg("check").arg(&deploy).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "espoir check failed:\n{stdout}\n{stderr}");
    let files = config_files(&deploy);
    assert!(files.len() >= 3, "the Kubernetes example has a proxy, a route and a service: {files:?}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with("ok ")).count(), files.len(), "{stdout}");
    assert!(!stdout.contains("warn"), "the examples weaken nothing: {stdout}");
    // Each replica announces the address it was given, so its id is its own.
    let service = kubernetes_configs().join("service.json5");
    let id = NodeId::of("10.20.30.40", 22002);
    assert!(
        stdout.lines().any(|l| l.contains(&*service.to_string_lossy()) && l.contains(id.as_str())),
        "{stdout}"
    );
    for secret in [RPC_TOKEN, HTTP_TOKEN] {
        assert!(!stdout.contains(secret) && !stderr.contains(secret), "secrets are never printed");
    }
}

#[test]
fn a_missing_variable_is_an_error_naming_the_file_the_field_and_the_variable() {
    let dir = kubernetes_configs();
    let out = espoir(&[("POD_IP", "10.20.30.40"), ("ESPOIR_HTTP_TOKEN", HTTP_TOKEN)])
        .arg("check")
        .arg(&dir)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stderr.contains("service.json5")
            && stderr.contains("rpc.token")
            && stderr.contains("environment variable ESPOIR_RPC_TOKEN is not set"),
        "{stderr}"
    );
    assert!(!stderr.contains(HTTP_TOKEN), "{stderr}");

    let out = espoir(&[("ESPOIR_RPC_TOKEN", RPC_TOKEN), ("ESPOIR_HTTP_TOKEN", HTTP_TOKEN)])
        .arg("check")
        .arg(dir.join("proxy.json5"))
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("host") && stderr.contains("POD_IP is not set"), "{stderr}");
}

#[test]
fn check_reads_secret_files_and_names_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("rpc_token");
    std::fs::write(&token, format!("{RPC_TOKEN}\n")).unwrap();
    let config = dir.path().join("service.json5");
    let write = |token: &Path| {
        let text = format!(
            r#"{{ name: "s", type: "service", host: "10.0.0.9", bind: "0.0.0.0", api_path: ["hello.service"],
                 rpc: {{ port: 22002, token: {{ file: "{}" }} }} }}"#,
            token.display()
        );
        std::fs::write(&config, text).unwrap();
    };
    write(&token);
    let out = espoir(&[]).arg("check").arg(&config).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(!stdout.contains(RPC_TOKEN));

    let missing = dir.path().join("absent");
    write(&missing);
    let out = espoir(&[]).arg("check").arg(&config).output().unwrap();
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("rpc.token") && stderr.contains(&format!("secret file {}", missing.display())),
        "{stderr}"
    );
}

/// One `espoir node` process; killed when dropped.
struct NodeProc {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl NodeProc {
    fn sigterm(&self) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    }

    /// Waits for the process to exit on its own; its exit code.
    async fn exit_code(&mut self) -> Option<i32> {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(Instant::now() < deadline, "{} did not stop:\n{}", self.name, log_tail(&self.log, 40));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// What stands for the route's Service name here (no cluster DNS): a name
/// too, resolved when peers dial it.
const ROUTE_NAME: &str = "localhost";

/// The example's config of `role`, as the node in a pod reads it, with
/// what only this machine changes: the route's Service name becomes
/// [`ROUTE_NAME`], and each port one of `ports`.
fn local_config(role: &str, ports: &[(u16, u16)]) -> Value {
    let text = std::fs::read_to_string(kubernetes_configs().join(format!("{role}.json5"))).unwrap();
    let mut config: Value = serde_json5::from_str(&text).unwrap();
    let port = |p: &Value| {
        let p = p.as_u64().unwrap();
        let (_, local) = ports.iter().find(|(from, _)| u64::from(*from) == p).expect("a port of the example");
        json!(local)
    };
    for section in ["websocket", "http", "rpc"] {
        if let Some(p) = config.get(section).map(|s| s["port"].clone()) {
            config[section]["port"] = port(&p);
        }
    }
    if config["host"] == "espoir-route" {
        config["host"] = json!(ROUTE_NAME);
    }
    for remote in config["remote_ports"].as_array_mut().unwrap() {
        assert_eq!(remote["host"], "espoir-route", "nodes find the route by its Service name");
        remote["host"] = json!(ROUTE_NAME);
        remote["port"] = port(&remote["port"]);
    }
    config
}

/// The ports of the example, in order: proxy websocket, http, rpc; route
/// http, rpc; service http, rpc.
const EXAMPLE_PORTS: [u16; 7] = [20000, 20001, 20002, 21001, 21002, 22001, 22002];

/// Runs `espoir node FILE --grace 20` for the example's `name` (written to
/// `dir` beforehand), with `POD_IP` its own loopback address; its output
/// goes (appended) to `dir/{name}.log`.
fn spawn(dir: &Path, name: &'static str) -> NodeProc {
    // The route's config reads no POD_IP: its host is its name.
    let pod_ip = if name == "service" { "127.0.0.3" } else { "127.0.0.2" };
    let file = dir.join(format!("{name}.json5"));
    let log = dir.join(format!("{name}.log"));
    let out = std::fs::OpenOptions::new().create(true).append(true).open(&log).unwrap();
    let env = [("POD_IP", pod_ip), ("ESPOIR_RPC_TOKEN", RPC_TOKEN), ("ESPOIR_HTTP_TOKEN", HTTP_TOKEN)];
    let child = espoir(&env)
        .args(["node".as_ref(), file.as_os_str(), "--grace".as_ref(), "20".as_ref()])
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    NodeProc { name, child, log }
}

/// Starts the example's three nodes (route, service, proxy); `None` if a
/// port was taken meanwhile (the caller picks others).
async fn start_cluster(dir: &Path, local: &[u16]) -> Option<Vec<NodeProc>> {
    let ports: Vec<(u16, u16)> = EXAMPLE_PORTS.iter().copied().zip(local.iter().copied()).collect();
    let mut nodes = Vec::new();
    for name in ["route", "service", "proxy"] {
        let _ = std::fs::remove_file(dir.join(format!("{name}.log")));
        std::fs::write(dir.join(format!("{name}.json5")), local_config(name, &ports).to_string()).unwrap();
        nodes.push(spawn(dir, name));
    }
    // Every admin port answers (the route's first: the others need it).
    for (node, port) in nodes.iter_mut().zip([local[3], local[5], local[1]]) {
        let deadline = Instant::now() + WAIT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if node.child.try_wait().unwrap().is_some() {
                // Only a port taken since it was picked is worth a retry.
                let tail = log_tail(&node.log, 20);
                assert!(tail.contains("cannot open the"), "{} exited:\n{tail}", node.name);
                return None;
            }
            assert!(Instant::now() < deadline, "{} never listened:\n{}", node.name, log_tail(&node.log, 40));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    Some(nodes)
}

#[tokio::test]
async fn the_kubernetes_configs_run_as_a_cluster_announcing_pod_addresses_survive_a_route_replacement_and_drain_on_sigterm()
 {
    let dir = tempfile::tempdir().unwrap();
    let mut started = None;
    for _ in 0..5 {
        let local = free_ports(EXAMPLE_PORTS.len());
        if let Some(nodes) = start_cluster(dir.path(), &local).await {
            started = Some((nodes, local));
            break;
        }
    }
    let (mut nodes, local) = started.expect("free ports within 5 tries");
    let [ws, proxy_http, _, route_http, route_rpc, service_http, service_rpc] = local[..] else {
        unreachable!()
    };

    // The probes are open, as a kubelet calls them: no token.
    for port in [route_http, service_http, proxy_http] {
        wait_until(&format!("GET /ready on {port} answers 200 without a token"), async || {
            http(("127.0.0.1", port), "GET", "/ready", None).await.0 == 200
        })
        .await;
        let (status, body) = http(("127.0.0.1", port), "GET", "/health", None).await;
        assert_eq!((status, body.contains("\"ok\"")), (200, true), "{body}");
        assert_eq!(http(("127.0.0.1", port), "GET", "/nodes", None).await.0, 401, "the rest stays guarded");
    }

    // The service announced its pod address: the route knows it there, by
    // the id of that address, though it bound every interface.
    let service_id = NodeId::of("127.0.0.3", service_rpc);
    let auth = format!("Bearer {HTTP_TOKEN}");
    // The route's id is its name's, which is what the others list.
    let (_, health) = http(("127.0.0.1", route_http), "GET", "/health", Some(&auth)).await;
    let health: Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["id"], NodeId::of(ROUTE_NAME, route_rpc).as_str(), "{health}");
    wait_until("the route lists the service at its announced address", async || {
        let (_, body) = http(("127.0.0.1", route_http), "GET", "/nodes", Some(&auth)).await;
        let nodes: Value = serde_json::from_str(&body).unwrap_or_default();
        nodes["members"].as_array().is_some_and(|m| {
            m.iter()
                .any(|m| m["id"] == service_id.as_str() && m["host"] == "127.0.0.3" && m["type"] == "service")
        })
    })
    .await;

    // A client is served through the proxy: login on the route, a room on
    // the service.
    let mut client = Client::connect(&format!("ws://127.0.0.1:{ws}")).await;
    let (_, login) = client.request(1000, &json!({ "name": "a", "passwd": "b" })).await;
    assert_eq!(login["data"]["user_id"], 10, "{login}");
    let (_, room) = client.request(20000, &json!({ "user_id": 10 })).await;
    assert_eq!(room["code"], 200, "{room}");

    // The route is replaced, as its Deployment's Recreate strategy does:
    // drained on SIGTERM (exit 0), started again under the same name (same
    // id). The proxy and the service redial it and serve again.
    let mut route = nodes.remove(0);
    route.sigterm();
    assert_eq!(route.exit_code().await, Some(0), "{}", log_tail(&route.log, 40));
    wait_until("the proxy sees the route gone", async || {
        http(("127.0.0.1", proxy_http), "GET", "/ready", None).await.0 == 503
    })
    .await;
    nodes.insert(0, spawn(dir.path(), "route"));
    wait_until("the proxy and the service are ready again", async || {
        http(("127.0.0.1", proxy_http), "GET", "/ready", None).await.0 == 200
            && http(("127.0.0.1", service_http), "GET", "/ready", None).await.0 == 200
    })
    .await;
    wait_until("a client is served through the new route", async || {
        let (_, room) = client.request(20000, &json!({ "user_id": 10 })).await;
        room["code"] == 200
    })
    .await;

    // SIGTERM, as the kubelet sends it: the proxy closes its client with
    // 1001 (reconnect elsewhere) and exits 0 (drained within --grace).
    let proxy = nodes.pop().unwrap();
    proxy.sigterm();
    assert_eq!(client.close_code().await, Some(1001));
    let mut proxy = proxy;
    assert_eq!(proxy.exit_code().await, Some(0), "{}", log_tail(&proxy.log, 40));
    for mut node in nodes.into_iter().rev() {
        node.sigterm();
        assert_eq!(node.exit_code().await, Some(0), "{}: {}", node.name, log_tail(&node.log, 40));
    }
}
