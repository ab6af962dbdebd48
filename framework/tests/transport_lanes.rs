//! Lanes: a node dials several links to each peer; a session's messages
//! keep to one lane (and so keep their order) while sessions spread over
//! all of them; a lane that dies moves only its own sessions and fails
//! only its own calls.

mod transport_support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::Bytes;
use espoir::{
    NodeId, NodeType,
    wire::{CallError, Envelope, Incoming, Kind},
};
use espoir_testkit::{TOKEN, WAIT, wait_until};
use tokio::sync::mpsc;
use transport_support::*;

const LANES: u16 = 4;
const SESSIONS: usize = 64;
const PER_SESSION: u64 = 40;

fn message(source: &NodeId, session: usize, seq: u64) -> Envelope {
    Envelope {
        kind: Kind::Notify as i32,
        source: source.to_wire(),
        command: 30000,
        session_id: format!("s-{session}").into(),
        payload: Bytes::from(seq.to_be_bytes().to_vec()),
        ..Envelope::default()
    }
}

fn seq_of(env: &Envelope) -> u64 {
    u64::from_be_bytes(env.payload.as_ref().try_into().expect("8-byte payload"))
}

/// Takes `n` messages off `rx`: (lane index, session, seq) in arrival order.
async fn take(rx: &mut mpsc::Receiver<Incoming>, n: usize) -> Vec<(u16, String, u64)> {
    let mut got = Vec::with_capacity(n);
    while got.len() < n {
        let Incoming { link, envelope } =
            tokio::time::timeout(WAIT, rx.recv()).await.expect("messages keep coming").expect("open");
        got.push((
            link.lane().index,
            String::from_utf8_lossy(&envelope.session_id).into_owned(),
            seq_of(&envelope),
        ));
    }
    got
}

/// Every session came on one lane with its seqs in order; returns the
/// lane of each session.
fn check_order(got: &[(u16, String, u64)]) -> BTreeMap<String, u16> {
    let mut lane_of = BTreeMap::new();
    let mut next: BTreeMap<&str, u64> = BTreeMap::new();
    for (lane, session, seq) in got {
        let first = *lane_of.entry(session.clone()).or_insert(*lane);
        assert_eq!(first, *lane, "session {session} changed lanes");
        let expected = next.entry(session).or_insert(0);
        assert_eq!(*seq, *expected, "session {session} out of order");
        *expected += 1;
    }
    lane_of
}

/// Plain and encrypted: each lane has its own handshake and its own keys.
#[tokio::test]
async fn sessions_spread_over_every_lane_both_ways_and_each_keeps_its_order() {
    for encrypt in [false, true] {
        spread_and_order(encrypt).await;
    }
}

async fn spread_and_order(encrypt: bool) {
    let mut server = node(NodeType::Service, TOKEN, encrypt).await;
    let mut client = node_with_lanes(NodeType::Proxy, LANES).await;
    let peer = client.endpoint.connect(spec(server.addr, TOKEN, encrypt));
    assert!(peer.wait_all_up(WAIT).await, "every lane comes up");
    let lanes: BTreeSet<u16> = client.endpoint.links().iter().map(|l| l.lane().index).collect();
    assert_eq!(lanes, (0..LANES).collect(), "one link per lane");
    assert!(client.endpoint.links().iter().all(|l| l.encrypted() == encrypt));
    let server_id = server.endpoint.node_id().clone();
    let client_id = client.endpoint.node_id().clone();

    // Interleaved: one message of each session, then the next of each.
    for seq in 0..PER_SESSION {
        for s in 0..SESSIONS {
            client.endpoint.send(&server_id, message(&client_id, s, seq)).unwrap();
        }
    }
    let mut rx = server.inbound.take().unwrap();
    let got = take(&mut rx, SESSIONS * PER_SESSION as usize).await;
    let lane_of = check_order(&got);
    let used: BTreeSet<u16> = lane_of.values().copied().collect();
    assert_eq!(used, (0..LANES).collect(), "sessions use every lane");

    // The listener answers on the dialer's lanes, by the same key.
    wait_until("the server sees every lane", || async {
        server.endpoint.links().iter().map(|l| l.lane().index).collect::<BTreeSet<_>>().len()
            == usize::from(LANES)
    })
    .await;
    for seq in 0..PER_SESSION {
        for s in 0..SESSIONS {
            server.endpoint.send(&client_id, message(&server_id, s, seq)).unwrap();
        }
    }
    let mut back = client.inbound.take().unwrap();
    let got = take(&mut back, SESSIONS * PER_SESSION as usize).await;
    assert_eq!(check_order(&got), lane_of, "each session takes the same lane both ways");
}

#[tokio::test]
async fn a_dead_lane_moves_only_its_sessions_fails_only_its_calls_and_is_redialed() {
    let mut server = node(NodeType::Service, TOKEN, false).await;
    let client = node_with_lanes(NodeType::Proxy, LANES).await;
    // The server holds requests on session "hold-*" unanswered, answers
    // the rest.
    let mut rx = server.inbound.take().unwrap();
    let endpoint = server.endpoint.clone();
    tokio::spawn(async move {
        while let Some(Incoming { link, envelope }) = rx.recv().await {
            if envelope.kind() == Kind::Request && !envelope.session_id.starts_with(b"hold") {
                let _ = link.send(endpoint.response_to(&envelope, envelope.payload.clone()));
            }
        }
    });
    let peer = client.endpoint.connect(spec(server.addr, TOKEN, false));
    assert!(peer.wait_all_up(WAIT).await);
    let server_id = server.endpoint.node_id().clone();
    let lane_link = |session: &str| {
        client.endpoint.link_for(&server_id, espoir::LaneKey::of_session(session)).expect("a live lane")
    };
    // Two sessions on different lanes.
    let victim = "hold-0".to_owned();
    let dead = lane_link(&victim);
    let bystander = (0..)
        .map(|n| format!("s-{n}"))
        .find(|s| lane_link(s).lane() != dead.lane())
        .expect("some session on another lane");
    let keeps = lane_link(&bystander);

    // A call waiting on the victim's lane fails at once when that lane dies.
    let waiting = {
        let endpoint = client.endpoint.clone();
        let req = Envelope { session_id: victim.clone().into(), ..request(b"held") };
        let link = dead.clone();
        tokio::spawn(async move { endpoint.call(&link, req, Duration::from_secs(3600)).await })
    };
    wait_until("the held request is pending", || async { client.endpoint.pending_calls() == 1 }).await;
    dead.close();
    assert!(matches!(waiting.await.unwrap(), Err(CallError::LinkLost)));

    // The victim's session moves to another live lane at once; the
    // bystander stays where it was.
    let moved = lane_link(&victim);
    assert!(!moved.same(&dead) && !moved.is_closed());
    assert!(lane_link(&bystander).same(&keeps), "other sessions keep their lane");
    let req = Envelope { session_id: bystander.clone().into(), ..request(b"ok") };
    let reply = client.endpoint.call(&keeps, req, WAIT).await.expect("the other lanes still answer");
    assert_eq!(reply.payload, Bytes::from_static(b"ok"));

    // The dead lane is dialed again, and its sessions go back to it.
    assert!(peer.wait_all_up(WAIT).await, "the lane is redialed");
    wait_until("the victim's session is back on its lane", || async {
        let link = lane_link(&victim);
        link.lane() == dead.lane() && !link.same(&dead)
    })
    .await;
}
