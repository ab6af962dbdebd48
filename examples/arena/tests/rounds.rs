//! A round end to end on configs/arena: two players matched into one
//! room play it to the result; parties stay together and modes do not
//! mix.

mod support;

use std::collections::BTreeSet;

use arena::ids;
use serde_json::{Value, json};
use support::*;

/// Steers towards the nearest coin at every state until the result.
/// Returns the result and whether the player ever moved.
async fn play(mut player: Player) -> (Value, bool) {
    let mut start = None;
    let mut moved = false;
    loop {
        let push = player.next_of(&[ids::STATE, ids::RESULT]).await;
        if push.command == ids::RESULT {
            return (push.body, moved);
        }
        let state = push.body;
        if state["phase"] != "playing" {
            continue;
        }
        let me = player_in(&state, &player.name).expect("in the state").clone();
        let cell = (me["x"].clone(), me["y"].clone());
        moved |= start.get_or_insert_with(|| cell.clone()) != &cell;
        if let Some(dir) = towards_coin(&state, &player.name) {
            // The last coin may go between this state and the move: the
            // room is then disposed and the move refused.
            let _ = player.steer(dir).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_matched_players_play_a_round_to_the_result() {
    let arena = start(app(json!({}))).await;
    let (mut ann, bob, room) = matched_pair(&arena, "ann", "bob").await;
    let first = ann.next(ids::STATE, |s| s["phase"] == "playing").await;
    assert_eq!(first["room"], room.as_str());
    assert_eq!((first["width"].as_u64(), first["height"].as_u64()), (Some(6), Some(5)));
    assert_eq!(first["coins"].as_array().unwrap().len(), 4);
    for name in ["ann", "bob"] {
        assert_eq!(player_in(&first, name).unwrap()["seat"], "here", "{first}");
    }

    let (a, b) = tokio::join!(tokio::spawn(play(ann)), tokio::spawn(play(bob)));
    let ((result_a, moved_a), (result_b, moved_b)) = (a.unwrap(), b.unwrap());
    assert_eq!(result_a, result_b, "one result, to both");
    assert!(moved_a && moved_b, "the room applied both players' moves");
    assert_eq!(result_a["reason"], "coins", "{result_a}");
    let scores = result_a["scores"].as_array().unwrap();
    let names: BTreeSet<&str> = scores.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, BTreeSet::from(["ann", "bob"]));
    let total: u64 = scores.iter().map(|s| s["score"].as_u64().unwrap()).sum();
    assert_eq!(total, 4, "every coin was collected once: {result_a}");
    let best = scores[0]["score"].as_u64().unwrap();
    match result_a["winner"].as_str() {
        Some(winner) => assert_eq!((scores[0]["name"].as_str(), best > 2), (Some(winner), true)),
        None => assert_eq!(best, 2, "no winner only on a tie: {result_a}"),
    }
    arena.wait_no_rooms().await;
}

#[tokio::test]
async fn a_party_is_matched_together_and_modes_do_not_mix() {
    let arena = start(app(json!({ "max_players": 3 }))).await;
    let url = arena.ws_url();
    let mut cat = Player::login(&url, "cat").await;
    cat.find("duel", &[]).await;
    let mut ann = Player::login(&url, "ann").await;
    let mut bob = Player::login(&url, "bob").await;
    // Ann queues with Bob: one ticket, never split.
    ann.find("classic", &["bob"]).await;
    let twice = bob.request(ids::FIND, &json!({ "mode": "classic" })).await.unwrap_err();
    assert_eq!(twice.code(), Some(409), "Bob already waits in Ann's party: {twice}");
    let nobody = ann.request(ids::FIND, &json!({ "party": ["zed"] })).await.unwrap_err();
    assert!(nobody.code().is_some(), "a friend who is not online: {nobody}");

    let for_ann = ann.next(ids::MATCHED, |_| true).await;
    assert_eq!(bob.next(ids::MATCHED, |_| true).await, for_ann);
    assert_eq!(for_ann["players"], json!(["ann", "bob"]), "Cat plays another mode: {for_ann}");
    assert_eq!(for_ann["mode"], "classic");

    let dan = Player::login(&url, "dan").await;
    dan.find("duel", &[]).await;
    let for_cat = cat.next(ids::MATCHED, |_| true).await;
    assert_eq!(for_cat["players"], json!(["cat", "dan"]), "{for_cat}");
    assert_ne!(for_cat["room"], for_ann["room"]);

    // Nobody joins: the seats' reservation is long, but leaving the pool
    // and a bad request are answered.
    let bad = dan.request(ids::JOIN, &json!({ "room": "no such room!" })).await.unwrap_err();
    assert_eq!(bad.code(), Some(400), "{bad}");
    let gone = dan.request(ids::JOIN, &json!({ "room": "arena-999" })).await.unwrap_err();
    assert_eq!(gone.code(), Some(404), "{gone}");
    assert_eq!(dan.request(ids::CANCEL, &json!({})).await.unwrap(), json!({ "cancelled": false }));
}

#[tokio::test]
async fn a_round_ends_at_its_time_limit_and_its_players_play_again() {
    // One tick of play: nobody can collect four coins in it.
    let arena = start(app(json!({ "round_ms": 50 }))).await;
    let (mut ann, mut bob, room) = matched_pair(&arena, "ann", "bob").await;
    for player in [&mut ann, &mut bob] {
        let result = player.next(ids::RESULT, |_| true).await;
        assert_eq!(result["reason"], "time", "{result}");
        assert_eq!(result["winner"], Value::Null, "{result}");
    }
    arena.wait_no_rooms().await;

    // Another round: the join leaves the old room's group for the new one.
    ann.find("classic", &[]).await;
    bob.find("classic", &[]).await;
    let next = ann.next(ids::MATCHED, |_| true).await["room"].as_str().unwrap().to_owned();
    assert_ne!(next, room);
    assert_eq!(ann.join(&next).await.unwrap(), "seated");
    assert_eq!(bob.join(&next).await.unwrap(), "seated");
    let result = ann.next(ids::RESULT, |_| true).await;
    assert_eq!(result["room"], next.as_str(), "{result}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draining_node_ends_its_rounds_with_the_scores_before_it_stops() {
    let arena = start(app(json!({}))).await;
    let (mut ann, mut bob, _room) = matched_pair(&arena, "ann", "bob").await;
    ann.next(ids::STATE, |s| s["phase"] == "playing").await;
    let told = async {
        for player in [&mut ann, &mut bob] {
            let result = player.next(ids::RESULT, |_| true).await;
            assert_eq!(result["reason"], "drained", "{result}");
            assert_eq!(result["scores"].as_array().unwrap().len(), 2, "{result}");
        }
    };
    let (drained, ()) = tokio::join!(arena.service.node.drain(std::time::Duration::from_secs(60)), told);
    assert!(drained, "the round's loop let the drain finish in its grace");
}

#[tokio::test]
async fn a_ticket_unmatched_past_its_wait_is_given_up_and_its_player_told() {
    let arena = start(app(json!({ "max_wait_ms": 100 }))).await;
    let mut ann = Player::login(&arena.ws_url(), "ann").await;
    ann.find("classic", &[]).await;
    let expired = ann.next(ids::QUEUE_EXPIRED, |_| true).await;
    assert_eq!((&expired["mode"], &expired["reason"]), (&json!("classic"), &json!("expired")), "{expired}");
    // Out of the pool: she may queue again.
    ann.find("classic", &[]).await;
    assert_eq!(ann.request(ids::CANCEL, &json!({})).await.unwrap(), json!({ "cancelled": true }));
}

#[tokio::test]
async fn a_draining_node_gives_its_waiting_tickets_back_and_tells_their_players() {
    let arena = start(app(json!({}))).await;
    let mut ann = Player::login(&arena.ws_url(), "ann").await;
    ann.find("classic", &[]).await;
    let told = ann.next(ids::QUEUE_EXPIRED, |_| true);
    let (drained, told) = tokio::join!(arena.service.node.drain(std::time::Duration::from_secs(60)), told);
    assert!(drained);
    assert_eq!(told["reason"], "draining", "{told}");
}
