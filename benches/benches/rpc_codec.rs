//! Micro-benchmarks of the RPC side without sockets: envelope encoding with
//! `RpcEncoder`, decoding with `RpcDecoder` + prost, AES-256-GCM sealing and
//! opening, batches of 64 frames in one buffer (the link writer's
//! coalescing path) and the in-memory authentication handshake.

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_main};
use espoir::{
    Lane, NodeId, NodeType, Token,
    secure::{CipherError, Dialer, Established, HandshakeParams, Listener, NONCE_LEN, Opener, Sealer},
    wire::{DEFAULT_MAX_RPC_FRAME, Envelope, Kind, PROTOCOL_VERSION, RpcDecoder, RpcEncoder, RpcFrameError},
};
use prost::Message;
use tokio_util::codec::Decoder;

const TOKEN: &str = "helloworldiloveyou~1234567890123";
/// A 64-byte JSON body, the size of a typical game command.
const PAYLOAD: &[u8] = br#"{"uid":10000001,"room":"r-00042","op":"play","card":"spade_ace"}"#;
const BATCH: usize = 64;

/// A client request on its way from a proxy to a service node.
fn envelope() -> Envelope {
    assert_eq!(PAYLOAD.len(), 64);
    Envelope {
        version: PROTOCOL_VERSION,
        kind: Kind::Request as i32,
        command: 20000,
        request_id: 123_456,
        session_id: "3a868e96c1d28dac1076c9108fbfec48_1".into(),
        source: NodeId::of("127.0.0.1", 21001).to_wire(),
        to: NodeId::of("127.0.0.1", 22001).to_wire(),
        prev: NodeType::Proxy as i32,
        ttl: 8,
        payload: Bytes::from_static(PAYLOAD),
        ..Envelope::default()
    }
}

#[derive(Debug)]
#[allow(dead_code)] // Only read through `Debug` when a bench panics.
enum WriteError {
    Frame(RpcFrameError),
    Encode(prost::EncodeError),
    Cipher(CipherError),
}

impl From<RpcFrameError> for WriteError {
    fn from(e: RpcFrameError) -> Self {
        WriteError::Frame(e)
    }
}

/// Appends one frame to `dst`, sealed if a sealer is given: exactly what the
/// link writer does per envelope.
fn encode(enc: &RpcEncoder, dst: &mut BytesMut, env: &Envelope, sealer: Option<&mut Sealer>) {
    enc.encode_with(dst, |b| {
        let start = b.len();
        env.encode(b).map_err(WriteError::Encode)?;
        if let Some(sealer) = sealer {
            sealer.seal(b, start).map_err(WriteError::Cipher)?;
        }
        Ok::<_, WriteError>(())
    })
    .unwrap();
}

/// Takes one frame off `src`, opens it if an opener is given and decodes
/// the envelope: exactly what the link reader does per frame.
fn decode(dec: &mut RpcDecoder, src: &mut BytesMut, opener: Option<&mut Opener>) -> Envelope {
    let mut frame = dec.decode(src).unwrap().expect("a whole frame");
    if let Some(opener) = opener {
        opener.open(&mut frame).unwrap();
    }
    Envelope::decode(frame.freeze()).unwrap()
}

/// Runs the sans-IO handshake in memory; returns (dialer, listener) sides.
fn handshake(encrypt: bool) -> (Established, Established) {
    let params = |port, node_type| HandshakeParams {
        node_id: NodeId::of("127.0.0.1", port),
        node_type,
        token: Token::from(TOKEN),
        encrypt,
        lane: Lane::SOLE,
    };
    let (dialer, hello) = Dialer::start(params(21001, NodeType::Proxy), [1; NONCE_LEN]);
    let (awaiting, l_hello) =
        Listener::on_hello(params(22001, NodeType::Route), hello, [2; NONCE_LEN]).unwrap();
    let (d_wait, proof) = dialer.on_hello(l_hello).unwrap();
    let (listener, verdict) = awaiting.on_proof(proof).unwrap();
    let dialer = d_wait.on_verdict(verdict).unwrap();
    (dialer, listener)
}

/// A sealer and the matching opener (dialer → listener direction).
fn cipher_pair() -> (Sealer, Opener) {
    let (dialer, listener) = handshake(true);
    (dialer.sealer.unwrap(), listener.opener.unwrap())
}

