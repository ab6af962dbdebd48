//! Hostile clients against a proxy: each attack gets the outcome
//! documented in `docs/wire-protocol.md` (§1, "Limits") — an error frame or
//! a close with a specific code — while a well-behaved client on the same
//! proxy keeps being served, and the proxy's buffered bytes stay bounded.
//!
//! Timeouts are configured small (about a second) rather than paused: the
//! proxy's deadlines run against real sockets, whose readiness paused time
//! cannot drive. No assertion is a tight timing bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use espoir::{ClientFrame, Context, EventTable, Status, events, register_event};
use espoir_testkit::*;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

const ECHO: i32 = 1;
const PUSH_ME: i32 = 2;
const PUSHED: i32 = 3;

/// Per-connection queued push bytes allowed in these tests.
const SEND_QUEUE_BYTES: usize = 512 * 1024;

#[register_event(1)]
async fn echo(_ctx: Context, req: Value) -> Result<Value, Status> {
    Ok(req)
}

#[derive(Deserialize)]
struct PushReq {
    n: usize,
    size: usize,
}

/// Pushes `n` frames of `size` bytes to the caller, a few at a time so
/// the proxy writes them while later ones are queued.
#[register_event(2)]
async fn push_me(ctx: Context, req: PushReq) -> Result<Value, Status> {
    let session = ctx.require_session()?.clone();
    let body = json!({ "pad": "x".repeat(req.size) });
    for i in 0..req.n {
        if ctx.push(&session, PUSHED, &body).is_err() {
            return Ok(json!({ "pushed": i }));
        }
        if i % 8 == 7 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    Ok(json!({ "pushed": req.n }))
}

fn handlers() -> EventTable {
    events![echo, push_me]
}

/// The limits every test here runs with; `extra` overrides keys.
fn limits(extra: &str) -> String {
    let per_ip =
        if extra.contains("max_connections_per_ip") { "" } else { r#""max_connections_per_ip": 200,"# };
    format!(
        r#""max_frame": 262144, "timeout": 1.5,
           "limits": {{{per_ip} "message_rate": 20, "message_burst": 20,
                      "send_queue_bytes": {SEND_QUEUE_BYTES}, "handshake_timeout": 1, "write_timeout": 1 {extra}}},"#
    )
}

async fn proxy(limit_overrides: &str) -> TestNode {
    let ports = Ports::bind().await;
    let config = local_proxy_config(&ports, &limits(limit_overrides), "");
    TestNode::start(config, ports, handlers()).await
}

/// A well-behaved client that sends one echo request every 50 ms until
/// stopped, asserting each is answered, and one more once stopped (so it
/// is served after whatever came before the stop); returns how many were.
/// `served` counts as it goes. One request per 50 ms at most stays within
/// the `message_rate` of 20/s set here however fast the machine is: the
/// bucket refills a token per 50 ms.
fn bystander(url: String) -> (Arc<AtomicBool>, Arc<AtomicUsize>, JoinHandle<usize>) {
    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicUsize::new(0));
    let (flag, count) = (Arc::clone(&stop), Arc::clone(&served));
    let task = tokio::spawn(async move {
        let mut client = Client::connect(&url).await;
        let mut served = 0;
        loop {
            let last = flag.load(Ordering::SeqCst);
            let (command, body) = client.request(ECHO, &json!({ "n": served })).await;
            assert_eq!((command, body), (ECHO, json!({ "n": served })), "the bystander is served");
            served += 1;
            count.store(served, Ordering::SeqCst);
            if last {
                return served;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    (stop, served, task)
}

/// Runs `attack` while a bystander, connected and served before it starts,
/// stays connected; checks the bystander is served after it too.
async fn under_attack<F: std::future::Future<Output = ()>>(node: &TestNode, attack: F) {
    let (stop, served, bystander) = bystander(node.ws_url());
    wait_until("the bystander is served", async || served.load(Ordering::SeqCst) >= 1).await;
    attack.await;
    stop.store(true, Ordering::SeqCst);
    let served = tokio::time::timeout(WAIT, bystander).await.expect("the bystander ends").expect("no panic");
    assert!(served >= 2, "the bystander was served before and after the attack");
}

#[tokio::test]
async fn malformed_length_fields_close_with_1002_or_1009_before_any_body_is_buffered() {
    let node = proxy("").await;
    let url = node.ws_url();
    under_attack(&node, async {
        let cases = [(0, 1002), (11, 1002), (-1, 1002), (i32::MAX, 1009), (1 << 30, 1009)];
        for (length, code) in cases {
            let mut ws = RawWs::connect(&url).await;
            ws.send_bytes(header(length, ECHO)).await;
            let (frames, ending) = ws.drain().await;
            assert!(frames.is_empty(), "length {length}: nothing is answered");
            assert_eq!(ending, Ending::Closed(code), "length {length}");
        }
        // A truncated frame (header says 100, 20 bytes come) is waited
        // for, then closed at the idle timeout like any silent client.
        let mut ws = RawWs::connect(&url).await;
        let mut truncated = header(100, ECHO);
        truncated.extend_from_slice(&[b' '; 8]);
        ws.send_bytes(truncated).await;
        assert_eq!(ws.drain().await.1, Ending::Closed(1000));
    })
    .await;
    assert_eq!(node.limit_hits("max_frame"), 2.0);
    assert!(node.limit_hits("idle_timeout") >= 1.0);
}

#[tokio::test]
async fn random_bytes_never_crash_the_proxy_and_end_with_a_documented_code() {
    let node = proxy("").await;
    let url = node.ws_url();
    under_attack(&node, async {
        let mut rng = Rng::seeded(0x5eed_f00d);
        let mut rounds = Vec::new();
        for _ in 0..24 {
            let messages: Vec<Vec<u8>> = (0..1 + rng.next_u64() % 4)
                .map(|_| {
                    let len = 1 + (rng.next_u64() % 3000) as usize;
                    rng.bytes(len)
                })
                .collect();
            let url = url.clone();
            rounds.push(tokio::spawn(async move {
                let mut ws = RawWs::connect(&url).await;
                for m in messages {
                    if !ws.send_bytes(m).await {
                        break;
                    }
                }
                ws.drain().await.1
            }));
        }
        for round in rounds {
            let ending = round.await.expect("no panic");
            // 1002/1009: a bad length; 1000: an incomplete frame, then
            // silence; 1008: frames answered past the message rate.
            let documented = [1000, 1002, 1008, 1009].map(Ending::Closed);
            assert!(documented.contains(&ending), "{ending:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn text_messages_are_closed_with_1003() {
    let node = proxy("").await;
    let url = node.ws_url();
    under_attack(&node, async {
        let mut ws = RawWs::connect(&url).await;
        let _ = futures_util::SinkExt::send(&mut ws.ws, Message::text("{\"hello\": 1}")).await;
        assert_eq!(ws.drain().await.1, Ending::Closed(1003));
    })
    .await;
}

#[tokio::test]
async fn ten_thousand_frames_in_one_message_get_the_burst_answered_then_429_then_1008() {
    let node = proxy("").await;
    let url = node.ws_url();
    under_attack(&node, async {
        let one = ClientFrame::new(ECHO, Bytes::from_static(b"{}")).encode(64).unwrap();
        let message: Vec<u8> = one.iter().copied().cycle().take(one.len() * 10_000).collect();
        let mut ws = RawWs::connect(&url).await;
        ws.send_bytes(message).await;
        let (frames, ending) = ws.drain().await;
        assert_eq!(ending, Ending::Closed(1008), "a flood is closed with 1008");
        let answered = frames.iter().filter(|f| code_of(f).is_none()).count();
        let refused = frames.iter().filter(|f| code_of(f) == Some(429)).count();
        assert!(answered >= 20, "the burst is served: {answered}");
        assert!(refused >= 20, "then refusals: {refused}");
        assert!(frames.len() < 500, "most of the 10 000 frames were never handled: {}", frames.len());
    })
    .await;
    assert!(node.limit_hits("message_rate") >= 20.0);
    assert_eq!(node.limit_hits("message_flood"), 1.0);
}

#[tokio::test]
async fn a_flood_of_messages_gets_429_then_is_closed_with_1008() {
    let node = proxy("").await;
    let url = node.ws_url();
    under_attack(&node, async {
        let mut ws = RawWs::connect(&url).await;
        // Queued, then flushed at once: the proxy gets them as fast as it
        // reads, not as fast as this client writes, so the refill (a token
        // per 50 ms) never breaks the run of refusals, even on a slow machine.
        for i in 0..500 {
            ws.feed_frame(ECHO, &json!({ "i": i })).await;
        }
        ws.flush().await;
        let (frames, ending) = ws.drain().await;
        assert_eq!(ending, Ending::Closed(1008));
        let refusal = frames.iter().find(|f| code_of(f) == Some(429)).expect("a 429 error frame");
        assert_eq!(refusal.command, ECHO, "the refusal carries the refused command id");
    })
    .await;
}

#[tokio::test]
async fn a_slow_reader_is_dropped_and_its_buffered_bytes_stay_under_the_bound() {
    let node = proxy("").await;
    let url = node.ws_url();
    under_attack(&node, async {
        let mut ws = RawWs::connect(&url).await;
        // 64 MiB of pushes, far more than socket buffers hold, never read.
        ws.send_frame(PUSH_ME, &json!({ "n": 4096, "size": 16 * 1024 })).await;
        let gauge = "espoir_client_buffered_bytes";
        let mut highest = 0.0f64;
        let deadline = tokio::time::Instant::now() + WAIT * 3;
        let kicked =
            || node.limit_hits("write_timeout") + node.metric("espoir_client_queue_drops_total") > 0.0;
        while !kicked() {
            highest = highest.max(node.metric(gauge));
            assert!(tokio::time::Instant::now() < deadline, "the slow reader was never dropped");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(highest <= SEND_QUEUE_BYTES as f64, "buffered {highest} bytes; bound {SEND_QUEUE_BYTES}");
        // The session ends (only the bystander is left) and its queued
        // bytes leave the total.
        wait_until("the slow reader's session ends", async || node.node.sessions() == 1).await;
        wait_until("its queued bytes are released", async || node.metric(gauge) == 0.0).await;
        drop(ws);
    })
    .await;
}

#[tokio::test]
async fn silent_clients_are_closed_at_the_idle_and_handshake_timeouts() {
    let node = proxy("").await;
    let url = node.ws_url();
    under_attack(&node, async {
        // Opens the websocket, never speaks: close 1000 "idle timeout".
        let mut ws = RawWs::connect(&url).await;
        assert_eq!(ws.drain().await.1, Ending::Closed(1000));
        // TCP without a websocket upgrade, and a half-sent upgrade: the
        // socket is closed at the handshake timeout.
        let addr = url.trim_start_matches("ws://").to_owned();
        let mut silent = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let mut half = tokio::net::TcpStream::connect(&addr).await.unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut half, b"GET / HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        for stream in [&mut silent, &mut half] {
            let mut buf = [0u8; 64];
            let read = tokio::time::timeout(WAIT, stream.read(&mut buf)).await.expect("closed by the proxy");
            assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
        }
    })
    .await;
    assert!(node.limit_hits("idle_timeout") >= 1.0);
    assert_eq!(node.limit_hits("handshake_timeout"), 2.0);
}

#[tokio::test]
async fn connections_per_source_ip_are_capped_and_freed_on_close() {
    let node = proxy(r#", "max_connections_per_ip": 3"#).await;
    let (stop, _, bystander) = bystander(node.ws_url());
    let url = node.ws_url();
    let mut held = Vec::new();
    // The bystander holds the first place.
    for _ in 0..2 {
        held.push(RawWs::connect(&url).await);
    }
    wait_until("three clients are connected", async || node.node.sessions() == 3).await;
    assert!(tokio_tungstenite::connect_async(&url).await.is_err(), "a fourth from 127.0.0.1 is refused");
    assert!(node.limit_hits("connections_per_ip") >= 1.0);
    let mut first = held.remove(0);
    let _ = first.ws.close(None).await;
    drop(first);
    wait_until("the closed connection's session ends", async || node.node.sessions() == 2).await;
    let again = tokio_tungstenite::connect_async(&url).await;
    assert!(again.is_ok(), "a freed place is reusable");
    stop.store(true, Ordering::Relaxed);
    assert!(bystander.await.expect("no panic") > 0, "the bystander was served");
}

#[tokio::test]
async fn bytes_past_the_byte_rate_pause_reading_and_lose_nothing() {
    let node = proxy(r#", "bytes_rate": 8192, "bytes_burst": 8192"#).await;
    let mut client = Client::connect(&node.ws_url()).await;
    let started = tokio::time::Instant::now();
    let pad = "y".repeat(8000);
    for i in 0..4 {
        client.send(ECHO, &json!({ "i": i, "pad": pad })).await;
    }
    for i in 0..4 {
        let frame = client.recv().await.expect("every frame is answered");
        let body: Value = serde_json::from_slice(&frame.body).unwrap();
        assert_eq!(body["i"], i, "in order");
    }
    // About 24 KB over the burst at 8 KB/s: reading paused for ~3 s. A
    // lower bound only, which a slow machine cannot break.
    assert!(started.elapsed() >= Duration::from_millis(1500), "{:?}", started.elapsed());
    assert!(node.limit_hits("bytes_rate") >= 1.0);
}
/// A small deterministic generator (xorshift64*): reproducible "random"
/// input without a dependency.
struct Rng(u64);

impl Rng {
    fn seeded(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}
