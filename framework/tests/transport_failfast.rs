//! A call whose link dies fails at once instead of waiting for its deadline.

mod transport_support;

use std::time::Duration;

use espoir::{
    NodeType,
    wire::{CallError, TransportStats},
};
use espoir_testkit::{TOKEN, wait_until};
use transport_support::*;

/// A bound on waits for something that should happen; generous, and still
/// far below the 60 s deadline the first test's call must not wait for.
const UP: Duration = Duration::from_secs(30);

#[tokio::test]
async fn a_call_fails_as_soon_as_its_link_is_lost() {
    // The server reads requests and never answers.
    let mut server = node(NodeType::Service, TOKEN, false).await;
    let mut rx = server.inbound.take().unwrap();
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let client = node(NodeType::Proxy, TOKEN, false).await;
    let link = client.endpoint.connect(spec(server.addr, TOKEN, false)).wait_up(UP).await.unwrap();

    let endpoint = client.endpoint.clone();
    let call = tokio::spawn(async move {
        endpoint.call(&link, request(b"never answered"), Duration::from_secs(60)).await
    });
    wait_until("client.endpoint.pending_calls() == 1", || async { client.endpoint.pending_calls() == 1 })
        .await;
    server.shutdown.trigger();
    let result =
        tokio::time::timeout(UP, call).await.expect("the call ends long before its deadline").unwrap();
    // Ended by the link, not by a clock: a deadline would say `Timeout`.
    assert_eq!(result.unwrap_err(), CallError::LinkLost);
    assert_eq!(client.endpoint.pending_calls(), 0);
}

#[tokio::test]
async fn a_call_fails_when_its_own_link_dies_even_while_another_link_to_the_peer_is_up() {
    // Two links to one peer (each side dialed the other). The request may
    // have died with the link it went out on, so its caller hears at once;
    // an answer that still comes back on the other link is counted late.
    let mut server = node(NodeType::Service, TOKEN, false).await;
    let mut client = node(NodeType::Proxy, TOKEN, false).await;
    echo(&mut client);
    let server_endpoint = server.endpoint.clone();
    let mut rx = server.inbound.take().unwrap();
    let (got_tx, mut got_rx) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        while let Some(incoming) = rx.recv().await {
            let _ = got_tx.send(incoming).await;
        }
    });
    let dialed = client.endpoint.connect(spec(server.addr, TOKEN, false));
    let first = dialed.wait_up(UP).await.unwrap();
    let back = server.endpoint.connect(spec(client.addr, TOKEN, false));
    back.wait_up(UP).await.unwrap();

    let endpoint = client.endpoint.clone();
    let sent_on = first.clone();
    let call = tokio::spawn(async move { endpoint.call(&sent_on, request(b"late"), UP).await });
    let incoming = got_rx.recv().await.unwrap();
    dialed.close();
    let result = tokio::time::timeout(UP, call).await.expect("the call ends at once").unwrap();
    assert_eq!(result.unwrap_err(), CallError::LinkLost);
    assert_eq!(client.endpoint.pending_calls(), 0);
    assert!(client.endpoint.link(server.endpoint.node_id()).is_some(), "the other link is still up");

    let answer = server_endpoint.response_to(&incoming.envelope, bytes::Bytes::from_static(b"ok"));
    server_endpoint.send(client.endpoint.node_id(), answer).unwrap();
    wait_until("the late answer is counted", || async {
        TransportStats::get(&client.endpoint.stats().late_responses) == 1
    })
    .await;
}
