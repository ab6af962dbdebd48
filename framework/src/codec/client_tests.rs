use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::*;

const LOGIN: &str = "2c000000e803000000000000\
    7b226e616d65223a226a616d6f6e222c22706173737764223a2274657374227d";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn decode_all(dec: &mut ClientDecoder, msgs: &[&[u8]]) -> Result<Vec<ClientFrame>, ClientFrameError> {
    let mut out = Vec::new();
    for m in msgs {
        dec.feed(Bytes::copy_from_slice(m), &mut out)?;
    }
    Ok(out)
}

#[test]
fn decodes_obespoir_demo_login_frame_byte_for_byte() {
    let bytes = hex(LOGIN);
    let mut dec = ClientDecoder::new(DEFAULT_MAX_CLIENT_FRAME);
    let frames = decode_all(&mut dec, &[&bytes]).unwrap();
    assert_eq!(frames, vec![ClientFrame::new(1000, &br#"{"name":"jamon","passwd":"test"}"#[..])]);
    assert_eq!(frames[0].encode(DEFAULT_MAX_CLIENT_FRAME).unwrap().as_ref(), &bytes[..]);
}

#[test]
fn encodes_obespoir_reply_header() {
    // Spec §2.4: the enter-rank reply has header 8c000000 204e0000 00000000.
    let body = vec![b'x'; 128];
    let wire = ClientFrame::new(20000, body).encode(DEFAULT_MAX_CLIENT_FRAME).unwrap();
    assert_eq!(&wire[..12], &hex("8c000000204e000000000000")[..]);
}

#[test]
fn several_frames_in_one_message_and_one_frame_over_many_messages() {
    let a = ClientFrame::new(1, &b"{}"[..]).encode(1024).unwrap();
    let b =
        ClientFrame { command: -7, version: 3, body: Bytes::from_static(b"[1,2,3]") }.encode(1024).unwrap();
    let mut joined = a.to_vec();
    joined.extend_from_slice(&b);
    let mut dec = ClientDecoder::new(1024);
    let frames = decode_all(&mut dec, &[&joined]).unwrap();
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[1].version, 3);

    let pieces: Vec<&[u8]> = joined.iter().map(std::slice::from_ref).collect();
    let frames2 = decode_all(&mut ClientDecoder::new(1024), &pieces).unwrap();
    assert_eq!(frames, frames2);
}

#[test]
fn empty_body_is_a_frame() {
    let mut dec = ClientDecoder::new(64);
    let frames = decode_all(&mut dec, &[&hex("0c0000001027000000000000")]).unwrap();
    assert_eq!(frames, vec![ClientFrame::new(10000, Bytes::new())]);
}

#[test]
fn refuses_short_negative_and_oversized_lengths_before_buffering() {
    for (len, code) in
        [(0i32, 1002), (11, 1002), (-1, 1002), (i32::MIN, 1002), (1025, 1009), (i32::MAX, 1009)]
    {
        let mut header = BytesMut::new();
        header.extend_from_slice(&len.to_le_bytes());
        header.extend_from_slice(&1i32.to_le_bytes());
        header.extend_from_slice(&0i32.to_le_bytes());
        let mut dec = ClientDecoder::new(1024);
        let err = decode_all(&mut dec, &[&header[..5], &header[5..]]).unwrap_err();
        assert_eq!(err.close_code(), code, "length {len}");
        assert!(dec.buffered() <= CLIENT_HEADER_LEN, "only the bad header itself is held");
    }
}

#[test]
fn one_gib_announcement_is_refused_with_nothing_buffered() {
    let mut msg = Vec::new();
    msg.extend_from_slice(&(1i32 << 30).to_le_bytes());
    msg.extend_from_slice(&[0; 8]);
    msg.extend_from_slice(&[b'a'; 4096]);
    let mut dec = ClientDecoder::new(DEFAULT_MAX_CLIENT_FRAME);
    let err = decode_all(&mut dec, &[&msg]).unwrap_err();
    assert!(matches!(err, ClientFrameError::TooLarge { declared, .. } if declared == 1 << 30));
    assert_eq!(dec.buffered(), 0);
}

#[test]
fn frames_before_a_bad_header_are_still_delivered() {
    let mut msg = ClientFrame::new(5, &b"ok"[..]).encode(64).unwrap().to_vec();
    msg.extend_from_slice(&3i32.to_le_bytes());
    msg.extend_from_slice(&[0; 8]);
    let mut out = Vec::new();
    let err = ClientDecoder::new(64).feed(Bytes::from(msg), &mut out);
    assert!(err.is_err());
    assert_eq!(out, vec![ClientFrame::new(5, &b"ok"[..])]);
}

#[test]
fn encoder_refuses_frames_over_the_maximum() {
    let frame = ClientFrame::new(1, vec![0u8; 100]);
    assert!(frame.encode(111).is_err());
    assert!(frame.encode(112).is_ok());
}

fn arb_frame() -> impl Strategy<Value = ClientFrame> {
    (any::<i32>(), any::<i32>(), proptest::collection::vec(any::<u8>(), 0..300))
        .prop_map(|(command, version, body)| ClientFrame { command, version, body: body.into() })
}

/// Splits `data` at the given cut points (taken modulo its length).
fn split_at_points(data: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> =
        cuts.iter().map(|c| if data.is_empty() { 0 } else { c % data.len() }).collect();
    points.push(0);
    points.push(data.len());
    points.sort_unstable();
    points.dedup();
    points.windows(2).map(|w| data[w[0]..w[1]].to_vec()).collect()
}

proptest! {
    #[test]
    fn valid_frames_round_trip_however_the_stream_is_split(
        frames in proptest::collection::vec(arb_frame(), 0..20),
        cuts in proptest::collection::vec(any::<usize>(), 0..30),
    ) {
        let mut stream = BytesMut::new();
        for f in &frames {
            f.encode_to(&mut stream, 4096).unwrap();
        }
        let mut dec = ClientDecoder::new(4096);
        let mut out = Vec::new();
        for piece in split_at_points(&stream, &cuts) {
            dec.feed(Bytes::from(piece), &mut out).unwrap();
            prop_assert!(dec.buffered() < 4096);
        }
        prop_assert_eq!(out, frames);
        prop_assert_eq!(dec.buffered(), 0);
    }

    #[test]
    fn arbitrary_bytes_never_panic_nor_overbuffer(
        data in proptest::collection::vec(any::<u8>(), 0..2000),
        cuts in proptest::collection::vec(any::<usize>(), 0..30),
        max in 12usize..600,
    ) {
        let mut dec = ClientDecoder::new(max);
        let mut out = Vec::new();
        for piece in split_at_points(&data, &cuts) {
            match dec.feed(Bytes::from(piece), &mut out) {
                Ok(()) => prop_assert!(dec.buffered() < max),
                Err(_) => break,
            }
        }
        for f in &out {
            prop_assert!(f.wire_len() <= max);
        }
    }
}
