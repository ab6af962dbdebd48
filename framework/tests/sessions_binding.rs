//! User binding, pushes to users across proxies, bind and close events,
//! unique login, kicks (from handlers and the admin API), session data.

mod session_support;

use espoir_testkit::*;
use serde_json::{Value, json};
use session_support::*;

#[tokio::test]
async fn a_push_to_a_user_reaches_it_on_the_other_proxy_and_services_see_bind_and_close() {
    let c = cluster(2, 1, "").await;
    let mut alice = Client::connect(&c.proxies[0].ws_url()).await;
    let mut bob = Client::connect(&c.proxies[1].ws_url()).await;
    let (_, reply) = alice.request(LOGIN, &json!({ "uid": "alice" })).await;
    assert_eq!(reply["uid"], "alice", "ctx.uid() reflects the bind at once: {reply}");
    let service = c.services[0].node.id().to_string();
    wait_until("the bind notice", async || {
        c.events[0].binds.lock().unwrap().contains(&("alice".into(), service.clone()))
    })
    .await;

    let (_, reply) = bob.request(PUSH_USER, &json!({ "uid": "alice", "from": 0, "n": 3 })).await;
    assert_eq!(reply["pushed"], 3);
    for i in 0..3 {
        assert_eq!(json_of(&alice.next_of(USER_PUSHED).await)["i"], i, "in order");
    }
    // Every later request carries the user.
    let (_, read) = alice.request(READ_DATA, &json!({ "key": "none" })).await;
    assert_eq!(read["uid"], "alice");

    alice.close().await;
    wait_until("the close notice", async || !c.events[0].closes.lock().unwrap().is_empty()).await;
    let (node, body) = c.events[0].closes.lock().unwrap()[0].clone();
    assert_eq!(node, service);
    assert_eq!((body["uid"].clone(), body["ctx_uid"].clone()), (json!("alice"), json!("alice")));
    assert_eq!(body["reason"], "closed");
    wait_until("the session to go", async || c.proxies[0].node.sessions() == 0).await;
}

/// A service handler's `ctx.call` carries the client's session: the callee
/// serves the same user with the same data, on the session's own node.
#[tokio::test]
async fn a_call_from_a_handler_carries_the_session_user_data_and_pin() {
    let c = cluster(1, 2, "").await;
    let mut ann = Client::connect(&c.proxies[0].ws_url()).await;
    let (_, login) = ann.request(LOGIN, &json!({ "uid": "ann" })).await;
    let (_, set) = ann.request(SET_DATA, &json!({ "key": "k", "value": 5 })).await;
    let pinned = login["node"].clone();
    assert_eq!(set["node"], pinned, "stateful commands stick to one service");
    // Two services: without the pin, about half the calls would land on
    // the other one.
    for _ in 0..10 {
        let (_, seen) = ann.request(ASK, &json!({})).await;
        assert_eq!(seen["node"], pinned, "{seen}");
        assert_eq!((seen["uid"].clone(), seen["k"].clone()), (json!("ann"), json!(5)), "{seen}");
        assert_eq!(seen["session"], login["session"]);
    }
}

