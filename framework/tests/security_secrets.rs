//! Secrets stay secret and every admin endpoint wants its token: a run of
//! node start, refused handshakes, a reload that changes tokens and admin
//! calls with wrong tokens, with every log line captured at TRACE, leaves
//! no token in the logs or in `/metrics`.

use std::time::Duration;

use espoir::{
    EventTable, NodeId, NodeType, Shutdown, Token,
    wire::{EndpointConfig, PeerSpec, RpcEndpoint},
};
use espoir_testkit::*;

const HTTP_TOKEN: &str = "admin-secret-for-the-http-port-01";
const NEW_RPC_TOKEN: &str = "rotated-rpc-secret-0123456789abcd";
const NEW_HTTP_TOKEN: &str = "rotated-admin-secret-0123456789ab";
const WRONG: &str = "wrong-token-of-the-right-length-0";

/// Every guarded admin endpoint of a proxy and the method it answers (the
/// probes `/health` and `/ready` are open: `ops_admin.rs`).
const ADMIN: [(&str, &str); 5] = [
    ("GET", "/nodes"),
    ("GET", "/metrics"),
    ("POST", "/update_remote_rpc_config"),
    ("POST", "/drain"),
    ("POST", "/sessions/kick"),
];

/// Config text with the RPC token `rpc` and the admin token `admin`.
fn with_tokens(text: &str, rpc: &str, admin: &str) -> String {
    // `text` names the same token for http (first) and rpc and remotes.
    text.replacen(TOKEN, admin, 1).replace(TOKEN, rpc)
}

/// Handshakes a node refused or gave up on, whichever side noticed.
fn handshake_failures(node: &TestNode) -> f64 {
    node.metric("espoir_rpc_auth_failures_total") + node.metric("espoir_rpc_handshake_failures_total")
}

fn assert_no_secret(what: &str, haystack: &str) {
    for secret in [TOKEN, HTTP_TOKEN, NEW_RPC_TOKEN, NEW_HTTP_TOKEN] {
        assert!(!haystack.contains(secret), "{what} contains the secret {secret:?}:\n{haystack}");
        // A near-miss prefix is as bad as the whole thing.
        assert!(!haystack.contains(&secret[..16]), "{what} contains a prefix of {secret:?}:\n{haystack}");
    }
}

