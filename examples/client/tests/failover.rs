//! A client given several proxies moves to another when its proxy dies.
//! The proxies here are minimal websocket servers that answer every frame
//! with their own name, so the test sees exactly which one served each
//! request.

use std::time::Duration;

use espoir::{ClientDecoder, ClientFrame, DEFAULT_MAX_CLIENT_FRAME};
use espoir_client::{Client, ClientError, ClientOptions};
use espoir_testkit::{WAIT, wait_until};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

/// A "proxy" named `name` on a free port; aborting the task closes its
/// listener and every connection, as a killed process would.
async fn fake_proxy(name: &'static str) -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        while let Ok((stream, _)) = listener.accept().await {
            connections.spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else { return };
                let mut decoder = ClientDecoder::new(DEFAULT_MAX_CLIENT_FRAME);
                while let Some(Ok(Message::Binary(data))) = ws.next().await {
                    let mut frames = Vec::new();
                    if decoder.feed(data, &mut frames).is_err() {
                        return;
                    }
                    for frame in frames {
                        let body = json!({ "server": name }).to_string();
                        let reply = ClientFrame::new(frame.command, body).encode(DEFAULT_MAX_CLIENT_FRAME);
                        if ws.send(Message::Binary(reply.expect("small frame"))).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (url, task)
}

/// Asks until a request succeeds (the client reconnects meanwhile); returns
/// the name of the proxy that answered.
async fn served_by(client: &Client) -> String {
    let ask = async {
        loop {
            match client.request(100_030, &json!({})).await {
                Ok(reply) => return reply["server"].as_str().expect("a name").to_owned(),
                Err(ClientError::Disconnected) => tokio::time::sleep(Duration::from_millis(20)).await,
                Err(err) => panic!("unexpected error: {err}"),
            }
        }
    };
    tokio::time::timeout(WAIT, ask).await.expect("served in time")
}

#[tokio::test]
async fn a_killed_proxys_client_moves_to_the_next_live_one() {
    let (url_a, proxy_a) = fake_proxy("a").await;
    let (url_b, proxy_b) = fake_proxy("b").await;
    let (url_c, proxy_c) = fake_proxy("c").await;
    let mut options = ClientOptions::new(&url_a).with_fallbacks([&url_b, &url_c]);
    options.reconnect = Some((Duration::from_millis(20), Duration::from_millis(200)));
    options.heartbeat = None;
    let client = Client::connect(options).await.expect("connects to a");
    assert_eq!(served_by(&client).await, "a");
    assert_eq!(client.url(), url_a);

    // a dies: b, next in the list, takes the client.
    proxy_a.abort();
    assert_eq!(served_by(&client).await, "b");
    assert_eq!(client.url(), url_b);

    // b dies too: a is still down, so c.
    proxy_b.abort();
    assert_eq!(served_by(&client).await, "c");
    assert_eq!(client.url(), url_c);
    client.close().await;
    proxy_c.abort();
}

#[tokio::test]
async fn without_fallbacks_the_client_keeps_to_its_one_proxy() {
    let (url_a, proxy_a) = fake_proxy("a").await;
    let mut options = ClientOptions::new(&url_a);
    options.reconnect = Some((Duration::from_millis(20), Duration::from_millis(100)));
    let client = Client::connect(options).await.expect("connects");
    assert_eq!(served_by(&client).await, "a");
    proxy_a.abort();
    // Nothing to fail over to: requests fail while the proxy is down.
    wait_until("a request fails with the proxy down", async || {
        match client.request(100_030, &json!({})).await {
            Err(ClientError::Disconnected) => true,
            Ok(Value::Object(_)) => false,
            other => panic!("expected a disconnection, got {other:?}"),
        }
    })
    .await;
    assert_eq!(client.url(), url_a);
    client.close().await;
}

/// A host that went silent: its port takes connections (as a host whose
/// packets are dropped takes the SYN's time) and never answers the
/// websocket upgrade.
async fn silent_proxy() -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    (url, task)
}

/// Opening a connection is bounded by `connect_timeout`, not by the
/// (here hour-long) request timeout: a silent proxy costs a reconnecting
/// client that long before it tries the next one.
#[tokio::test]
async fn a_silent_proxy_is_given_up_after_the_connect_timeout_and_the_next_one_serves() {
    let (silent, silent_task) = silent_proxy().await;
    let mut options = ClientOptions::new(&silent);
    options.connect_timeout = Duration::from_millis(100);
    options.request_timeout = Duration::from_secs(3600);
    let refused = tokio::time::timeout(WAIT, Client::connect(options)).await.expect("gives up in time");
    assert!(
        matches!(&refused, Err(ClientError::Connect(why)) if why.contains("no answer in time")),
        "{refused:?}"
    );

    let (url_a, proxy_a) = fake_proxy("a").await;
    let (url_b, proxy_b) = fake_proxy("b").await;
    let mut options = ClientOptions::new(&url_a).with_fallbacks([&silent, &url_b]);
    options.connect_timeout = Duration::from_millis(100);
    options.request_timeout = Duration::from_secs(3600);
    options.reconnect = Some((Duration::from_millis(20), Duration::from_millis(200)));
    options.heartbeat = None;
    let client = Client::connect(options).await.expect("connects to a");
    assert_eq!(served_by(&client).await, "a");
    // a dies; the silent one is next in the list, then b.
    proxy_a.abort();
    assert_eq!(served_by(&client).await, "b");
    client.close().await;
    proxy_b.abort();
    silent_task.abort();
}
