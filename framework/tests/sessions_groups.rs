//! Groups: joining by session and by user, broadcasts across proxies, and
//! membership ending with the session.

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