/// New sessions are balanced over the services, in turn, by their first
/// stateful message, also when it binds the session (whose notices must not
/// skew the turns): a proxy linked straight to two services, configs/local's
/// shape.
#[tokio::test]
async fn sessions_that_log_in_are_spread_over_the_services() {
    let c = cluster_with(1, 2, r#""unique_login": true"#, true).await;
    let mut served = std::collections::HashMap::<String, usize>::new();
    let mut clients = Vec::new();
    for i in 0..8 {
        let mut client = Client::connect(&c.proxies[0].ws_url()).await;
        let (_, reply) = client.request(LOGIN, &json!({ "uid": format!("u{i}") })).await;
        *served.entry(reply["node"].as_str().unwrap().to_owned()).or_default() += 1;
        clients.push(client);
    }
    assert_eq!(served.len(), 2, "both services got logins: {served:?}");
    assert!(served.values().all(|n| *n == 4), "in turn: {served:?}");
}

#[tokio::test]
async fn unique_login_kicks_the_older_session_on_the_other_proxy_with_a_reason() {
    let c = cluster(2, 1, r#""unique_login": true"#).await;
    let mut old = Client::connect(&c.proxies[0].ws_url()).await;
    let mut new = Client::connect(&c.proxies[1].ws_url()).await;
    old.request(LOGIN, &json!({ "uid": "u" })).await;
    new.request(LOGIN, &json!({ "uid": "u" })).await;

    let kick = old.next_of(KICK_FRAME).await;
    assert_eq!(json_of(&kick), json!({ "code": 4001, "msg": "logged in elsewhere" }));
    assert_eq!(old.close_code().await, Some(4001));
    let stats = c.proxies[0].node.session_stats();
    assert_eq!(espoir::SessionStats::get(&stats.kicks), 1);

    // The survivor is the one that gets pushes to the user (pushes come
    // before the reply of the request that made them).
    new.send(PUSH_USER, &json!({ "uid": "u", "from": 7, "n": 1 })).await;
    assert_eq!(json_of(&new.next_of(USER_PUSHED).await)["i"], 7);
    new.next_of(PUSH_USER).await;
    wait_until("the old session's close notice", async || {
        c.events[0].closes.lock().unwrap().iter().any(|(_, b)| b["reason"] == "kicked: logged in elsewhere")
    })
    .await;
    // A third login on the first proxy kicks the second, on the other one.
    let mut third = Client::connect(&c.proxies[0].ws_url()).await;
    third.request(LOGIN, &json!({ "uid": "u" })).await;
    assert_eq!(json_of(&new.next_of(KICK_FRAME).await)["msg"], "logged in elsewhere");
    let (_, read) = third.request(READ_DATA, &json!({ "key": "k" })).await;
    assert_eq!(read["uid"], "u");
}

/// Logins one after another, alternating proxies, as fast as the machine
/// allows: each one kicks the one before, also when two fall in the same
/// clock tick (proxies' clocks used to order them, and kept the wrong one).
#[tokio::test]
async fn logins_in_turn_on_two_proxies_always_keep_the_latest() {
    let c = cluster(2, 1, r#""unique_login": true"#).await;
    let mut previous: Option<Client> = None;
    for turn in 0..16 {
        let mut client = Client::connect(&c.proxies[turn % 2].ws_url()).await;
        client.request(LOGIN, &json!({ "uid": "turns" })).await;
        if let Some(mut older) = previous.take() {
            let kick = older.next_of(KICK_FRAME).await;
            assert_eq!(json_of(&kick)["msg"], "logged in elsewhere", "turn {turn}");
        }
        previous = Some(client);
    }
    // The last one is still served as the user.
    let (_, read) = previous.unwrap().request(READ_DATA, &json!({ "key": "k" })).await;
    assert_eq!(read["uid"], "turns");
}

/// Two logins of one user racing on two proxies: exactly one survives,
/// whichever the user's authority ordered last, and both proxies agree.
#[tokio::test]
async fn two_logins_racing_on_two_proxies_leave_exactly_one_session() {
    let c = cluster(2, 1, r#""unique_login": true"#).await;
    let mut pusher = Client::connect(&c.proxies[0].ws_url()).await;
    for round in 0..8 {
        let uid = format!("racer{round}");
        let mut a = Client::connect(&c.proxies[0].ws_url()).await;
        let mut b = Client::connect(&c.proxies[1].ws_url()).await;
        let login = json!({ "uid": uid });
        let kicks_before = kicks(&c);
        // Both logins leave before either reply is read; the loser may be
        // kicked before its reply is written.
        a.send(LOGIN, &login).await;
        b.send(LOGIN, &login).await;
        let a_lost = tokio::select! {
            _ = a.next_of(KICK_FRAME) => true,
            _ = b.next_of(KICK_FRAME) => false,
        };
        let mut survivor = if a_lost { b } else { a };
        // A push to the user travels behind both login notices on every
        // proxy: once it arrives, no notice is still on its way.
        pusher.request(PUSH_USER, &json!({ "uid": uid, "from": round, "n": 1 })).await;
        assert_eq!(json_of(&survivor.next_of(USER_PUSHED).await)["i"], round);
        let (_, read) = survivor.request(READ_DATA, &json!({ "key": "k" })).await;
        assert_eq!(read["uid"], uid.as_str(), "round {round}: the survivor is still served");
        assert_eq!(kicks(&c), kicks_before + 1, "round {round}: exactly one of the two was kicked");
    }
}

/// Unique-login kicks on every proxy.
fn kicks(c: &Cluster) -> u64 {
    c.proxies.iter().map(|p| espoir::SessionStats::get(&p.node.session_stats().kicks)).sum()
}

#[tokio::test]
async fn without_unique_login_a_user_keeps_every_device_and_pushes_reach_all() {
    let c = cluster(2, 1, "").await;
    let mut phone = Client::connect(&c.proxies[0].ws_url()).await;
    let mut tablet = Client::connect(&c.proxies[1].ws_url()).await;
    phone.request(LOGIN, &json!({ "uid": "m" })).await;
    tablet.request(LOGIN, &json!({ "uid": "m" })).await;
    phone.send(PUSH_USER, &json!({ "uid": "m", "from": 1, "n": 1 })).await;
    assert_eq!(json_of(&phone.next_of(USER_PUSHED).await)["i"], 1);
    phone.next_of(PUSH_USER).await;
    assert_eq!(json_of(&tablet.next_of(USER_PUSHED).await)["i"], 1);
}

#[tokio::test]
async fn the_admin_api_kicks_a_session_or_a_user_from_any_node_behind_the_bearer_token() {
    let c = cluster(2, 1, "").await;
    let mut first = Client::connect(&c.proxies[1].ws_url()).await;
    let (_, reply) = first.request(LOGIN, &json!({ "uid": "k1" })).await;
    let session = reply["session"].as_str().unwrap().to_owned();
    let service_http = c.services[0].node.addresses().http.unwrap();
    let body = json!({ "session": session, "reason": "maintenance" }).to_string();

    assert_eq!(http_json(service_http, "POST", "/sessions/kick", None, &body).await.0, 401);
    assert_eq!(
        http_json(service_http, "POST", "/sessions/kick", Some("wrong-token-wrong-token"), &body).await.0,
        401
    );
    let both = json!({ "session": session, "uid": "k1" }).to_string();
    assert_eq!(http_json(service_http, "POST", "/sessions/kick", Some(TOKEN), &both).await.0, 400);
    let (status, answer) = http_json(service_http, "POST", "/sessions/kick", Some(TOKEN), &body).await;
    assert_eq!((status, answer["kicked"].clone()), (200, json!(session)));
    assert_eq!(json_of(&first.next_of(KICK_FRAME).await)["msg"], "maintenance");
    assert_eq!(first.close_code().await, Some(4001));
    let (status, _) = http_json(service_http, "POST", "/sessions/kick", Some(TOKEN), &body).await;
    assert_eq!(status, 404, "already gone");

    // By user, through the route's HTTP port: every proxy is told.
    let mut second = Client::connect(&c.proxies[0].ws_url()).await;
    second.request(LOGIN, &json!({ "uid": "k2" })).await;
    let route_http = c.route.node.addresses().http.unwrap();
    let by_user = json!({ "uid": "k2" }).to_string();
    assert_eq!(http_json(route_http, "POST", "/sessions/kick", Some(TOKEN), &by_user).await.0, 202);
    assert_eq!(json_of(&second.next_of(KICK_FRAME).await)["msg"], "kicked by an operator");
}

#[tokio::test]
async fn a_handler_can_kick_a_user_on_another_proxy() {
    let c = cluster(2, 1, "").await;
    let mut victim = Client::connect(&c.proxies[0].ws_url()).await;
    let mut admin = Client::connect(&c.proxies[1].ws_url()).await;
    victim.request(LOGIN, &json!({ "uid": "v" })).await;
    admin.request(KICK_USER, &json!({ "uid": "v", "reason": "cheating" })).await;
    assert_eq!(json_of(&victim.next_of(KICK_FRAME).await)["msg"], "cheating");
    assert_eq!(victim.close_code().await, Some(4001));
}

#[tokio::test]
async fn session_data_set_by_one_service_is_seen_by_another_and_is_bounded() {
    let c = cluster(1, 2, "").await;
    let mut client = Client::connect(&c.proxies[0].ws_url()).await;
    let (_, set) = client.request(SET_DATA, &json!({ "key": "room", "value": { "id": 7 } })).await;
    assert_eq!(set["now"], json!({ "id": 7 }));
    let setter = set["node"].as_str().unwrap().to_owned();
    // Stateless reads are balanced over both services: the other one sees it too.
    let mut seen_elsewhere = false;
    for _ in 0..10 {
        let (_, read) = client.request(READ_DATA, &json!({ "key": "room" })).await;
        assert_eq!(read["value"], json!({ "id": 7 }), "{read}");
        seen_elsewhere |= read["node"] != Value::String(setter.clone());
    }
    assert!(seen_elsewhere, "a service other than the setter read the data");
    let huge = "x".repeat(5000);
    let (_, refused) = client.request(SET_DATA, &json!({ "key": "big", "value": huge })).await;
    assert_eq!(refused["code"], 400, "{refused}");
}
