//! Seats through drops, on configs/arena: a player whose session closes
//! keeps the seat for the reconnection window and gets it back with a new
//! login; a second login takes a seat over; past the window the seat is
//! freed and the room is told. Each window is set by the test: long
//! where it must not run out, short where it must, and every step waits
//! for the push that says it happened.

mod support;

use arena::ids;
use serde_json::json;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_player_gets_the_seat_back_and_a_second_login_takes_it_over() {
    let arena = start(app(json!({ "coins": 20 }))).await;
    let url = arena.ws_url();
    let (ann, mut bob, room) = matched_pair(&arena, "ann", "bob").await;
    bob.state_with("ann", "here").await;

    // Ann's connection closes: her seat waits, the room plays on.
    ann.client.close().await;
    let away = bob.next(ids::SEAT, |s| s["player"] == "ann").await;
    assert_eq!(away, json!({ "room": room, "player": "ann", "seat": "away", "window_ms": 600000 }));
    let state = bob.state_with("ann", "away").await;
    assert_eq!(state["phase"], "playing");
    bob.steer("left").await.expect("the room takes Bob's moves meanwhile");

    // She logs in again and re-joins: the same seat, her cell and score.
    let mut ann = Player::login(&url, "ann").await;
    assert_eq!(ann.join(&room).await.unwrap(), "returned");
    assert_eq!(bob.next(ids::SEAT, |s| s["player"] == "ann").await["seat"], "back");
    let back = ann.state_with("ann", "here").await;
    let x = player_in(&back, "ann").unwrap()["x"].as_u64().unwrap();
    assert_eq!(x, 0, "she starts where she was, at (0, 0)");
    ann.steer("right").await.expect("her moves count again");
    ann.next(ids::STATE, |s| player_in(s, "ann").is_some_and(|p| p["x"] == 1)).await;

    // A second login of Ann takes the seat over; the first is told and
    // its moves are refused.
    let mut second = Player::login(&url, "ann").await;
    assert_eq!(second.join(&room).await.unwrap(), "replaced");
    assert_eq!(ann.next(ids::REPLACED, |_| true).await, json!({ "room": room }));
    let refused = ann.steer("down").await.unwrap_err();
    assert_eq!(refused.code(), Some(400), "no longer in the room: {refused}");
    second.steer("down").await.expect("the new login steers");
    second.next(ids::STATE, |s| player_in(s, "ann").is_some_and(|p| p["y"] == 1)).await;
    assert_eq!(bob.next(ids::SEAT, |s| s["player"] == "ann").await["seat"], "back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_player_away_past_the_window_loses_the_seat_and_the_room_is_told() {
    let arena = start(app(json!({ "reconnect_window_ms": 100 }))).await;
    let (ann, mut bob, room) = matched_pair(&arena, "ann", "bob").await;
    bob.state_with("ann", "here").await;

    ann.client.close().await;
    assert_eq!(bob.next(ids::SEAT, |s| s["player"] == "ann").await["seat"], "away");
    let gone = bob.next(ids::SEAT, |s| s["player"] == "ann").await;
    assert_eq!(gone, json!({ "room": room, "player": "ann", "seat": "gone" }));
    let state = bob.state_with("ann", "out").await;
    assert_eq!(state["phase"], "playing", "the round goes on with Bob");

    // Too late: the seat is someone else's to take, not Ann's.
    let ann = Player::login(&arena.ws_url(), "ann").await;
    let refused = ann.join(&room).await.unwrap_err();
    assert_eq!(refused.code(), Some(404), "{refused}");

    // Bob leaves for good: no one is left, the round ends and the room
    // is disposed.
    bob.request(ids::LEAVE, &json!({})).await.unwrap();
    arena.wait_no_rooms().await;
}

#[tokio::test]
async fn a_matched_player_who_never_joins_frees_the_seat_as_a_no_show() {
    let arena = start(app(json!({ "reservation_ms": 100 }))).await;
    let url = arena.ws_url();
    let mut ann = Player::login(&url, "ann").await;
    let bob = Player::login(&url, "bob").await;
    ann.find("classic", &[]).await;
    bob.find("classic", &[]).await;
    let room = ann.next(ids::MATCHED, |_| true).await["room"].as_str().unwrap().to_owned();
    assert_eq!(ann.join(&room).await.unwrap(), "seated");
    let noshow = ann.next(ids::SEAT, |s| s["player"] == "bob").await;
    assert_eq!(noshow["seat"], "no-show");
    // The round starts without him.
    let state = ann.next(ids::STATE, |s| s["phase"] == "playing").await;
    assert_eq!(player_in(&state, "bob").unwrap()["seat"], "out", "{state}");
}
