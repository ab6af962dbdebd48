//! Request/response over one loopback RPC link between two `RpcEndpoint`s:
//! sequential call latency and throughput with 64 calls in flight, plain
//! and AES-256-GCM encrypted, on a 2-worker tokio runtime.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};
use espoir::{
    NodeId, NodeType, Shutdown, Token,
    wire::{EndpointConfig, Envelope, Incoming, Kind, Link, PeerSpec, RpcEndpoint, TransportStats},
};
use futures_util::future::join_all;
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio::sync::mpsc;

const TOKEN: &str = "helloworldiloveyou~1234567890123";
/// The same 64-byte JSON body as the codec benchmarks.
const PAYLOAD: &[u8] = br#"{"uid":10000001,"room":"r-00042","op":"play","card":"spade_ace"}"#;
const IN_FLIGHT: usize = 64;
const DEADLINE: Duration = Duration::from_secs(5);

/// A dialing endpoint linked to a serving one that echoes every request.
struct LinkedPair {
    client: RpcEndpoint,
    server: RpcEndpoint,
    link: Link,
    shutdown: Shutdown,
    /// Kept so the client's link never sees its inbound queue closed.
    _client_inbound: mpsc::Receiver<Incoming>,
}

async fn linked_pair(encrypt: bool) -> LinkedPair {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = Shutdown::new();

    let server_cfg =
        EndpointConfig::new(NodeId::of("127.0.0.1", addr.port()), NodeType::Service, Token::from(TOKEN));
    let (server, mut inbound) = RpcEndpoint::new(server_cfg, &shutdown);
    server.serve(listener);
    let (responder, stop) = (server.clone(), shutdown.clone());
    shutdown.spawn(async move {
        loop {
            let Incoming { link, envelope } = tokio::select! {
                () = stop.cancelled() => return,
                incoming = inbound.recv() => match incoming {
                    Some(incoming) => incoming,
                    None => return,
                },
            };
            if envelope.kind() == Kind::Request {
                let reply = responder.response_to(&envelope, envelope.payload.clone());
                let _ = link.send(reply);
            }
        }
    });

    let client_cfg = EndpointConfig::new(NodeId::of("127.0.0.1", 21001), NodeType::Proxy, Token::from(TOKEN));
    let (client, client_inbound) = RpcEndpoint::new(client_cfg, &shutdown);
    let peer = client.connect(PeerSpec {
        host: "127.0.0.1".into(),
        port: addr.port(),
        token: Token::from(TOKEN),
        encrypt,
        reconnect: Duration::from_millis(100),
        max_backoff: Duration::from_secs(1),
    });
    let link = peer.wait_up(DEADLINE).await.expect("loopback link up");
    assert_eq!(link.encrypted(), encrypt);
    LinkedPair { client, server, link, shutdown, _client_inbound: client_inbound }
}

fn request(to: &NodeId) -> Envelope {
    Envelope {
        command: 20000,
        session_id: "3a868e96c1d28dac1076c9108fbfec48_1".into(),
        to: to.to_wire(),
        prev: NodeType::Proxy as i32,
        ttl: 8,
        payload: Bytes::from_static(PAYLOAD),
        ..Envelope::default()
    }
}

/// Frames written and write calls of both endpoints, for the coalescing ratio.
fn write_counters(pair: &LinkedPair) -> [u64; 4] {
    let (c, s) = (pair.client.stats(), pair.server.stats());
    [
        TransportStats::get(&c.frames_written),
        TransportStats::get(&c.writes),
        TransportStats::get(&s.frames_written),
        TransportStats::get(&s.writes),
    ]
}

fn report_coalescing(name: &str, before: [u64; 4], after: [u64; 4]) {
    let ratio = |frames: u64, writes: u64| frames as f64 / writes.max(1) as f64;
    eprintln!(
        "{name}: frames per write: client {:.2}, server {:.2}",
        ratio(after[0] - before[0], after[1] - before[1]),
        ratio(after[2] - before[2], after[3] - before[3]),
    );
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn calls(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("rpc_link_call");

    for encrypt in [false, true] {
        let mode = if encrypt { "encrypted" } else { "plain" };
        let pair = rt.block_on(linked_pair(encrypt));
        let req = request(pair.server.node_id());

        // (a) Latency: one call at a time. The measured loop runs as a task
        // on the runtime's workers, like a node's own handler would.
        group.throughput(Throughput::Elements(1));
        let before = write_counters(&pair);
        group.bench_function(BenchmarkId::new("sequential", mode), |b| {
            b.to_async(&rt).iter_custom(|iters| {
                let (client, link, req) = (pair.client.clone(), pair.link.clone(), req.clone());
                async move {
                    tokio::spawn(async move {
                        let start = Instant::now();
                        for _ in 0..iters {
                            black_box(client.call(&link, req.clone(), DEADLINE).await.unwrap());
                        }
                        start.elapsed()
                    })
                    .await
                    .unwrap()
                }
            });
        });
        report_coalescing(&format!("sequential/{mode}"), before, write_counters(&pair));

        // (b) Throughput: 64 calls in flight on the one link.
        group.throughput(Throughput::Elements(IN_FLIGHT as u64));
        let before = write_counters(&pair);
        group.bench_function(BenchmarkId::new("concurrent64", mode), |b| {
            b.to_async(&rt).iter_custom(|iters| {
                let (client, link, req) = (pair.client.clone(), pair.link.clone(), req.clone());
                async move {
                    tokio::spawn(async move {
                        let start = Instant::now();
                        for _ in 0..iters {
                            let batch = (0..IN_FLIGHT).map(|_| client.call(&link, req.clone(), DEADLINE));
                            for reply in join_all(batch).await {
                                black_box(reply.unwrap());
                            }
                        }
                        start.elapsed()
                    })
                    .await
                    .unwrap()
                }
            });
        });
        report_coalescing(&format!("concurrent64/{mode}"), before, write_counters(&pair));

        assert_eq!(TransportStats::get(&pair.client.stats().call_timeouts), 0);
        assert_eq!(TransportStats::get(&pair.client.stats().queue_drops), 0);
        assert!(rt.block_on(pair.shutdown.finish(Duration::from_secs(2))), "endpoints stop cleanly");
    }
    group.finish();
}

/// Runs every benchmark of this file: what `criterion_group!` generates,
/// written out because the generated `pub fn` has no doc comment.
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    calls(&mut c);
}

criterion_main!(benches);