#[tokio::test]
async fn every_admin_endpoint_refuses_missing_or_wrong_tokens_and_no_token_is_ever_logged() {
    // A current-thread runtime: every task of the nodes logs through it.
    let (logs, _guard) = Captured::install();

    // Node start: a service and a proxy linked to it, from files.
    let dir = temp_dir();
    let (proxy_ports, service_ports) = (Ports::bind().await, Ports::bind().await);
    let service_rpc = service_ports.rpc_port();
    let service_text = config_text("service", "service", &service_ports, &[], "");
    let proxy_text = config_text("proxy", "proxy", &proxy_ports, &[remote(service_rpc, "service")], "");
    let (service_file, proxy_file) = (dir.join("service.json5"), dir.join("proxy.json5"));
    write_config(&service_file, &with_tokens(&service_text, TOKEN, HTTP_TOKEN));
    write_config(&proxy_file, &with_tokens(&proxy_text, TOKEN, HTTP_TOKEN));
    let service =
        TestNode::start_file(&service_file, service_ports, |b| b.events(handlers::service_events())).await;
    let proxy = TestNode::start_file(&proxy_file, proxy_ports, |b| b.events(EventTable::new())).await;
    proxy.wait_linked(&service).await;
    let addr = proxy.node.addresses().http.unwrap();

    // Every admin endpoint, every wrong way to ask.
    let refusals = [
        None,
        Some(format!("Bearer {WRONG}")),
        Some(format!("Bearer {}", &HTTP_TOKEN[..HTTP_TOKEN.len() - 1])),
        Some(format!("Bearer {HTTP_TOKEN}x")),
        Some("Bearer ".to_owned()),
        Some(format!("Basic {HTTP_TOKEN}")),
        Some(format!("Bearer {TOKEN}")), // the RPC token is not the admin token
    ];
    let mut refused = 0;
    for (method, path) in ADMIN {
        for auth in &refusals {
            let (status, body) = http(addr, method, path, auth.as_deref()).await;
            assert_eq!(status, 401, "{method} {path} with {auth:?}: {body}");
            assert_no_secret("a refusal", &body);
            refused += 1;
        }
    }
    assert!(!proxy.node.is_draining(), "a refused /drain did nothing");
    // The right token gets past the check on each of them (the kick then
    // wants a body: 400; the rest answer).
    for (method, path) in ADMIN.iter().filter(|(_, p)| *p != "/drain") {
        let (status, body) = http(addr, method, path, Some(&format!("Bearer {HTTP_TOKEN}"))).await;
        assert!(matches!(status, 200 | 400), "{method} {path} with the token: {status} {body}");
    }

    // Handshake failures: a dialer with a wrong RPC token, and junk.
    let shutdown = Shutdown::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let id = NodeId::of("127.0.0.1", listener.local_addr().unwrap().port());
    let (outsider, _inbound) =
        RpcEndpoint::new(EndpointConfig::new(id, NodeType::Service, Token::from(WRONG)), &shutdown);
    let rpc = proxy.node.addresses().rpc.unwrap();
    let peer = outsider.connect(PeerSpec {
        host: "127.0.0.1".into(),
        port: rpc.port(),
        token: Token::from(WRONG),
        encrypt: false,
        reconnect: Duration::from_millis(50),
        max_backoff: Duration::from_millis(100),
    });
    wait_until("the wrong token is refused", || async { handshake_failures(&proxy) >= 1.0 }).await;
    assert!(peer.link().is_none(), "no link without the token");
    shutdown.finish(Duration::from_secs(1)).await;

    // An invalid reload (the new token is too short) and a valid one that
    // rotates every token in the file; the proxy redials the service with
    // the new one, which the service does not have: handshakes fail.
    write_config(&proxy_file, &with_tokens(&proxy_text, "short", NEW_HTTP_TOKEN));
    assert!(proxy.node.reload().await.is_err(), "a too-short token is refused");
    write_config(&proxy_file, &with_tokens(&proxy_text, NEW_RPC_TOKEN, NEW_HTTP_TOKEN));
    let before = (handshake_failures(&proxy), handshake_failures(&service));
    let report = proxy.node.reload().await.expect("a valid reload");
    tracing::info!(?report, "reloaded");
    // The node's own tokens are read at start (listed as needing a
    // restart); the peer's token in `remote_ports` is applied by redialing.
    let (status, metrics) = http(addr, "GET", "/metrics", Some(&format!("Bearer {HTTP_TOKEN}"))).await;
    assert_eq!(status, 200, "the admin token in force still works");
    // Both ends count the failure, each in the same step as its log line
    // (no await between them on this one-thread runtime): once both counts
    // move, both ends' lines about the rotated link are in the capture.
    wait_until("the rotated link fails its handshakes on both ends", || async {
        handshake_failures(&proxy) > before.0 && handshake_failures(&service) > before.1
    })
    .await;

    // The metrics counted the refusals, and carry no secret.
    assert!(metrics.contains(&format!("espoir_admin_auth_failures_total {refused}")), "{metrics}");
    assert_no_secret("/metrics", &metrics);
    assert_no_secret("metrics_text", &proxy.node.metrics_text());
    assert_no_secret("the service's metrics", &service.node.metrics_text());

    let logs = logs.text();
    // The capture saw the run: refusals, handshakes and the reload.
    for expected in ["admin request refused", "handshake", "reload"] {
        assert!(logs.contains(expected), "no {expected:?} in the captured logs:\n{logs}");
    }
    assert_no_secret("the logs", &logs);
}
