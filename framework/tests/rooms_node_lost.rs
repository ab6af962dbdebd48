//! A room's node dies mid-game: the member's next message for the room
//! reaches a live service, which answers that it holds no such room, and
//! the member rejoins a new room there, whose tick loop pushes again. With
//! `websocket.sessions.node_lost_command`, the proxy tells the member at
//! once that its pinned node left, before any message.

mod rooms_support;

use espoir::DrainPolicy;
use espoir_testkit::*;
use rooms_support::*;
use serde_json::json;

#[tokio::test]
async fn a_member_of_a_room_whose_node_died_is_told_and_rejoins_a_new_room() {
    let c = cluster_of(DrainPolicy::default(), 2).await;
    let mut a = Client::connect(&c.proxies[0].ws_url()).await;
    let first = a.call(ROOM_JOIN, &json!({ "room": "walk-1" })).await["node"].as_str().unwrap().to_owned();
    a.call(ROOM_MOVE, &json!({ "room": "walk-1", "dx": 5 })).await;
    state_until(&mut a, |s| s["positions"].as_object().is_some_and(|p| p.values().any(|v| v == 5))).await;

    let (dead, live) = if c.service.node.id().to_string() == first {
        (&c.service, &c.others[0].0)
    } else {
        (&c.others[0].0, &c.service)
    };
    dead.stop().await;
    wait_until("the route to lose the room's node", async || !c.route.linked(dead.node.id())).await;

    let told = a.call(ROOM_MOVE, &json!({ "room": "walk-1", "dx": 1 })).await;
    assert_eq!(told["code"], json!(404), "the room is gone with its node: {told}");

    let second = a.call(ROOM_JOIN, &json!({ "room": "walk-1" })).await;
    assert_eq!(second["node"], json!(live.node.id().to_string()));
    a.call(ROOM_MOVE, &json!({ "room": "walk-1", "dx": 7 })).await;
    // The new room starts from nothing: 7, not 5 + 7.
    let state =
        state_until(&mut a, |s| s["positions"].as_object().is_some_and(|p| p.values().any(|v| v == 7))).await;
    assert_eq!(state["positions"].as_object().unwrap().len(), 1, "{state}");
}

// Clear of the framework's own ids (10000–10005 by default).
const NODE_LOST: i32 = 10_010;

#[tokio::test]
async fn with_the_notice_on_a_member_is_told_at_once_that_its_rooms_node_left() {
    let sessions = format!(r#""node_lost_command": {NODE_LOST}"#);
    let c = cluster_with(DrainPolicy::default(), 2, &sessions).await;
    let mut a = Client::connect(&c.proxies[0].ws_url()).await;
    // On the same proxy, pinned to no service: not told.
    let mut b = Client::connect(&c.proxies[0].ws_url()).await;
    let first = a.call(ROOM_JOIN, &json!({ "room": "walk-1" })).await["node"].as_str().unwrap().to_owned();
    let dead = if c.service.node.id().to_string() == first { &c.service } else { &c.others[0].0 };

    dead.stop().await;
    let notice = a.push(NODE_LOST).await;
    assert_eq!(notice["node"], json!(dead.node.id().to_string()), "{notice}");

    // The proxy told every pinned session in one go, before a's notice
    // could arrive: had b been told, its notice would come first.
    let (command, body) = b.request(WHERE, &json!({})).await;
    assert_eq!(command, WHERE, "b was not told: {body}");
}
