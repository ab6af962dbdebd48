//! Groups: joining by session and by user, broadcasts across proxies,
//! membership ending with the session, a handler's broadcasts and joins
//! applied in the order it issued them, and broadcasts that leave the
//! sender out.

mod session_support;

use espoir_testkit::*;
use serde_json::json;
use session_support::*;

#[tokio::test]
async fn a_broadcast_reaches_members_on_both_proxies_and_a_closed_member_leaves() {
    let c = cluster(2, 1, "").await;
    let mut a = Client::connect(&c.proxies[0].ws_url()).await;
    let mut b = Client::connect(&c.proxies[1].ws_url()).await;
    let mut outsider = Client::connect(&c.proxies[1].ws_url()).await;
    a.request(JOIN, &json!({ "group": "g" })).await;
    b.request(JOIN, &json!({ "group": "g" })).await;
    outsider.send(BROADCAST, &json!({ "group": "g", "value": 1 })).await;
    assert_eq!(json_of(&a.next_of(BROADCASTED).await), json!(1));
    assert_eq!(json_of(&b.next_of(BROADCASTED).await), json!(1));
    // The sender is not a member: its next frame is its own reply.
    assert_eq!(outsider.recv().await.unwrap().command, BROADCAST);

    a.close().await;
    wait_until("the member to go", async || c.proxies[0].node.sessions() == 0).await;
    outsider.request(BROADCAST, &json!({ "group": "g", "value": 2 })).await;
    assert_eq!(json_of(&b.next_of(BROADCASTED).await), json!(2));
    let frames: u64 =
        c.proxies.iter().map(|p| espoir::SessionStats::get(&p.node.session_stats().broadcast_frames)).sum();
    assert_eq!(frames, 3, "two members, then one");
}

/// A handler broadcasts, joins, broadcasts again: the joiner gets only what
/// came after its join, a member on the other proxy gets both in order.
/// Through the route, and with the service linked to the proxies directly
/// (where a join took the direct link and the broadcast the route, so the
/// broadcast sent first could arrive second and reach the joiner).
///
/// With four lanes too: the broadcasts take the joiner's lane at every hop
/// (not lane 0), so they keep their order with its join. A fresh joiner
/// each round, so that the joiners' sessions fall on different lanes.
#[tokio::test]
async fn a_handlers_broadcasts_and_join_reach_its_proxy_in_the_order_issued() {
    for (direct, lanes) in [(false, 1), (true, 1), (false, 4), (true, 4)] {
        let c = cluster_lanes(2, 1, "", direct, lanes).await;
        let mut other = Client::connect(&c.proxies[1].ws_url()).await;
        let relayed = || espoir::SessionStats::get(&c.route.node.session_stats().fanouts_relayed);
        // More rounds over lanes: a broadcast on the wrong lane overtakes
        // the join only when the other lane happens to be faster.
        let rounds = if lanes > 1 { 48 } else { 16 };
        for round in 0..rounds {
            let mut joiner = Client::connect(&c.proxies[0].ws_url()).await;
            let group = format!("room{round}");
            other.request(JOIN, &json!({ "group": group })).await;
            let relayed_before = relayed();
            joiner.call(JOIN_BETWEEN, &json!({ "group": group })).await;
            assert_eq!(json_of(&joiner.next_of(BROADCASTED).await), json!("after"), "direct: {direct}");
            assert_eq!(json_of(&other.next_of(BROADCASTED).await), json!("before"));
            assert_eq!(json_of(&other.next_of(BROADCASTED).await), json!("after"));
            // The mechanism: with a direct link the joiner's proxy had both
            // broadcasts straight from the service and handed them on, so
            // the route relayed one copy of each (to the other proxy), not
            // two.
            let copies = if direct { 2 } else { 4 };
            wait_until("the route's count", async || relayed() - relayed_before >= copies).await;
            assert_eq!(relayed() - relayed_before, copies, "direct: {direct}");
        }
    }
}

/// `ctx.broadcast_others` reaches every member but the sender, on both
/// proxies: the sender's next broadcast frame is a later plain broadcast.
#[tokio::test]
async fn a_broadcast_to_the_others_leaves_the_sender_out() {
    let c = cluster(2, 1, "").await;
    let mut sender = Client::connect(&c.proxies[0].ws_url()).await;
    let mut near = Client::connect(&c.proxies[0].ws_url()).await;
    let mut far = Client::connect(&c.proxies[1].ws_url()).await;
    for member in [&mut sender, &mut near, &mut far] {
        member.request(JOIN, &json!({ "group": "chat" })).await;
    }
    sender.call(SAY, &json!({ "group": "chat", "value": "hi" })).await;
    sender.call(BROADCAST, &json!({ "group": "chat", "value": "end" })).await;
    for member in [&mut near, &mut far] {
        assert_eq!(json_of(&member.next_of(BROADCASTED).await), json!("hi"));
        assert_eq!(json_of(&member.next_of(BROADCASTED).await), json!("end"));
    }
    assert_eq!(
        json_of(&sender.next_of(BROADCASTED).await),
        json!("end"),
        "the sender never got its own line"
    );
}
