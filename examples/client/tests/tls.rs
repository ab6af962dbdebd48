//! Client TLS end to end, against a CA made in the test: the Rust client
//! round-trips over `wss://` and the admin port answers over HTTPS; a
//! client refuses an expired, misnamed or untrusted certificate and says
//! why; a certificate swapped while clients send traffic drops none of
//! them and new connections get the new one, while a bad new pair is
//! refused and the last good one stays; a client that opens TCP and sends
//! nothing is dropped at the handshake deadline; a proxy whose key does
//! not fit its certificate does not start, and says which file.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use espoir_client::{Client, ClientError, ClientOptions, Event};
use espoir_testkit::{
    Captured, Issued, Ports, TestCa, TestNode, WAIT, handlers, local_proxy_config_ids, temp_dir, wait_until,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

/// The stateless whoami of the test kit, which the lone proxy serves itself.
const WHOAMI: i32 = 30000;

/// A lone proxy serving `wss://` (and HTTPS) with the pair at `cert`/`key`,
/// checking the files every second.
async fn tls_proxy(cert: &std::path::Path, key: &std::path::Path, ws_extra: &str) -> TestNode {
    let ports = Ports::bind().await;
    let tls = format!(r#""tls": {{"cert": {cert:?}, "key": {key:?}, "reload_interval": 1}},"#);
    let config = local_proxy_config_ids(&ports, ws_extra, &tls, [WHOAMI, WHOAMI]);
    TestNode::start(config, ports, handlers::service_events()).await
}

fn wss_url(node: &TestNode, host: &str) -> String {
    let port = node.node.addresses().websocket.expect("a proxy").port();
    format!("wss://{host}:{port}")
}

fn options(url: String, ca: &TestCa) -> ClientOptions {
    let mut options = ClientOptions::new(url).with_tls(ca.client_config());
    options.reconnect = None;
    options
}

/// The certificate a new TLS connection to `node`'s websocket port is
/// served (its leaf, DER).
async fn served_cert(node: &TestNode, ca: &TestCa) -> Vec<u8> {
    let addr = node.node.addresses().websocket.expect("a proxy");
    let tcp = TcpStream::connect(addr).await.expect("tcp connects");
    let connector = tokio_rustls::TlsConnector::from(ca.client_config());
    let name = ServerName::try_from("localhost").expect("a name");
    let tls = connector.connect(name, tcp).await.expect("tls handshake");
    tls.get_ref().1.peer_certificates().expect("a certificate")[0].to_vec()
}

fn der_of(issued: &Issued) -> Vec<u8> {
    CertificateDer::from_pem_slice(issued.cert_pem.as_bytes()).expect("PEM").to_vec()
}

#[tokio::test]
async fn the_rust_client_round_trips_over_wss_and_the_admin_port_speaks_https() {
    let ca = TestCa::new("espoir test CA");
    let dir = temp_dir();
    let (cert, key) = ca.issue(&["localhost"]).write_to(&dir, "proxy");
    let proxy = tls_proxy(&cert, &key, "").await;

    let client = Client::connect(options(wss_url(&proxy, "localhost"), &ca)).await.expect("wss connects");
    let reply = client.request(WHOAMI, &json!({})).await.expect("a reply over wss");
    assert!(reply.get("node").is_some(), "whoami answers: {reply}");

    // The same CA file a deployment would hand its clients.
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca.cert_pem()).unwrap();
    let mut from_file = ClientOptions::new(wss_url(&proxy, "localhost")).with_ca_file(&ca_file).unwrap();
    from_file.reconnect = None;
    let second = Client::connect(from_file).await.expect("wss with a CA file");
    second.request(WHOAMI, &json!({})).await.expect("a reply");

    // A plain ws:// client gets no websocket from a TLS port.
    let mut plain =
        ClientOptions::new(format!("ws://localhost:{}", proxy.node.addresses().websocket.unwrap().port()));
    plain.reconnect = None;
    plain.request_timeout = WAIT;
    assert!(Client::connect(plain).await.is_err(), "a clear-text client is not served");

    // HTTPS on the admin port: /health over TLS.
    let http = proxy.node.addresses().http.expect("an http port");
    let tcp = TcpStream::connect(http).await.unwrap();
    let connector = tokio_rustls::TlsConnector::from(ca.client_config());
    let mut tls =
        connector.connect(ServerName::try_from("localhost").unwrap(), tcp).await.expect("https handshake");
    tls.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut answer = String::new();
    tls.read_to_string(&mut answer).await.ok();
    assert!(answer.starts_with("HTTP/1.1 200"), "health over https: {answer}");

    let missing = ClientOptions::new("wss://localhost:1").with_ca_file(dir.join("none.pem"));
    assert!(matches!(missing, Err(ClientError::CaFile { .. })), "a missing CA file is named");
    proxy.stop().await;
}

/// Connects and expects a TLS refusal whose message contains `why`.
async fn refused(options: ClientOptions, why: &str) {
    match Client::connect(options).await {
        Err(ClientError::Tls(message)) => assert!(message.contains(why), "expected {why:?} in {message:?}"),
        Err(other) => panic!("expected a TLS refusal ({why}), got {other}"),
        Ok(_) => panic!("expected a TLS refusal ({why}), got a connection"),
    }
}

#[tokio::test]
async fn a_client_refuses_an_expired_misnamed_or_untrusted_certificate() {
    let ca = TestCa::new("espoir test CA");
    let dir = temp_dir();
    let (cert, key) = ca.issue(&["localhost"]).write_to(&dir, "good");
    let good = tls_proxy(&cert, &key, "").await;
    // Signed by a CA the client does not trust.
    let stranger = TestCa::new("someone else");
    refused(options(wss_url(&good, "localhost"), &stranger), "UnknownIssuer").await;
    // Trusted, but for another name: the certificate says localhost only.
    refused(options(wss_url(&good, "127.0.0.1"), &ca), "not valid for name").await;

    let (cert, key) = ca.issue_expired(&["localhost"]).write_to(&dir, "expired");
    let expired = tls_proxy(&cert, &key, "").await;
    refused(options(wss_url(&expired, "localhost"), &ca), "expired").await;
    good.stop().await;
    expired.stop().await;
}

/// Clients in a closed loop of requests: each counts its replies, and the
/// first to lose its connection or a request says so in `lost`.
struct Traffic {
    replies: Arc<Vec<AtomicU64>>,
    lost: Arc<Mutex<Option<String>>>,
    tasks: JoinSet<()>,
    _clients: Vec<Client>,
}

impl Traffic {
    async fn start(url: &str, ca: &TestCa, clients: usize) -> Traffic {
        let replies: Arc<Vec<AtomicU64>> = Arc::new((0..clients).map(|_| AtomicU64::new(0)).collect());
        let lost = Arc::new(Mutex::new(None));
        let mut tasks = JoinSet::new();
        let mut held = Vec::new();
        for i in 0..clients {
            let client = Client::connect(options(url.to_owned(), ca)).await.expect("connects");
            let mut events = client.events();
            let (replies, lost, sender) = (Arc::clone(&replies), Arc::clone(&lost), client.clone());
            tasks.spawn(async move {
                let body = json!({});
                let why = loop {
                    tokio::select! {
                        event = events.recv() => match event {
                            Ok(Event::Disconnected { reason, .. }) => break format!("client {i} lost: {reason}"),
                            Ok(_) => {}
                            Err(err) => break format!("client {i} events: {err}"),
                        },
                        reply = sender.request(WHOAMI, &body) => match reply {
                            Ok(_) => { replies[i].fetch_add(1, Ordering::Relaxed); }
                            Err(err) => break format!("client {i} request failed: {err}"),
                        },
                    }
                };
                lost.lock().unwrap().get_or_insert(why);
            });
            held.push(client);
        }
        Traffic { replies, lost, tasks, _clients: held }
    }

    fn counts(&self) -> Vec<u64> {
        self.replies.iter().map(|r| r.load(Ordering::Relaxed)).collect()
    }

    fn lost(&self) -> Option<String> {
        self.lost.lock().unwrap().clone()
    }

    /// Waits until every client got `more` replies past `from`; fails at
    /// once when one is lost.
    async fn wait_progress(&self, what: &str, from: &[u64], more: u64) {
        wait_until(what, async || {
            self.lost().is_some() || self.counts().iter().zip(from).all(|(now, then)| *now >= then + more)
        })
        .await;
        assert_eq!(self.lost(), None, "{what}: no client may lose its connection");
    }
}

#[tokio::test]
async fn a_certificate_swapped_under_load_drops_no_connection() {
    let (logs, _guard) = Captured::install();
    let ca = TestCa::new("espoir test CA");
    let dir = temp_dir();
    let first = ca.issue(&["localhost"]);
    let (cert, key) = first.write_to(&dir, "proxy");
    // The clients loop as fast as replies come: lift the per-connection
    // rate limits so they measure the swap, not the limiter.
    let unlimited = r#""limits": {"message_rate": 1000000000, "message_burst": 1000000000},"#;
    let proxy = tls_proxy(&cert, &key, unlimited).await;
    assert_eq!(served_cert(&proxy, &ca).await, der_of(&first));

    let mut traffic = Traffic::start(&wss_url(&proxy, "localhost"), &ca, 4).await;
    traffic.wait_progress("traffic flows on every client", &[0; 4], 5).await;

    // A renewed certificate (new key) replaces the files.
    let second = ca.issue(&["localhost"]);
    second.replace(&cert, &key);
    wait_until("new connections get the new certificate", async || {
        served_cert(&proxy, &ca).await == der_of(&second)
    })
    .await;
    traffic.wait_progress("every old connection keeps serving", &traffic.counts(), 5).await;

    // A bad pair (the new certificate with another key) is refused and the
    // last good one stays.
    std::fs::write(&key, ca.issue(&["localhost"]).key_pem).unwrap();
    wait_until("the bad pair is reported", async || logs.text().contains("not reloaded")).await;
    assert!(logs.text().contains("does not fit"), "the refusal says why: {}", logs.text());
    assert_eq!(served_cert(&proxy, &ca).await, der_of(&second), "the last good certificate is still served");
    let client =
        Client::connect(options(wss_url(&proxy, "localhost"), &ca)).await.expect("new clients still served");
    client.request(WHOAMI, &json!({})).await.expect("a reply");
    traffic.wait_progress("old connections still serve", &traffic.counts(), 5).await;

    traffic.tasks.abort_all();
    proxy.stop().await;
}

#[tokio::test]
async fn a_silent_tcp_client_is_dropped_at_the_handshake_deadline() {
    let ca = TestCa::new("espoir test CA");
    let dir = temp_dir();
    let (cert, key) = ca.issue(&["localhost"]).write_to(&dir, "proxy");
    let proxy = tls_proxy(&cert, &key, r#""limits": {"handshake_timeout": 0.5},"#).await;
    let mut silent = TcpStream::connect(proxy.node.addresses().websocket.unwrap()).await.unwrap();
    let mut buf = [0u8; 64];
    // The proxy closes the connection: the read ends (EOF or reset)
    // instead of waiting forever.
    let ended = tokio::time::timeout(WAIT, silent.read(&mut buf)).await;
    assert!(matches!(ended, Ok(Ok(0)) | Ok(Err(_))), "the silent client is dropped: {ended:?}");
    wait_until("the timeout is counted", async || proxy.limit_hits("handshake_timeout") >= 1.0).await;
    proxy.stop().await;
}

#[tokio::test]
async fn a_proxy_whose_key_does_not_fit_its_certificate_does_not_start() {
    let ca = TestCa::new("espoir test CA");
    let dir = temp_dir();
    let (cert, _) = ca.issue(&["localhost"]).write_to(&dir, "proxy");
    let (_, other_key) = ca.issue(&["localhost"]).write_to(&dir, "other");
    let ports = Ports::bind().await;
    let tls = format!(r#""tls": {{"cert": {cert:?}, "key": {other_key:?}}},"#);
    let config = local_proxy_config_ids(&ports, "", &tls, [WHOAMI, WHOAMI]);
    let shutdown = espoir::Shutdown::new();
    match espoir::Node::builder(config).start(&shutdown).await {
        Err(espoir::NodeError::Tls(err)) => {
            let message = err.to_string();
            assert!(message.contains("does not fit") && message.contains("other.key"), "{message}");
        }
        Err(other) => panic!("expected a TLS error, got {other}"),
        Ok(_) => panic!("a proxy with a mismatched pair started"),
    }
    drop(ports);
}
