//! A room's messages go to its node: with two services, the balancer
//! alternates a member's stateless messages between them, while every
//! message for its room reaches the one service that holds it.

mod rooms_support;

use std::collections::HashSet;

use espoir::DrainPolicy;
use espoir_testkit::*;
use rooms_support::*;
use serde_json::json;

#[tokio::test]
async fn a_members_room_messages_keep_to_the_rooms_node_while_balancing_moves_the_rest() {
    let c = cluster_of(DrainPolicy::default(), 2).await;
    let mut a = Client::connect(&c.proxies[0].ws_url()).await;
    let joined = a.call(ROOM_JOIN, &json!({ "room": "walk-1" })).await;
    let room_node = joined["node"].as_str().unwrap().to_owned();

    // The balancer would pick either service: stateless messages reach both.
    let mut seen = HashSet::new();
    for _ in 0..20 {
        seen.insert(a.call(WHERE, &json!({})).await["node"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen.len(), 2, "stateless messages are balanced over both services: {seen:?}");

    // Each move would be refused (no such room) on the other service.
    for dx in 1..=20 {
        assert_eq!(a.call(ROOM_MOVE, &json!({ "room": "walk-1", "dx": dx })).await, json!({}));
    }
    let (holder, other) = if c.service.node.id().to_string() == room_node {
        (&c.host, &c.others[0].1)
    } else {
        (&c.others[0].1, &c.host)
    };
    assert!(other.rooms.lock().unwrap().is_empty(), "the other service holds no room");
    let state =
        state_until(&mut a, |s| s["positions"].as_object().is_some_and(|p| p.values().any(|v| v == 210)))
            .await;
    assert_eq!(state["positions"].as_object().unwrap().len(), 1, "{state}");
    assert_eq!(holder.rooms.lock().unwrap().stats().joins(), 1);
}
