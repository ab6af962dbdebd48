//! A ticking room on a service node, end to end: two clients on two
//! proxies join it, send inputs, and get the room's state, which carries
//! both their inputs, from its tick loop through the room's group; the
//! room is disposed with its last leave and its loop stops.

mod rooms_support;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use espoir::DrainPolicy;
use espoir_testkit::*;
use rooms_support::*;
use serde_json::{Value, json};

#[tokio::test]
async fn two_members_on_two_proxies_get_each_others_moves_from_the_tick_loop() {
    let c = cluster(DrainPolicy::default()).await;
    let mut a = Client::connect(&c.proxies[0].ws_url()).await;
    let mut b = Client::connect(&c.proxies[1].ws_url()).await;
    a.call(ROOM_JOIN, &json!({ "room": "walk-1" })).await;
    b.call(ROOM_JOIN, &json!({ "room": "walk-1" })).await;
    let mut third = Client::connect(&c.proxies[0].ws_url()).await;
    let refused = third.call(ROOM_JOIN, &json!({ "room": "walk-1" })).await;
    assert_eq!(refused["code"], json!(429), "a two-seat room refuses a third member: {refused}");

    a.call(ROOM_MOVE, &json!({ "room": "walk-1", "dx": 3 })).await;
    b.call(ROOM_MOVE, &json!({ "room": "walk-1", "dx": -2 })).await;
    let both = |s: &Value| s["positions"].as_object().is_some_and(|p| p.len() == 2);
    for client in [&mut a, &mut b] {
        let state = state_until(client, both).await;
        let mut moves: Vec<i64> =
            state["positions"].as_object().unwrap().values().map(|v| v.as_i64().unwrap()).collect();
        moves.sort_unstable();
        assert_eq!(moves, [-2, 3]);
    }

    assert_eq!(a.call(ROOM_LEAVE, &json!({ "room": "walk-1" })).await, json!({ "disposed": false }));
    assert_eq!(b.call(ROOM_LEAVE, &json!({ "room": "walk-1" })).await, json!({ "disposed": true }));
    wait_until("the room's loop to stop", async || c.host.loops_ended.load(Ordering::SeqCst) == 1).await;
    let stats = Arc::clone(c.host.rooms.lock().unwrap().stats());
    assert_eq!((stats.created(), stats.disposed(), stats.joins()), (1, 1, 2));
    assert!(stats.ticks() >= 1);
    let metrics = c.service.node.metrics_text();
    for line in [
        "espoir_rooms_created_total 1",
        "espoir_rooms_open 0",
        "espoir_room_joins_total 2",
        "espoir_room_inputs_dropped_total 0",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
    assert!(!c.proxies[0].node.metrics_text().contains("espoir_room"), "no rooms, no room metrics");
}
