use bytes::BytesMut;

use super::*;

fn params(port: u16, token: &str, encrypt: bool, node_type: NodeType) -> HandshakeParams {
    HandshakeParams {
        node_id: NodeId::of("127.0.0.1", port),
        node_type,
        token: Token::from(token),
        encrypt,
        lane: Lane::SOLE,
    }
}

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// Runs a whole handshake in memory; returns (dialer result, listener result).
fn run(
    d: HandshakeParams,
    l: HandshakeParams,
) -> (Result<Established, HandshakeError>, Result<Established, HandshakeError>) {
    let (dialer, hello) = Dialer::start(d, [1; NONCE_LEN]);
    let (awaiting, l_hello) = match Listener::on_hello(l, hello, [2; NONCE_LEN]) {
        Ok(x) => x,
        Err(e) => return (Err(HandshakeError::Refused("listener refused hello".into())), Err(e)),
    };
    let (d_wait, proof) = match dialer.on_hello(l_hello) {
        Ok(x) => x,
        Err(e) => return (Err(e), Err(HandshakeError::Timeout)),
    };
    match awaiting.on_proof(proof) {
        Ok((est, verdict)) => (d_wait.on_verdict(verdict), Ok(est)),
        Err(e) => (d_wait.on_verdict(e.refusal()), Err(e)),
    }
}

#[test]
fn same_token_authenticates_both_sides() {
    let (d, l) = run(params(1, TOKEN, false, NodeType::Proxy), params(2, TOKEN, false, NodeType::Route));
    let (d, l) = (d.unwrap(), l.unwrap());
    assert_eq!(d.peer_id, NodeId::of("127.0.0.1", 2));
    assert_eq!(d.peer_type, NodeType::Route);
    assert_eq!(l.peer_id, NodeId::of("127.0.0.1", 1));
    assert_eq!(l.peer_type, NodeType::Proxy);
    assert!(!d.encrypted() && !l.encrypted());
}

#[test]
fn wrong_token_fails_on_both_sides() {
    let (d, l) = run(
        params(1, TOKEN, false, NodeType::Proxy),
        params(2, "another token entirely....", false, NodeType::Route),
    );
    // The dialer sees the listener cannot prove the token and stops first.
    assert_eq!(d.unwrap_err(), HandshakeError::BadProof);
    assert!(l.is_err());
}

#[test]
fn listener_refuses_a_dialer_with_the_wrong_token() {
    let d = params(1, "not the token, not at all", false, NodeType::Proxy);
    let l = params(2, TOKEN, false, NodeType::Route);
    let (_dialer, hello) = Dialer::start(d.clone(), [1; NONCE_LEN]);
    let (awaiting, _) = Listener::on_hello(l, hello, [2; NONCE_LEN]).unwrap();
    // A dialer that ignores the listener's failed proof still cannot forge its own.
    let forged = HmacSha256::new_from_slice(d.token.expose()).unwrap().finalize().into_bytes().to_vec();
    let err = awaiting.on_proof(step(Step::Proof(Proof { mac: forged.into() }))).unwrap_err();
    assert_eq!(err, HandshakeError::BadProof);
    assert_eq!(err.kind(), "bad_token");
}

#[test]
fn replayed_dialer_messages_are_refused_by_a_fresh_listener() {
    let d = params(1, TOKEN, false, NodeType::Proxy);
    let l = params(2, TOKEN, false, NodeType::Route);
    // A genuine handshake, recorded by an eavesdropper.
    let (dialer, hello) = Dialer::start(d, [1; NONCE_LEN]);
    let (awaiting, l_hello) = Listener::on_hello(l.clone(), hello.clone(), [2; NONCE_LEN]).unwrap();
    let (_, proof) = dialer.on_hello(l_hello).unwrap();
    awaiting.on_proof(proof.clone()).unwrap();
    // Replayed against a new connection: the listener's nonce is new.
    let (awaiting, _) = Listener::on_hello(l, hello, [3; NONCE_LEN]).unwrap();
    assert_eq!(awaiting.on_proof(proof).unwrap_err(), HandshakeError::BadProof);
}

