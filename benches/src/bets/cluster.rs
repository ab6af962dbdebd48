//! The betting cluster for a load run: a copy of its config folder with
//! what a load run must change, and the admin API calls that set it up.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The handler group of the betting service.
const BETTING_GROUP: &str = "betting.service";

/// Where the adapted cluster is and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The folder of adapted configs, for `espoir up`.
    pub dir: PathBuf,
    /// The proxy's websocket URL.
    pub url: String,
    /// `host:port` of the betting node's admin API.
    pub admin: String,
    /// Its bearer token.
    pub token: String,
}

/// Copies every config of `cluster` into `work/cluster`, adapted by
/// [`adapt`], with the store under `work/data` (both emptied first, so
/// each run starts from an empty store).
///
/// # Errors
/// Unreadable or unparsable files, or a cluster without a proxy websocket
/// or a betting node with an admin token.
pub fn prepare(cluster: &Path, work: &Path) -> Result<Prepared, String> {
    let (dir, data) = (work.join("cluster"), work.join("data"));
    for d in [&dir, &data] {
        let _ = std::fs::remove_dir_all(d);
        std::fs::create_dir_all(d).map_err(|e| format!("cannot create {}: {e}", d.display()))?;
    }
    let origin = std::fs::canonicalize(cluster).map_err(|e| format!("{}: {e}", cluster.display()))?;
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&origin)
        .map_err(|e| format!("{}: {e}", origin.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json5" || x == "json"))
        .collect();
    entries.sort();
    let (mut url, mut admin) = (None, None);
    for file in entries {
        let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let mut config: Value =
            serde_json5::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        let host = config["host"].as_str().unwrap_or("127.0.0.1").to_owned();
        adapt(&mut config, &origin, &data);
        if let Some(port) = config["websocket"]["port"].as_u64().filter(|&p| p != 0) {
            url.get_or_insert(format!("ws://{host}:{port}"));
        }
        let betting = config["api_path"].as_array().is_some_and(|a| a.iter().any(|g| g == BETTING_GROUP));
        if let (true, Some(port), Some(token)) =
            (betting, config["http"]["port"].as_u64(), config["http"]["token"].as_str())
        {
            admin.get_or_insert((format!("{host}:{port}"), token.to_owned()));
        }
        let name = file.file_name().map(PathBuf::from).unwrap_or_default();
        let out = serde_json::to_string_pretty(&config).map_err(|e| e.to_string())?;
        std::fs::write(dir.join(name), out)
            .map_err(|e| format!("cannot write into {}: {e}", dir.display()))?;
    }
    let url = url.ok_or("no proxy with a websocket port in the cluster")?;
    let (admin, token) = admin.ok_or("no betting node with an http port and token in the cluster")?;
    Ok(Prepared { dir, url, admin, token })
}

/// What a load run changes in one node's config, and nothing else:
///
/// * a proxy's per-client limits are lifted: every load client connects
///   from 127.0.0.1 and bets far faster than the 50 frames/s a player may
///   send, so the defaults would measure themselves, not the app;
/// * a relative `http.static_dir` becomes absolute (it names a folder
///   beside the original file, which the copy is not);
/// * an embedded store's file moves into `data` (empty at each run).
pub fn adapt(config: &mut Value, origin: &Path, data: &Path) {
    if let Some(ws) = config.get_mut("websocket").and_then(Value::as_object_mut) {
        let limits = ws.entry("limits").or_insert_with(|| json!({}));
        if let Some(limits) = limits.as_object_mut() {
            limits.insert("max_connections_per_ip".into(), json!(1_000_000));
            for key in ["message_rate", "message_burst"] {
                limits.insert(key.into(), json!(1_000_000_000u32));
            }
            for key in ["bytes_rate", "bytes_burst"] {
                limits.insert(key.into(), json!(4_000_000_000u32));
            }
        }
    }
    if let Some(dir) = config.pointer_mut("/http/static_dir")
        && let Some(text) = dir.as_str().filter(|d| Path::new(d).is_relative()).map(str::to_owned)
    {
        *dir = json!(origin.join(text));
    }
    let store = config.pointer_mut("/app/betting");
    if let Some(path) = store.and_then(|b| b.get_mut("path"))
        && let Some(name) = path.as_str().and_then(|p| Path::new(p).file_name()).map(|n| n.to_owned())
    {
        *path = json!(data.join(name));
    }
}

/// One admin call: `POST path` with a JSON body (`GET` without one);
/// returns the HTTP status and the JSON reply.
///
/// # Errors
/// Connection errors and replies that are not HTTP with a JSON body.
pub async fn admin_call(
    admin: &str,
    token: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<(u16, Value), String> {
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let method = if body.is_some() { "POST" } else { "GET" };
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {admin}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        payload.len()
    );
    let mut stream = TcpStream::connect(admin).await.map_err(|e| format!("admin {admin}: {e}"))?;
    stream.write_all(head.as_bytes()).await.map_err(|e| e.to_string())?;
    stream.write_all(payload.as_bytes()).await.map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.map_err(|e| e.to_string())?;
    parse_response(&String::from_utf8_lossy(&raw))
}

fn parse_response(text: &str) -> Result<(u16, Value), String> {
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(|| format!("not an HTTP reply: {text:?}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {head:?}"))?;
    let value = if body.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).map_err(|e| e.to_string())?
    };
    Ok((status, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_load_run_lifts_limits_and_moves_paths() {
        let mut proxy = json!({"host": "127.0.0.1", "websocket": {"port": 30000, "limits": {"write_timeout": 5}},
            "http": {"port": 30001, "static_dir": "../../examples/web"}});
        adapt(&mut proxy, Path::new("/repo/configs/local"), Path::new("/w/data"));
        assert_eq!(proxy["websocket"]["limits"]["message_rate"], json!(1_000_000_000u32));
        assert_eq!(proxy["websocket"]["limits"]["write_timeout"], json!(5), "other limits stay");
        assert_eq!(proxy["http"]["static_dir"], json!("/repo/configs/local/../../examples/web"));

        let mut service = json!({"http": {"port": 32001, "static_dir": "/abs"},
            "app": {"betting": {"store": "embedded", "path": ".data/betting-1.redb"}}});
        let before = service.clone();
        adapt(&mut service, Path::new("/o"), Path::new("/w/data"));
        assert_eq!(service["app"]["betting"]["path"], json!("/w/data/betting-1.redb"));
        assert_eq!(service["http"], before["http"], "absolute folders stay");
        assert!(service.get("websocket").is_none(), "no websocket section is made up");
    }

    #[test]
    fn the_local_cluster_is_prepared() {
        let work = tempfile::tempdir().unwrap();
        let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/local");
        let p = prepare(&local, work.path()).unwrap();
        assert_eq!(p.url, "ws://127.0.0.1:30000");
        assert_eq!(p.admin, "127.0.0.1:32001");
        assert!(!p.token.is_empty());
        let loaded = espoir::NodeConfig::load_dir(&p.dir).unwrap();
        assert_eq!(loaded.len(), 3, "every node of the folder, and each still a valid config");
    }

    #[test]
    fn http_replies_are_read() {
        let (status, body) = parse_response("HTTP/1.1 201 Created\r\nA: b\r\n\r\n{\"id\":7}").unwrap();
        assert_eq!((status, body), (201, json!({"id": 7})));
        assert_eq!(parse_response("HTTP/1.1 204 No Content\r\n\r\n").unwrap(), (204, Value::Null));
        assert!(parse_response("garbage").is_err());
    }
}
