//! Node configurations for in-process test clusters: the shared token, the
//! traffic limits that keep a fast test client from being throttled, and
//! config text for proxies, routes and services on pre-bound [`Ports`].

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use espoir::NodeConfig;

use crate::cluster::Ports;

/// The RPC, HTTP (admin) and websocket token of every node these helpers
/// configure.
pub const TOKEN: &str = "helloworldiloveyou~1234567890123";

/// `websocket.limits` keys for the proxies of tests that drive ordinary
/// traffic. The defaults (`message_rate` 50/s, `message_burst` 100,
/// `bytes_rate` 256 KiB/s, `max_connections_per_ip` 256) protect a
/// production proxy; a test client sending in a tight loop outruns them on
/// a fast machine and gets 429s, so a test's outcome would depend on the
/// machine's speed. Tests of the limits themselves build their proxy with
/// [`local_proxy_config`] and set exactly the limits they test.
pub const TRAFFIC_LIMITS: &str = r#""max_connections_per_ip": 100000, "message_rate": 1000000, "message_burst": 1000000, "bytes_rate": 1073741824, "bytes_burst": 1073741824"#;

/// `rpc` keys (for `rpc_extra`) of a route that handles ids up to 5000 and
/// the login (1000) itself, and sends the rest to services.
pub const ROUTE_RULES: &str = r#", "route": {"range": {"route": [[0, 5000]], "service": [[5001, 100000]]}, "special": {"route": [1000]}}"#;

/// `rpc` keys (for `rpc_extra`) of a service that handles every id above 5000.
pub const SERVICE_RULES: &str = r#", "route": {"range": {"service": [[5001, 100000]]}}"#;

/// A `remote_ports` entry for the node of `node_type` on `port`.
pub fn remote(port: u16, node_type: &str) -> String {
    format!(
        r#"{{"host": "127.0.0.1", "port": {port}, "token": "{TOKEN}", "encode": 0, "type": "{node_type}"}}"#
    )
}

/// Parses config text, panicking with the text when it is invalid.
pub fn parse(name: &str, text: &str) -> NodeConfig {
    NodeConfig::from_json5_str(text, Path::new(&format!("{name}.json5")))
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// A node on `ports` with fast link timers; `rpc_extra` is spliced into the
/// `rpc` object (after its last key, so it starts with a comma), `extra`
/// into the top-level object. A proxy gets [`TRAFFIC_LIMITS`], a 30 s idle
/// timeout and the stateless range 30000..=39999.
pub fn config(
    name: &str,
    node_type: &str,
    ports: &Ports,
    remotes: &[String],
    rpc_extra: &str,
    extra: &str,
) -> NodeConfig {
    config_idle(name, node_type, ports, remotes, rpc_extra, extra, 30.0)
}

/// As [`config`], with the proxy's websocket idle timeout in seconds.
pub fn config_idle(
    name: &str,
    node_type: &str,
    ports: &Ports,
    remotes: &[String],
    rpc_extra: &str,
    extra: &str,
    idle: f64,
) -> NodeConfig {
    let ws = if node_type == "proxy" {
        format!(
            r#""websocket": {{"port": {}, "token": "{TOKEN}", "encode": 0, "timeout": {idle}, "offline_command": 999, "limits": {{ {TRAFFIC_LIMITS} }}, "no_state": {{"range": [[30000, 39999]], "special": []}}}},"#,
            ports.ws_port()
        )
    } else {
        String::new()
    };
    let text = format!(
        r#"{{
            "name": "{name}", "type": "{node_type}", "host": "127.0.0.1",
            {ws}
            "http": {{"port": {http}, "token": "{TOKEN}", "encode": 0}},
            "rpc": {{"port": {rpc}, "token": "{TOKEN}", "encode": 0, "reconnect_time": 0.05, "heartbeat_interval": 0.1, "dead_after": 1 {lanes}{rpc_extra}}},
            "remote_ports": [{remotes}],
            "handler_timeout": 2,
            {extra}
        }}"#,
        http = ports.http_port(),
        rpc = ports.rpc_port(),
        remotes = remotes.join(","),
        lanes = one_lane_unless_set(rpc_extra),
    );
    parse(name, &text)
}

