//! Micro-benchmarks of the obespoir-compatible client frame codec
//! (`ClientDecoder` / `ClientFrame`), the proxy's per-message hot path.

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};
use espoir::{ClientDecoder, ClientFrame, DEFAULT_MAX_CLIENT_FRAME};

/// obespoir's demo login request (command 1000).
const LOGIN_BODY: &[u8] = br#"{"name":"jamon","passwd":"test"}"#;
const LOGIN_COMMAND: i32 = 1000;

/// The login frame as a client sends it: one frame per websocket message.
fn login_frame() -> Bytes {
    ClientFrame::new(LOGIN_COMMAND, Bytes::from_static(LOGIN_BODY)).encode(DEFAULT_MAX_CLIENT_FRAME).unwrap()
}

fn decode(c: &mut Criterion) {
    let frame = login_frame();
    let mut group = c.benchmark_group("client_decode");

    // One frame per message: the common case. `Bytes::clone` is a refcount
    // bump, as when the websocket layer hands over a received message.
    group.throughput(Throughput::Elements(1));
    group.bench_function(BenchmarkId::new("one_frame", frame.len()), |b| {
        let mut decoder = ClientDecoder::new(DEFAULT_MAX_CLIENT_FRAME);
        let mut out = Vec::with_capacity(4);
        b.iter(|| {
            decoder.feed(black_box(frame.clone()), &mut out).unwrap();
            black_box(&out);
            out.clear();
        });
    });

    // 100 frames packed into one message (obespoir spec §2.4).
    let mut packed = BytesMut::with_capacity(frame.len() * 100);
    for _ in 0..100 {
        packed.extend_from_slice(&frame);
    }
    let packed = packed.freeze();
    group.throughput(Throughput::Elements(100));
    group.bench_function(BenchmarkId::new("100_frames_one_message", packed.len()), |b| {
        let mut decoder = ClientDecoder::new(DEFAULT_MAX_CLIENT_FRAME);
        let mut out = Vec::with_capacity(128);
        b.iter(|| {
            decoder.feed(black_box(packed.clone()), &mut out).unwrap();
            debug_assert_eq!(out.len(), 100);
            black_box(&out);
            out.clear();
        });
    });

    // One frame split across 3 messages (spec §2.2): the first cut falls
    // inside the header, the second inside the body, so both reassembly
    // paths run.
    let pieces = [frame.slice(..5), frame.slice(5..20), frame.slice(20..)];
    group.throughput(Throughput::Elements(1));
    group.bench_function(BenchmarkId::new("one_frame_in_3_messages", frame.len()), |b| {
        let mut decoder = ClientDecoder::new(DEFAULT_MAX_CLIENT_FRAME);
        let mut out = Vec::with_capacity(4);
        b.iter(|| {
            for piece in &pieces {
                decoder.feed(black_box(piece.clone()), &mut out).unwrap();
            }
            debug_assert_eq!(out.len(), 1);
            black_box(&out);
            out.clear();
        });
    });
    group.finish();
}

fn encode(c: &mut Criterion) {
    let reply = ClientFrame::new(LOGIN_COMMAND, Bytes::from(vec![b'x'; 128]));
    let mut group = c.benchmark_group("client_encode");
    group.throughput(Throughput::Elements(1));

    // What the proxy does per reply: one freshly allocated buffer per
    // websocket message.
    group.bench_function(BenchmarkId::new("reply_128B_encode", reply.wire_len()), |b| {
        b.iter(|| black_box(black_box(&reply).encode(DEFAULT_MAX_CLIENT_FRAME).unwrap()));
    });

    // The same into a reused buffer: the cost of the framing alone.
    group.bench_function(BenchmarkId::new("reply_128B_encode_to_reused", reply.wire_len()), |b| {
        let mut dst = BytesMut::with_capacity(1024);
        b.iter(|| {
            black_box(&reply).encode_to(&mut dst, DEFAULT_MAX_CLIENT_FRAME).unwrap();
            black_box(&dst);
            dst.clear();
        });
    });
    group.finish();
}

/// Runs every benchmark of this file: what `criterion_group!` generates,
/// written out because the generated `pub fn` has no doc comment.
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    decode(&mut c);
    encode(&mut c);
}

criterion_main!(benches);
