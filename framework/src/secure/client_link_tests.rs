use proptest::prelude::*;

use super::*;

const TOKEN: &str = "espoir-local-websocket-token-0001";

fn link(
    client_token: &str,
    server_token: &str,
) -> Result<(ClientLinkCipher, ClientLinkCipher), ClientLinkError> {
    let (dialer, hello) = ClientLinkDialer::start(Token::from(client_token), [1; 32]);
    let (server, reply) = accept_client_hello(&Token::from(server_token), &hello, [2; 32])?;
    Ok((dialer.finish(&reply)?, server))
}

fn frame(command: i32, body: &'static [u8]) -> ClientFrame {
    ClientFrame::new(command, Bytes::from_static(body))
}

#[test]
fn both_directions_round_trip_and_hide_the_body() {
    let (mut client, mut server) = link(TOKEN, TOKEN).unwrap();
    let sealed = client.seal(&frame(100002, br#"{"name":"ann"}"#)).unwrap();
    assert_eq!(sealed.command, 100002, "the command stays in clear for routing");
    assert_eq!(sealed.body.len(), 14 + TAG_LEN);
    assert!(!sealed.body.windows(3).any(|w| w == b"ann"));
    assert_eq!(server.open(sealed).unwrap().body, &br#"{"name":"ann"}"#[..]);

    let reply = ClientFrame::new(100002, &br#"{"uid":1}"#[..]).encode(1024).unwrap();
    let sealed = server.seal_encoded(&reply).unwrap();
    assert_eq!(i32::from_le_bytes(sealed[..4].try_into().unwrap()) as usize, sealed.len());
    let mut frames = Vec::new();
    crate::ClientDecoder::new(1024).feed(sealed, &mut frames).unwrap();
    assert_eq!(client.open(frames.remove(0)).unwrap().body, &br#"{"uid":1}"#[..]);
}

#[test]
fn a_proxy_with_another_token_fails_its_proof() {
    assert!(matches!(link(TOKEN, "another-websocket-token-00000001"), Err(ClientLinkError::BadProof)));
}

#[test]
fn a_client_with_another_token_cannot_get_a_frame_through() {
    // The client cannot finish (bad proof), and a client that skipped the
    // check still could not seal a frame the proxy opens.
    let (_, hello) = ClientLinkDialer::start(Token::from("another-websocket-token-00000001"), [1; 32]);
    let (mut server, _) = accept_client_hello(&Token::from(TOKEN), &hello, [2; 32]).unwrap();
    let (dialer, _) = ClientLinkDialer::start(Token::from("another-websocket-token-00000001"), [1; 32]);
    let (rogue_server, reply) =
        accept_client_hello(&Token::from("another-websocket-token-00000001"), &hello, [2; 32]).unwrap();
    drop(rogue_server);
    let mut rogue = dialer.finish(&reply).unwrap();
    let sealed = rogue.seal(&frame(1, b"{}")).unwrap();
    assert!(matches!(server.open(sealed), Err(ClientLinkError::Cipher(CipherError::Forged))));
}

#[test]
fn a_changed_header_replay_or_reorder_is_refused() {
    let (mut client, mut server) = link(TOKEN, TOKEN).unwrap();
    let mut changed = client.seal(&frame(100020, br#"{"amount":1}"#)).unwrap();
    changed.command = 100030;
    assert!(server.open(changed).is_err(), "the header is authenticated");

    let (mut client, mut server) = link(TOKEN, TOKEN).unwrap();
    let first = client.seal(&frame(1, b"a")).unwrap();
    let second = client.seal(&frame(1, b"b")).unwrap();
    assert!(server.open(second.clone()).is_err(), "reordered");
    let (mut client2, mut server2) = link(TOKEN, TOKEN).unwrap();
    let again = client2.seal(&frame(1, b"a")).unwrap();
    server2.open(again.clone()).unwrap();
    assert!(server2.open(again).is_err(), "replayed");
    drop((first, client, server));
}

#[test]
fn bad_hellos_are_named() {
    let token = Token::from(TOKEN);
    let not_hello = frame(100002, b"{}");
    assert!(matches!(accept_client_hello(&token, &not_hello, [0; 32]), Err(ClientLinkError::Hello(_))));
    let garbage = frame(CLIENT_HELLO_COMMAND, b"nonsense");
    assert!(matches!(accept_client_hello(&token, &garbage, [0; 32]), Err(ClientLinkError::Hello(_))));
    let short = frame(CLIENT_HELLO_COMMAND, br#"{"v":1,"nonce":"abcd"}"#);
    assert!(matches!(accept_client_hello(&token, &short, [0; 32]), Err(ClientLinkError::Hello(_))));
    let future =
        ClientFrame::new(CLIENT_HELLO_COMMAND, format!(r#"{{"v":2,"nonce":"{}"}}"#, "00".repeat(32)));
    assert!(matches!(accept_client_hello(&token, &future, [0; 32]), Err(ClientLinkError::Version(2))));
    // A proxy's error body instead of its hello.
    let (dialer, _) = ClientLinkDialer::start(token, [1; 32]);
    let refusal = frame(CLIENT_HELLO_COMMAND, br#"{"code":400,"msg":"no"}"#);
    assert!(matches!(dialer.finish(&refusal), Err(ClientLinkError::Hello(_))));
}

/// Fixed inputs and outputs, also checked by the browser client's self
/// test (`examples/web/test.html`), so both implementations agree byte for
/// byte. Changing the scheme changes these.
#[test]
fn known_answer_vector() {
    let (dialer, hello) = ClientLinkDialer::start(Token::from(TOKEN), [0x11; 32]);
    assert_eq!(&hello.body[..], format!(r#"{{"v":1,"nonce":"{}"}}"#, "11".repeat(32)).as_bytes());
    let (mut server, reply) = accept_client_hello(&Token::from(TOKEN), &hello, [0x22; 32]).unwrap();
    let reply_body = String::from_utf8(reply.body.to_vec()).unwrap();
    assert_eq!(reply_body, format!(r#"{{"v":1,"nonce":"{}","proof":"{}"}}"#, "22".repeat(32), KAT_PROOF));
    let mut client = dialer.finish(&reply).unwrap();
    let sealed = client.seal(&frame(100002, br#"{"name":"ann"}"#)).unwrap();
    assert_eq!(hex(&sealed.body), KAT_CLIENT_FRAME_BODY);
    server.open(sealed).unwrap();
    let pushed =
        server.seal(&ClientFrame { command: 100101, version: 3, body: Bytes::from_static(b"{}") }).unwrap();
    assert_eq!(hex(&pushed.body), KAT_SERVER_FRAME_BODY);
}

const KAT_PROOF: &str = "f2f27ab520ec8853a7e4d389220a6ffe1b6df3be2e35635f798ac9e56b85a395";
const KAT_CLIENT_FRAME_BODY: &str = "12196cb4e43ea54e32b2c433e0f238883525ba9a0dacd7aad9ced10cf11c";
const KAT_SERVER_FRAME_BODY: &str = "e11bc6d54cb052eb8d1c34099648a67dc6fd";

proptest! {
    #[test]
    fn any_frames_round_trip_in_order(bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 1..6), command in any::<i32>(), version in any::<i32>()) {
        let (mut client, mut server) = link(TOKEN, TOKEN).unwrap();
        for body in bodies {
            let plain = ClientFrame { command, version, body: Bytes::from(body) };
            let opened = server.open(client.seal(&plain).unwrap()).unwrap();
            prop_assert_eq!(&opened, &plain);
            let back = client.open(server.seal(&plain).unwrap()).unwrap();
            prop_assert_eq!(back, plain);
        }
    }
}