fn single(c: &mut Criterion) {
    let env = envelope();
    let enc = RpcEncoder::new(DEFAULT_MAX_RPC_FRAME);
    let mut group = c.benchmark_group("rpc_envelope");
    group.throughput(Throughput::Elements(1));

    for sealed in [false, true] {
        let mode = if sealed { "sealed" } else { "plain" };
        let (mut sealer, _) = cipher_pair();
        group.bench_function(BenchmarkId::new("encode", mode), |b| {
            let mut dst = BytesMut::with_capacity(4096);
            b.iter(|| {
                encode(&enc, &mut dst, black_box(&env), sealed.then_some(&mut sealer));
                black_box(&dst);
                dst.clear();
            });
        });

        // Inputs are sealed in setup, in order, and opened in the same order,
        // by a fresh pair, so the opener's frame counter stays in step with
        // the sealer's.
        let (mut sealer, mut opener) = cipher_pair();
        let mut dec = RpcDecoder::new(DEFAULT_MAX_RPC_FRAME);
        group.bench_function(BenchmarkId::new("decode", mode), |b| {
            b.iter_batched(
                || {
                    let mut src = BytesMut::with_capacity(256);
                    encode(&enc, &mut src, &env, sealed.then_some(&mut sealer));
                    src
                },
                |mut src| black_box(decode(&mut dec, &mut src, sealed.then_some(&mut opener))),
                // 1024 inputs of 256 bytes stay in L2, as a freshly read
                // socket buffer would be; the timer runs once per 1024.
                BatchSize::NumIterations(1024),
            );
        });
    }
    group.finish();
}

fn batch(c: &mut Criterion) {
    let envs: Vec<Envelope> =
        (0..BATCH as u64).map(|i| Envelope { request_id: 1000 + i, ..envelope() }).collect();
    let enc = RpcEncoder::new(DEFAULT_MAX_RPC_FRAME);
    let mut group = c.benchmark_group("rpc_batch64");
    group.throughput(Throughput::Elements(BATCH as u64));

    for sealed in [false, true] {
        let mode = if sealed { "sealed" } else { "plain" };
        // The writer's coalescing path: 64 queued envelopes into one buffer,
        // written with one syscall.
        let (mut sealer, _) = cipher_pair();
        group.bench_function(BenchmarkId::new("encode_one_buffer", mode), |b| {
            let mut dst = BytesMut::with_capacity(64 * 1024);
            b.iter(|| {
                for env in black_box(&envs) {
                    encode(&enc, &mut dst, env, sealed.then_some(&mut sealer));
                }
                black_box(&dst);
                dst.clear();
            });
        });

        // The reader's side: one read delivering 64 frames (fresh pair, as
        // above).
        let (mut sealer, mut opener) = cipher_pair();
        let mut dec = RpcDecoder::new(DEFAULT_MAX_RPC_FRAME);
        group.bench_function(BenchmarkId::new("decode_one_buffer", mode), |b| {
            b.iter_batched(
                || {
                    let mut src = BytesMut::with_capacity(BATCH * 256);
                    for env in &envs {
                        encode(&enc, &mut src, env, sealed.then_some(&mut sealer));
                    }
                    src
                },
                |mut src| {
                    for _ in 0..BATCH {
                        black_box(decode(&mut dec, &mut src, sealed.then_some(&mut opener)));
                    }
                },
                // 16 inputs of ~11 KiB: in cache, like a socket read just done.
                BatchSize::NumIterations(16),
            );
        });
    }
    group.finish();
}

fn handshakes(c: &mut Criterion) {
    let mut group = c.benchmark_group("handshake_in_memory");
    group.throughput(Throughput::Elements(1));
    for encrypt in [false, true] {
        let mode = if encrypt { "encrypted" } else { "plain" };
        group.bench_function(mode, |b| b.iter(|| black_box(handshake(black_box(encrypt)))));
    }
    group.finish();
}

/// Runs every benchmark of this file: what `criterion_group!` generates,
/// written out because the generated `pub fn` has no doc comment.
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    single(&mut c);
    batch(&mut c);
    handshakes(&mut c);
}

criterion_main!(benches);
