//! Lanes between two nodes of a cluster: a proxy dialing a service over
//! three lanes spreads client sessions over all of them, and each session's
//! requests still reach the handler, and their replies the client, in order.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use espoir::{Context, EventTable, Status, events, register_event};
use espoir_testkit::*;
use serde::Deserialize;
use serde_json::{Value, json};

const LANES: u16 = 3;
const SESSIONS: usize = 24;
const REQUESTS: u64 = 30;

/// Arrival order at the service: (session, seq).
#[derive(Default)]
struct Arrivals(Mutex<Vec<(String, u64)>>);

#[derive(Deserialize)]
struct Seq {
    seq: u64,
}

#[register_event(20004)]
async fn ordered(ctx: Context, req: Seq) -> Result<Value, Status> {
    let session = ctx.require_session()?.to_string();
    ctx.state::<Arc<Arrivals>>()?.0.lock().unwrap().push((session, req.seq));
    Ok(json!({ "seq": req.seq }))
}

#[tokio::test]
async fn client_sessions_spread_over_every_lane_and_each_keeps_its_order() {
    let (proxy_ports, service_ports) = (Ports::bind().await, Ports::bind().await);
    let arrivals = Arc::new(Arrivals::default());
    let service_cfg = config("service", "service", &service_ports, &[], SERVICE_RULES, "");
    let a = Arc::clone(&arrivals);
    let service =
        TestNode::start_with(service_cfg, service_ports, |b| b.events(events![ordered]).state(a)).await;
    let lanes = format!(r#", "lanes": {LANES}{SERVICE_RULES}"#);
    let remotes = [remote(service.rpc_port(), "service")];
    let proxy = TestNode::start(
        config("proxy", "proxy", &proxy_ports, &remotes, &lanes, ""),
        proxy_ports,
        EventTable::new(),
    )
    .await;
    let to_service = || -> Vec<espoir::wire::Link> {
        let links = proxy.node.endpoint().links();
        links.into_iter().filter(|l| l.peer_id() == service.node.id()).collect()
    };
    wait_until("every lane is up", async || to_service().len() == usize::from(LANES)).await;
    let before: Vec<u64> = to_service().iter().map(espoir::wire::Link::messages_sent).collect();

    let url = proxy.ws_url();
    let clients = futures_util::future::join_all((0..SESSIONS).map(|_| Client::connect(&url))).await;
    let tasks = clients.into_iter().map(|mut client| {
        tokio::spawn(async move {
            // Pipelined: every request leaves before any reply is read.
            for seq in 0..REQUESTS {
                client.send(20004, &json!({ "seq": seq })).await;
            }
            let mut replies = Vec::new();
            for _ in 0..REQUESTS {
                replies.push(json_of(&client.next_of(20004).await)["seq"].as_u64().expect("a seq"));
            }
            replies
        })
    });
    for replies in futures_util::future::join_all(tasks).await {
        assert_eq!(replies.unwrap(), (0..REQUESTS).collect::<Vec<_>>(), "replies in order");
    }

    let mut next: BTreeMap<String, u64> = BTreeMap::new();
    for (session, seq) in arrivals.0.lock().unwrap().iter() {
        let expected = next.entry(session.clone()).or_default();
        assert_eq!(seq, expected, "session {session}'s requests reached the handler in order");
        *expected += 1;
    }
    assert_eq!(next.len(), SESSIONS);
    let links = to_service();
    let mut by_lane: Vec<(u16, u64)> =
        links.iter().zip(&before).map(|(l, before)| (l.lane().index, l.messages_sent() - before)).collect();
    by_lane.sort_unstable();
    assert_eq!(by_lane.len(), usize::from(LANES), "no lane was lost: {by_lane:?}");
    assert!(by_lane.iter().all(|&(_, sent)| sent > 0), "every lane carried requests: {by_lane:?}");
    let total: u64 = by_lane.iter().map(|&(_, sent)| sent).sum();
    assert!(
        total >= SESSIONS as u64 * REQUESTS,
        "{total} messages for {} requests",
        SESSIONS as u64 * REQUESTS
    );
}