#[test]
fn version_mismatch_is_refused_with_a_clear_reason() {
    let (_, mut hello) = Dialer::start(params(1, TOKEN, false, NodeType::Proxy), [1; NONCE_LEN]);
    if let Some(Step::Hello(h)) = &mut hello.step {
        h.protocol_version = 99;
    }
    let err =
        Listener::on_hello(params(2, TOKEN, false, NodeType::Route), hello, [2; NONCE_LEN]).unwrap_err();
    assert_eq!(err, HandshakeError::Version { peer: 99 });
    match err.refusal().step {
        Some(Step::Verdict(v)) => {
            assert!(!v.accepted);
            assert!(v.reason.contains("99"), "{}", v.reason);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn malformed_hellos_are_refused() {
    let (_, good) = Dialer::start(params(1, TOKEN, false, NodeType::Proxy), [1; NONCE_LEN]);
    let mutate = |f: &dyn Fn(&mut Hello)| {
        let mut m = good.clone();
        if let Some(Step::Hello(h)) = &mut m.step {
            f(h);
        }
        Listener::on_hello(params(2, TOKEN, false, NodeType::Route), m, [2; NONCE_LEN]).unwrap_err()
    };
    assert!(matches!(mutate(&|h| h.node_id = "x".into()), HandshakeError::Malformed(_)));
    assert!(matches!(mutate(&|h| h.node_type = 0), HandshakeError::Malformed(_)));
    assert!(matches!(mutate(&|h| h.node_type = 42), HandshakeError::Malformed(_)));
    assert!(matches!(mutate(&|h| h.nonce = vec![0; 5].into()), HandshakeError::Malformed(_)));
    let not_hello = step(Step::Proof(Proof::default()));
    assert!(Listener::on_hello(params(2, TOKEN, false, NodeType::Route), not_hello, [2; NONCE_LEN]).is_err());
}

#[test]
fn a_tampered_hello_breaks_the_proof() {
    // A man in the middle turning off the dialer's encryption wish.
    let d = params(1, TOKEN, true, NodeType::Proxy);
    let l = params(2, TOKEN, false, NodeType::Route);
    let (dialer, mut hello) = Dialer::start(d, [1; NONCE_LEN]);
    if let Some(Step::Hello(h)) = &mut hello.step {
        h.encrypt = false;
    }
    let (_, l_hello) = Listener::on_hello(l, hello, [2; NONCE_LEN]).unwrap();
    assert_eq!(dialer.on_hello(l_hello).unwrap_err(), HandshakeError::BadProof);
}

#[test]
fn encryption_is_on_when_either_side_asks_and_keys_match_per_direction() {
    for (de, le) in [(true, false), (false, true), (true, true)] {
        let (d, l) = run(params(1, TOKEN, de, NodeType::Service), params(2, TOKEN, le, NodeType::Route));
        let (mut d, mut l) = (d.unwrap(), l.unwrap());
        assert!(d.encrypted() && l.encrypted());
        let mut buf = BytesMut::from(&b"dialer to listener"[..]);
        d.sealer.as_mut().unwrap().seal(&mut buf, 0).unwrap();
        l.opener.as_mut().unwrap().open(&mut buf).unwrap();
        assert_eq!(&buf[..], b"dialer to listener");
        let mut buf = BytesMut::from(&b"listener to dialer"[..]);
        l.sealer.as_mut().unwrap().seal(&mut buf, 0).unwrap();
        // A frame cannot be reflected back to its sender: other key.
        assert!(l.opener.as_mut().unwrap().open(&mut buf.clone()).is_err());
        d.opener.as_mut().unwrap().open(&mut buf).unwrap();
    }
}

#[test]
fn both_sides_learn_the_dialer_s_lane() {
    let mut d = params(1, TOKEN, false, NodeType::Proxy);
    d.lane = Lane::new(2, 4).unwrap();
    let (d, l) = run(d, params(2, TOKEN, false, NodeType::Service));
    assert_eq!(d.unwrap().lane, Lane::new(2, 4).unwrap());
    assert_eq!(l.unwrap().lane, Lane::new(2, 4).unwrap());
}

#[test]
fn a_hello_without_lanes_is_the_sole_lane_and_a_lane_out_of_range_is_refused() {
    let l = || params(2, TOKEN, false, NodeType::Route);
    let (_, mut hello) = Dialer::start(params(1, TOKEN, false, NodeType::Proxy), [1; NONCE_LEN]);
    if let Some(Step::Hello(h)) = &mut hello.step {
        (h.lane, h.lanes) = (0, 0);
    }
    assert!(Listener::on_hello(l(), hello.clone(), [2; NONCE_LEN]).is_ok());
    for (lane, lanes) in [(4, 4), (1, 0), (0, 70_000)] {
        if let Some(Step::Hello(h)) = &mut hello.step {
            (h.lane, h.lanes) = (lane, lanes);
        }
        let err = Listener::on_hello(l(), hello.clone(), [2; NONCE_LEN]).unwrap_err();
        assert!(matches!(err, HandshakeError::Malformed(_)), "{lane}/{lanes}: {err:?}");
    }
}

#[test]
fn a_tampered_lane_breaks_the_proof() {
    let mut d = params(1, TOKEN, false, NodeType::Proxy);
    d.lane = Lane::new(1, 2).unwrap();
    let (dialer, mut hello) = Dialer::start(d, [1; NONCE_LEN]);
    if let Some(Step::Hello(h)) = &mut hello.step {
        h.lane = 0;
    }
    let (_, l_hello) =
        Listener::on_hello(params(2, TOKEN, false, NodeType::Route), hello, [2; NONCE_LEN]).unwrap();
    assert_eq!(dialer.on_hello(l_hello).unwrap_err(), HandshakeError::BadProof);
}
