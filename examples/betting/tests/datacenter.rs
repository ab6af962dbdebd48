//! The datacenter job on a running betting node: matches come from a JSON
//! feed (a file, or an http:// URL), imported once per feed id and updated
//! while unapproved; a bad feed changes nothing and fails the run, visibly.

mod common;

use std::path::Path;

use betting::{EmbeddedStore, MatchState, Store};
use espoir::{Node, NodeConfig, Shutdown};
use espoir_testkit::{TOKEN, http, wait_until};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn feed(start: u64, odds: f64) -> Value {
    json!({"matches": [
        {"id": "m-1", "type": "football", "home": "Lions", "away": "Tigers", "start_time": start,
         "options": [{"name": "home", "odds": odds}, {"name": "away", "odds": 1.5}]},
        {"id": "m-2", "type": "lol", "home": "Red", "away": "Blue", "start_time": start,
         "options": [{"name": "red", "odds": 1.9}, {"name": "blue", "odds": 1.9}]},
        {"id": "m-3", "type": "lol", "home": "", "away": "Blue", "start_time": start,
         "options": [{"name": "red", "odds": 1.9}, {"name": "blue", "odds": 1.9}]},
    ]})
}

async fn start_node(data: &Path, source: &str) -> (Shutdown, espoir::RunningNode) {
    let (rpc, http_l) =
        (TcpListener::bind("127.0.0.1:0").await.unwrap(), TcpListener::bind("127.0.0.1:0").await.unwrap());
    let text = format!(
        r#"{{"name": "dc", "type": "service", "host": "127.0.0.1",
            "http": {{"port": {}, "token": "{TOKEN}"}},
            "rpc": {{"port": {}, "token": "{TOKEN}"}},
            "app": {{"betting": {{"path": {:?}, "feed": {{"source": {source:?}, "every": 0.2}}}}}}}}"#,
        http_l.local_addr().unwrap().port(),
        rpc.local_addr().unwrap().port(),
        data.join("dc.redb").display().to_string(),
    );
    let config = NodeConfig::from_json5_str(&text, Path::new("dc.json5")).unwrap();
    let shutdown = Shutdown::new();
    let node = betting::service(Node::builder(config))
        .rpc_listener(rpc)
        .http_listener(http_l)
        .start(&shutdown)
        .await
        .expect("the node starts");
    (shutdown, node)
}

/// The datacenter job's counts on `/jobs`.
async fn ticks(node: &espoir::RunningNode) -> Value {
    let (status, body) =
        http(node.addresses().http.unwrap(), "GET", "/jobs", Some(&format!("Bearer {TOKEN}"))).await;
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    let job = body["jobs"].as_array().unwrap().iter().find(|j| j["name"] == "betting.datacenter").cloned();
    job.expect("the datacenter job is listed")["ticks"].clone()
}

async fn stored(data: &Path, shutdown: Shutdown) -> Vec<betting::Match> {
    assert!(shutdown.finish(espoir_testkit::WAIT).await);
    let store = EmbeddedStore::open(data.join("dc.redb")).unwrap();
    store.matches().await.unwrap()
}

#[tokio::test]
async fn a_file_feed_is_imported_once_updated_while_unapproved_and_a_bad_one_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feed.json");
    let start = betting::now_ms() / 1000 + 3600;
    std::fs::write(&path, feed(start, 2.5).to_string()).unwrap();
    let (shutdown, node) = start_node(dir.path(), path.to_str().unwrap()).await;
    wait_until("the feed is imported several times", async || {
        ticks(&node).await["ran"].as_u64().unwrap_or(0) >= 3
    })
    .await;
    // The same match again: an update of the first one.
    std::fs::write(&path, feed(start + 60, 3.0).to_string()).unwrap();
    let ran = ticks(&node).await["ran"].as_u64().unwrap();
    wait_until("the new feed is imported", async || ticks(&node).await["ran"].as_u64().unwrap() >= ran + 2)
        .await;
    // Not a feed: every run fails, nothing changes.
    std::fs::write(&path, b"{\"matches\": 12}").unwrap();
    wait_until("a bad feed fails the run", async || ticks(&node).await["failed"].as_u64().unwrap_or(0) >= 2)
        .await;
    let matches = stored(dir.path(), shutdown).await;
    assert_eq!(matches.len(), 2, "m-1 and m-2 once each; m-3 is invalid: {matches:?}");
    let m1 = matches.iter().find(|m| m.kind == "football").unwrap();
    assert_eq!(
        (m1.start_time, m1.options[0].odds_centi, m1.state),
        (start + 60, 300, MatchState::NotStarted)
    );
}

/// Serves `body` with `status` to every GET on a loopback port.
async fn feed_server(status: u16, body: String) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(body.as_bytes()).await;
            });
        }
    });
    port
}

#[tokio::test]
async fn an_http_feed_is_imported_and_an_http_error_fails_the_run() {
    let start = betting::now_ms() / 1000 + 3600;
    let good = feed_server(200, feed(start, 2.5).to_string()).await;
    let dir = tempfile::tempdir().unwrap();
    let (shutdown, node) = start_node(dir.path(), &format!("http://127.0.0.1:{good}/feed.json")).await;
    wait_until("the feed is imported", async || ticks(&node).await["ran"].as_u64().unwrap_or(0) >= 2).await;
    assert_eq!(stored(dir.path(), shutdown).await.len(), 2);

    let broken = feed_server(503, "busy".into()).await;
    let dir = tempfile::tempdir().unwrap();
    let (shutdown, node) = start_node(dir.path(), &format!("http://127.0.0.1:{broken}/feed.json")).await;
    wait_until("the runs fail", async || ticks(&node).await["failed"].as_u64().unwrap_or(0) >= 2).await;
    assert!(stored(dir.path(), shutdown).await.is_empty());
}

#[tokio::test]
async fn an_https_feed_is_refused_at_start_with_the_reason() {
    let config = NodeConfig::from_json5_str(
        &format!(r#"{{"name": "dc", "type": "service", "host": "127.0.0.1", "rpc": {{"port": 45001, "token": "{TOKEN}"}},
            "app": {{"betting": {{"path": "x.redb", "feed": {{"source": "https://feeds.example/m.json"}}}}}}}}"#),
        Path::new("dc.json5"),
    )
    .unwrap();
    let err = betting::Settings::from_config(&config).unwrap_err().to_string();
    assert!(err.contains("app.betting.feed.source") && err.contains("https"), "{err}");
}
