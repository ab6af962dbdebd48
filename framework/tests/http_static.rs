//! The HTTP port's static files (`http.static_dir`) and CORS
//! (`http.cors_origins`) over real HTTP: routes win over files, files get
//! their headers, traversal finds nothing, preflights allow the bearer
//! header for listed origins only, and a missing directory stops the node.

use std::net::SocketAddr;

use espoir::{EventTable, HttpResponse, HttpRoutes, Node, NodeError, Shutdown};
use espoir_testkit::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PAGE_ORIGIN: &str = "http://127.0.0.1:30001";

/// One request with extra header lines; the status, the head (lower-cased)
/// and the body.
async fn http(addr: SocketAddr, method: &str, path: &str, headers: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\n{headers}Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut raw)).await.expect("an answer").unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status line");
    (status, head.to_ascii_lowercase(), body.to_owned())
}

/// The ETag the node gives a file: size and modification time.
fn etag_of(path: &std::path::Path) -> String {
    let meta = std::fs::metadata(path).unwrap();
    let nanos = meta.modified().unwrap().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("W/\"{:x}-{nanos:x}\"", meta.len())
}

async fn node_with(static_dir: &std::path::Path) -> TestNode {
    let ports = Ports::bind().await;
    let mut cfg = config("proxy_1", "proxy", &ports, &[], "", "");
    let http = cfg.http.as_mut().unwrap();
    http.static_dir = Some(static_dir.to_owned());
    http.cors_origins = vec![PAGE_ORIGIN.to_owned()];
    let routes = HttpRoutes::new().route("/api/hello", |_| async { HttpResponse::text("from a route") });
    TestNode::start_with(cfg, ports, |b| b.events(EventTable::new()).http(routes)).await
}

fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "<p>bet</p>").unwrap();
    std::fs::create_dir(dir.path().join("api")).unwrap();
    std::fs::write(dir.path().join("api/hello"), "a file shadowed by the route").unwrap();
    std::fs::write(dir.path().join("espoir-client.js"), "export const x = 1;").unwrap();
    dir
}

#[tokio::test]
async fn pages_are_served_where_no_route_or_admin_endpoint_claims_the_path() {
    let dir = site();
    let node = node_with(dir.path()).await;
    let addr = node.node.addresses().http.unwrap();

    let (status, head, body) = http(addr, "GET", "/", "").await;
    assert_eq!((status, body.as_str()), (200, "<p>bet</p>"));
    assert!(head.contains("content-type: text/html; charset=utf-8"), "{head}");
    assert!(head.contains("cache-control: no-cache"), "{head}");
    let etag = etag_of(&dir.path().join("index.html"));

    assert!(head.contains(&format!("etag: {}", etag.to_ascii_lowercase())), "{head}");
    let (status, head, _) = http(addr, "GET", "/espoir-client.js", "").await;
    assert_eq!(status, 200);
    assert!(head.contains("content-type: text/javascript"), "{head}");
    let (status, _, body) = http(addr, "GET", "/", &format!("If-None-Match: {etag}\r\n")).await;
    assert_eq!((status, body.as_str()), (304, ""));

    assert_eq!(http(addr, "GET", "/api/hello", "").await.2, "from a route");
    assert_eq!(http(addr, "GET", "/health", "").await.0, 200, "admin endpoints keep their paths");
    assert_eq!(http(addr, "GET", "/../../../etc/passwd", "").await.0, 404);
    assert_eq!(http(addr, "GET", "/%2e%2e/%2e%2e/etc/passwd", "").await.0, 404);
    assert_eq!(http(addr, "GET", "/missing.html", "").await.0, 404);
    node.stop().await;
}

#[tokio::test]
async fn listed_origins_may_call_endpoints_with_a_bearer_token() {
    let dir = site();
    let node = node_with(dir.path()).await;
    let addr = node.node.addresses().http.unwrap();
    let preflight = format!(
        "Origin: {PAGE_ORIGIN}\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: authorization\r\n"
    );
    let (status, head, _) = http(addr, "OPTIONS", "/api/hello", &preflight).await;
    assert_eq!(status, 204);
    assert!(head.contains(&format!("access-control-allow-origin: {PAGE_ORIGIN}")), "{head}");
    assert!(head.contains("access-control-allow-headers: authorization, content-type"), "{head}");

    let (_, head, _) = http(addr, "GET", "/api/hello", &format!("Origin: {PAGE_ORIGIN}\r\n")).await;
    assert!(head.contains(&format!("access-control-allow-origin: {PAGE_ORIGIN}")), "{head}");
    assert!(head.contains("vary: origin"), "{head}");

    let other = "Origin: http://elsewhere.example\r\nAccess-Control-Request-Method: POST\r\n";
    let (status, head, _) = http(addr, "OPTIONS", "/api/hello", other).await;
    assert_eq!(status, 204);
    assert!(!head.contains("access-control-allow-origin"), "{head}");
    node.stop().await;
}

#[tokio::test]
async fn a_static_dir_that_is_not_a_directory_stops_the_node() {
    let ports = Ports::bind().await;
    let mut cfg = config("proxy_1", "proxy", &ports, &[], "", "");
    cfg.http.as_mut().unwrap().static_dir = Some("/nonexistent/espoir-pages".into());
    let err = Node::builder(cfg).rpc_listener(ports.rpc).start(&Shutdown::new()).await.unwrap_err();
    assert!(matches!(err, NodeError::Setup(_)), "{err}");
    assert!(err.to_string().contains("http.static_dir /nonexistent/espoir-pages"), "{err}");
}
