//! Reconnect and resume: a client whose connection is cut in the middle of
//! a stream of pushes gets its session back (user, pins, no close notice)
//! and every push exactly once, in order; past the grace period the session
//! closes as any other.

mod session_support;

use espoir_testkit::*;
use serde_json::{Value, json};
use session_support::*;

const ACK: i32 = 10002;

/// Reads pushes of `USER_PUSHED` until `until_i` (inclusive), appending
/// `(seq, i)` and acknowledging every tenth, as a client should; other
/// frames (replies) are skipped.
async fn read_pushes(client: &mut Client, got: &mut Vec<(i32, u64)>, until_i: u64) {
    while got.last().is_none_or(|(_, i)| *i < until_i) {
        let frame = client.next_of(USER_PUSHED).await;
        got.push((frame.version, json_of(&frame)["i"].as_u64().unwrap()));
        if frame.version % 10 == 0 {
            client.send(ACK, &json!({ "seq": frame.version })).await;
        }
    }
}

async fn opt_in(client: &mut Client) -> Value {
    let (command, reply) = client.request(RESUME, &json!({})).await;
    assert_eq!((command, reply["code"].clone()), (RESUME, json!(200)), "{reply}");
    reply
}

#[tokio::test]
async fn a_client_cut_mid_stream_resumes_and_gets_every_push_exactly_once_in_order() {
    // Room for the 160 pushes missed while away.
    let c = cluster(2, 2, r#""resume_buffer": 256"#).await;
    let url = c.proxies[0].ws_url();
    let mut client = Client::connect(&url).await;
    let token = opt_in(&mut client).await["token"].as_str().unwrap().to_owned();
    let (_, login) = client.request(LOGIN, &json!({ "uid": "r" })).await;
    let pinned = login["node"].clone();
    let mut controller = Client::connect(&c.proxies[1].ws_url()).await;

    let mut got: Vec<(i32, u64)> = Vec::new();
    controller.send(PUSH_USER, &json!({ "uid": "r", "from": 0, "n": 100 })).await;
    read_pushes(&mut client, &mut got, 39).await;
    // Cut: the socket goes away without a close handshake, while the rest
    // of the first batch is in flight.
    drop(client);
    controller.next_of(PUSH_USER).await;
    controller.request(PUSH_USER, &json!({ "uid": "r", "from": 100, "n": 100 })).await;

    let mut client = Client::connect(&url).await;
    let last = got.last().unwrap().0;
    let (command, reply) = client.request(RESUME, &json!({ "token": token, "last": last })).await;
    assert_eq!((command, reply["code"].clone()), (RESUME, json!(200)), "{reply}");
    assert_eq!(reply["session"], login["session"], "the same session");
    controller.request(PUSH_USER, &json!({ "uid": "r", "from": 200, "n": 100 })).await;
    read_pushes(&mut client, &mut got, 299).await;

    let values: Vec<u64> = got.iter().map(|(_, i)| *i).collect();
    assert_eq!(values, (0..300).collect::<Vec<u64>>(), "every push once, in order");
    let seqs: Vec<i32> = got.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, (1..=300).collect::<Vec<i32>>(), "numbered without gaps or repeats");

    // Same binding, same pinned service, and nobody was told it went offline.
    let (_, read) = client.request(READ_DATA, &json!({ "key": "k" })).await;
    assert_eq!(read["uid"], "r");
    let (_, set) = client.request(SET_DATA, &json!({ "key": "k", "value": 1 })).await;
    assert_eq!(set["node"], pinned, "still pinned to the service that served the login");
    assert!(c.events.iter().all(|e| e.closes.lock().unwrap().is_empty()), "no close notice on resume");
    let stats = c.proxies[0].node.session_stats();
    assert_eq!(espoir::SessionStats::get(&stats.resumed), 1);
    assert_eq!(c.proxies[0].node.sessions(), 1, "the reconnect's own session was dropped");
}

#[tokio::test]
async fn past_the_grace_period_the_session_closes_and_its_token_is_refused() {
    let c = cluster(1, 1, r#""resume_grace": 0.3"#).await;
    let url = c.proxies[0].ws_url();
    let mut client = Client::connect(&url).await;
    let token = opt_in(&mut client).await["token"].as_str().unwrap().to_owned();
    client.request(LOGIN, &json!({ "uid": "late" })).await;
    drop(client);
    wait_until("the close notice after the grace period", async || {
        c.events[0].closes.lock().unwrap().iter().any(|(_, b)| b["reason"] == "expired" && b["uid"] == "late")
    })
    .await;
    let mut again = Client::connect(&url).await;
    let (_, reply) = again.request(RESUME, &json!({ "token": token, "last": 0 })).await;
    assert_eq!(reply["code"], 404, "{reply}");
    // The connection goes on as a fresh session.
    let (_, read) = again.request(READ_DATA, &json!({ "key": "k" })).await;
    assert_eq!(read["uid"], Value::Null);
}

#[tokio::test]
async fn a_clean_close_or_a_late_resume_command_never_resumes() {
    let c = cluster(1, 1, "").await;
    let url = c.proxies[0].ws_url();
    let mut client = Client::connect(&url).await;
    let token = opt_in(&mut client).await["token"].as_str().unwrap().to_owned();
    client.request(LOGIN, &json!({ "uid": "bye" })).await;
    client.close().await;
    wait_until("the close notice", async || !c.events[0].closes.lock().unwrap().is_empty()).await;
    let mut again = Client::connect(&url).await;
    again.request(READ_DATA, &json!({ "key": "k" })).await;
    let (_, reply) = again.request(RESUME, &json!({ "token": token, "last": 0 })).await;
    assert_eq!(reply["code"], 400, "resume must come first: {reply}");
}
