//! Encrypted client websockets (`websocket.encode: 1`): the hello, sealed
//! requests, replies, pushes and heartbeats, and what a client without the
//! token or without the hello gets.

use espoir::{
    ClientFrame, Context, EventTable, Status, Token, events, register_event,
    secure::{CLIENT_HELLO_COMMAND, ClientLinkCipher, ClientLinkDialer, ClientLinkError},
};
use espoir_testkit::*;
use serde_json::{Value, json};

const WS_TOKEN: &str = "espoir-test-websocket-token-0001";

#[register_event(20000)]
async fn echo(ctx: Context, req: Value) -> Result<Value, Status> {
    let session = ctx.require_session()?.clone();
    ctx.push(&session, 50000, &json!({ "pushed": true }))?;
    Ok(json!({ "echo": req }))
}

async fn encrypted_proxy() -> TestNode {
    let ports = Ports::bind().await;
    let mut cfg =
        config("proxy_1", "proxy", &ports, &[], r#", "route": {"range": {"proxy": [[20000, 20010]]}}"#, "");
    let ws = cfg.websocket.as_mut().expect("a proxy has a websocket section");
    ws.encrypt = true;
    ws.token = Some(Token::from(WS_TOKEN));
    let table: EventTable = events![echo];
    TestNode::start(cfg, ports, table).await
}

fn encode(frame: &ClientFrame) -> Vec<u8> {
    frame.encode(1 << 20).unwrap().to_vec()
}

async fn hello(client: &mut Client, token: &str) -> Result<ClientLinkCipher, ClientLinkError> {
    let (dialer, hello) = ClientLinkDialer::start(Token::from(token), rand_nonce());
    client.send_raw(encode(&hello)).await;
    let reply = client.recv().await.expect("the proxy's hello");
    assert_eq!(reply.command, CLIENT_HELLO_COMMAND);
    dialer.finish(&reply)
}

fn rand_nonce() -> [u8; 32] {
    // Distinct per call is all a test needs.
    static NEXT: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(1);
    [NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed); 32]
}

async fn sealed_request(client: &mut Client, cipher: &mut ClientLinkCipher, command: i32, body: Value) {
    let frame = ClientFrame::new(command, serde_json::to_vec(&body).unwrap());
    client.send_raw(encode(&cipher.seal(&frame).unwrap())).await;
}

async fn opened(client: &mut Client, cipher: &mut ClientLinkCipher) -> (i32, Value) {
    let frame = cipher.open(client.recv().await.expect("a frame")).expect("frames from the proxy open");
    (frame.command, serde_json::from_slice(&frame.body).unwrap())
}

#[tokio::test]
async fn requests_replies_pushes_and_heartbeats_travel_sealed() {
    let proxy = encrypted_proxy().await;
    let mut client = Client::connect(&proxy.ws_url()).await;
    let mut cipher = hello(&mut client, WS_TOKEN).await.expect("same token, so the proof verifies");

    sealed_request(&mut client, &mut cipher, 20000, json!({ "n": 1 })).await;
    // A proxy-local handler's push and reply race; both must open, in
    // whichever order they were sealed.
    let mut got = vec![opened(&mut client, &mut cipher).await, opened(&mut client, &mut cipher).await];
    got.sort_by_key(|(command, _)| *command);
    assert_eq!(got, vec![(20000, json!({ "echo": { "n": 1 } })), (50000, json!({ "pushed": true }))]);
    sealed_request(&mut client, &mut cipher, 10000, json!({})).await;
    assert_eq!(opened(&mut client, &mut cipher).await, (10000, json!({ "code": 200 })));
    client.close().await;
    proxy.stop().await;
}

#[tokio::test]
async fn a_client_that_skips_the_hello_is_closed_with_a_policy_error() {
    let proxy = encrypted_proxy().await;
    let mut client = Client::connect(&proxy.ws_url()).await;
    client.send(20000, &json!({})).await;
    assert_eq!(client.close_code().await, Some(1008));
    proxy.stop().await;
}

#[tokio::test]
async fn a_wrong_token_fails_the_proof_and_its_frames_are_refused() {
    let proxy = encrypted_proxy().await;
    let mut client = Client::connect(&proxy.ws_url()).await;
    let err = hello(&mut client, "another-websocket-token-00000001").await.unwrap_err();
    assert_eq!(err, ClientLinkError::BadProof);
    // A frame that is not sealed with the connection's key closes the link
    // before it reaches any handler.
    client.send(20000, &json!({ "forged": true })).await;
    assert_eq!(client.close_code().await, Some(1008));
    proxy.stop().await;
}
