//! A room's node drains: with `NotifyAndDispose` the room ends at once and
//! its members are told before the node stops; with `FinishThenDispose`
//! it goes on ticking for its members, who still play (the draining node
//! takes their pinned sessions' requests while the room holds its drain),
//! takes no newcomer, and the node stops once the game ends it.

mod rooms_support;

use std::pin::pin;
use std::sync::atomic::Ordering;
use std::time::Duration;

use espoir::{DisposeReason, DrainPolicy, RoomId, RoomPhase};
use espoir_testkit::*;
use rooms_support::*;
use serde_json::json;

/// Long enough never to be what ends a drain here: the tests end it.
const GRACE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn notify_and_dispose_tells_the_members_before_the_node_stops() {
    let c = cluster(DrainPolicy::NotifyAndDispose).await;
    let mut a = Client::connect(&c.proxies[0].ws_url()).await;
    let mut b = Client::connect(&c.proxies[1].ws_url()).await;
    a.call(ROOM_JOIN, &json!({ "room": "walk-1" })).await;
    b.call(ROOM_JOIN, &json!({ "room": "walk-1" })).await;
    a.next_of(ROOM_STATE).await;

    let (drained, told_a, told_b) =
        tokio::join!(c.service.node.drain(GRACE), a.push(ROOM_ENDED), b.push(ROOM_ENDED));
    assert!(drained, "the node stopped without its grace running out");
    for told in [told_a, told_b] {
        assert_eq!(told, json!({ "room": "walk-1", "reason": "drained" }));
    }
    assert_eq!(c.host.loops_ended.load(Ordering::SeqCst), 1, "the room's loop ended before the node stopped");
    let rooms = c.host.rooms.lock().unwrap();
    assert!(rooms.is_empty());
    assert_eq!(rooms.stats().disposed(), 1);
}

#[tokio::test]
async fn finish_then_dispose_keeps_ticking_for_the_members_until_the_game_ends_the_room() {
    let c = cluster(DrainPolicy::FinishThenDispose).await;
    let mut a = Client::connect(&c.proxies[0].ws_url()).await;
    let mut b = Client::connect(&c.proxies[1].ws_url()).await;
    a.call(ROOM_JOIN, &json!({ "room": "walk-1" })).await;
    b.call(ROOM_JOIN, &json!({ "room": "walk-1" })).await;
    let id = RoomId::new("walk-1").unwrap();

    let mut drain = pin!(c.service.node.drain(GRACE));
    let finishing = async {
        wait_until("the rooms to drain", async || c.host.rooms.lock().unwrap().is_draining()).await;
        assert_eq!(c.host.rooms.lock().unwrap().get(&id).unwrap().phase(), RoomPhase::Finishing);
        // Ticks go on after the drain began: states with later ticks reach
        // both members.
        let since = c.host.rooms.lock().unwrap().get(&id).unwrap().ticks();
        for member in [&mut a, &mut b] {
            state_until(member, |s| s["tick"].as_u64().is_some_and(|t| t > since + 2)).await;
        }
        // The members still play: their sessions are pinned to the node,
        // which takes their requests while the room holds its drain.
        let moved = a.call(ROOM_MOVE, &json!({ "room": "walk-1", "dx": 3 })).await;
        assert_eq!(moved, json!({}), "a finishing room's member is served: {moved}");
        state_until(&mut b, |s| s["positions"].as_object().is_some_and(|p| p.values().any(|v| v == 3))).await;
        let mut newcomer = Client::connect(&c.proxies[0].ws_url()).await;
        let refused = newcomer.call(ROOM_JOIN, &json!({ "room": "walk-1" })).await;
        assert_eq!(refused["code"], json!(503), "a draining service takes no newcomer: {refused}");
        assert_eq!(c.host.loops_ended.load(Ordering::SeqCst), 0);
    };
    tokio::select! {
        _ = &mut drain => panic!("the node stopped while its room was finishing"),
        () = finishing => {}
    }

    // The match is over: the game ends the room, and the node stops.
    let ended = c.host.rooms.lock().unwrap().room(&id).unwrap().dispose(DisposeReason::Closed).unwrap();
    assert_eq!(ended.members.len(), 2);
    assert!(drain.await, "the node stopped once the room ended, within its grace");
    assert_eq!(c.host.loops_ended.load(Ordering::SeqCst), 1);
}