/// Config text (for a file on disk) of a node with fast link timers and a
/// 5 s handler timeout; a proxy gets [`TRAFFIC_LIMITS`], a 60 s idle
/// timeout and the stateless range 30000..=39999.
pub fn config_text(
    name: &str,
    node_type: &str,
    ports: &Ports,
    remotes: &[String],
    rpc_extra: &str,
) -> String {
    let ws = if node_type == "proxy" {
        format!(
            r#""websocket": {{"port": {}, "timeout": 60, "limits": {{ {TRAFFIC_LIMITS} }},
                "no_state": {{"range": [[30000, 39999]]}}}},"#,
            ports.ws_port()
        )
    } else {
        String::new()
    };
    format!(
        r#"{{
            "name": "{name}", "type": "{node_type}", "host": "127.0.0.1",
            {ws}
            "http": {{"port": {http}, "token": "{TOKEN}"}},
            "rpc": {{"port": {rpc}, "token": "{TOKEN}", "reconnect_time": 0.05, "max_backoff": 0.2,
                     "heartbeat_interval": 0.1, "dead_after": 1 {lanes}{rpc_extra}}},
            "remote_ports": [{remotes}],
            "handler_timeout": 5,
        }}"#,
        http = ports.http_port(),
        rpc = ports.rpc_port(),
        remotes = remotes.join(","),
        lanes = one_lane_unless_set(rpc_extra),
    )
}

/// `rpc.lanes: 1` unless `rpc_extra` sets the lanes itself. Many tests
/// take a marker's arrival as proof that what was sent before it arrived
/// too; that holds on one link, not across lanes (a marker session may take
/// another lane). Lanes have their own tests, which set them.
fn one_lane_unless_set(rpc_extra: &str) -> &'static str {
    if rpc_extra.contains("\"lanes\"") { "" } else { r#", "lanes": 1"# }
}

/// A lone proxy that handles command ids 1..=9999 itself (no links), with
/// the default limits: for tests of the limits and of hostile clients.
/// `ws_extra` goes into the `websocket` object (e.g. `"limits": {...},`),
/// `extra` at the top.
pub fn local_proxy_config(ports: &Ports, ws_extra: &str, extra: &str) -> NodeConfig {
    local_proxy_config_ids(ports, ws_extra, extra, [1, 9999])
}

/// As [`local_proxy_config`], handling the command ids `lo..=hi` itself.
pub fn local_proxy_config_ids(ports: &Ports, ws_extra: &str, extra: &str, [lo, hi]: [i32; 2]) -> NodeConfig {
    let text = format!(
        r#"{{
            "name": "hostile_proxy", "type": "proxy", "host": "127.0.0.1",
            "websocket": {{"port": {ws}, {ws_extra}
                "no_state": {{"range": [[{lo}, {hi}]], "special": []}}}},
            "http": {{"port": {http}, "token": "{TOKEN}"}},
            "rpc": {{"port": {rpc}, "token": "{TOKEN}", "route": {{"range": {{"proxy": [[{lo}, {hi}]]}}}}}},
            {extra}
        }}"#,
        ws = ports.ws_port(),
        http = ports.http_port(),
        rpc = ports.rpc_port(),
    );
    parse("hostile_proxy", &text)
}

/// A fresh, empty folder for config files, under the system's temporary
/// folder (left behind for a failing test's post-mortem).
pub fn temp_dir() -> PathBuf {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "espoir-test-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    dir
}

/// Writes `text` to `path` the way editors do: a temporary file renamed
/// over the old one, so a node watching it never reads half a file.
pub fn write_config(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write a config file");
    std::fs::rename(&tmp, path).expect("rename a config file into place");
}
