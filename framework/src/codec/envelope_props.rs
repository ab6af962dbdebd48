//! Property tests across the layers a peer's bytes go through: RPC frame →
//! prost envelope, and a client body → typed request. Whatever arrives,
//! each layer gives a value or a typed error, never a panic.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use prost::Message;
use tokio_util::codec::Decoder;

use super::{RpcDecoder, RpcEncoder};
use crate::proto::{Envelope, Kind, Pin};

/// A fixed, small budget: these run in CI on every push.
fn budget() -> ProptestConfig {
    ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() }
}

fn arb_envelope() -> impl Strategy<Value = Envelope> {
    (
        (0..6i32, any::<i32>(), any::<u64>(), "[0-9a-f_]{0,40}", "[0-9a-f]{0,32}", "[0-9a-f]{0,32}"),
        (any::<u32>(), any::<u32>(), proptest::collection::vec(any::<u8>(), 0..300)),
        (proptest::collection::vec((0..4i32, "[0-9a-f]{32}"), 0..3), "[a-z0-9]{0,12}"),
        proptest::collection::hash_map("[a-z]{1,8}", "[ -~]{0,16}", 0..4),
    )
        .prop_map(
            |(
                (kind, command, request_id, session_id, source, to),
                (ttl, status, payload),
                (pins, uid),
                data,
            )| {
                Envelope {
                    version: crate::codec::PROTOCOL_VERSION,
                    kind,
                    command,
                    request_id,
                    session_id: session_id.into(),
                    source: source.into(),
                    to: to.into(),
                    ttl,
                    status,
                    payload: Bytes::from(payload),
                    pins: pins.into_iter().map(|(node_type, node_id)| Pin { node_type, node_id }).collect(),
                    uid,
                    session_data: data.into_iter().collect(),
                    ..Envelope::default()
                }
            },
        )
}

/// Cuts `data` at the given points (modulo its length).
fn pieces(data: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> =
        cuts.iter().map(|c| if data.is_empty() { 0 } else { c % data.len() }).collect();
    points.extend([0, data.len()]);
    points.sort_unstable();
    points.dedup();
    points.windows(2).map(|w| data[w[0]..w[1]].to_vec()).collect()
}

proptest! {
    #![proptest_config(budget())]

    #[test]
    fn envelopes_round_trip_through_frames_split_anywhere(
        envelopes in proptest::collection::vec(arb_envelope(), 0..8),
        cuts in proptest::collection::vec(any::<usize>(), 0..24),
    ) {
        const MAX: usize = 16 * 1024;
        let enc = RpcEncoder::new(MAX);
        let mut stream = BytesMut::new();
        for env in &envelopes {
            enc.encode_with(&mut stream, |b| env.encode(b).map_err(|_| super::RpcFrameError::TooLarge { max: MAX })).unwrap();
        }
        let mut dec = RpcDecoder::new(MAX);
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for piece in pieces(&stream, &cuts) {
            buf.extend_from_slice(&piece);
            while let Some(frame) = dec.decode(&mut buf).unwrap() {
                out.push(Envelope::decode(frame.freeze()).unwrap());
            }
        }
        prop_assert_eq!(out, envelopes);
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn arbitrary_frame_bodies_decode_or_give_a_typed_error(body in proptest::collection::vec(any::<u8>(), 0..600)) {
        // What a link does with a frame: a decode error closes the link
        // (LinkError::Decode); it never panics, and whatever decodes has a
        // kind the node either handles or drops.
        if let Ok(env) = Envelope::decode(Bytes::from(body)) {
            let _ = Kind::try_from(env.kind);
            let _ = env.kind();
        }
    }

    #[test]
    fn arbitrary_client_bodies_become_a_request_or_a_bad_request(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        struct Login { name: String, password: String }
        match crate::handler::decode_body::<Login>(&body) {
            Ok(_) => {}
            Err(status) => prop_assert_eq!(status.code(), crate::status::Code::BAD_REQUEST),
        }
        match crate::handler::decode_body::<serde_json::Value>(&body) {
            Ok(_) => prop_assert!(serde_json::from_slice::<serde_json::Value>(&body).is_ok() || body.iter().all(u8::is_ascii_whitespace)),
            Err(status) => prop_assert_eq!(status.code(), crate::status::Code::BAD_REQUEST),
        }
    }
}
