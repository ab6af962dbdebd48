//! The room context: a handler puts the session in a room
//! (`Context::enter_room`), and the session's later requests, handled on
//! a service, say which room it is in (`Context::room_id`) without the
//! client naming it; the room's broadcasts reach it; `leave_room` takes it
//! out of both.

use espoir::{Context, EventTable, RoomId, Status, events, register_event};
use espoir_testkit::*;
use serde::Deserialize;
use serde_json::{Value, json};

const ENTER: i32 = 20101;
const WHICH: i32 = 20102;
const SHOUT: i32 = 20103;
const LEAVE: i32 = 20104;
const SHOUTED: i32 = 50100;

#[derive(Deserialize)]
struct Enter {
    room: String,
}

#[register_event(20101)]
async fn enter(ctx: Context, req: Enter) -> Result<Value, Status> {
    ctx.enter_room(&RoomId::new(req.room)?).await?;
    Ok(json!({}))
}

#[register_event(20102)]
async fn which(ctx: Context) -> Result<Value, Status> {
    Ok(json!({ "room": ctx.room_id()?.map(|r| r.as_str().to_owned()) }))
}

/// Broadcasts to the caller's room, named by its session alone.
#[register_event(20103)]
async fn shout(ctx: Context) -> Result<Value, Status> {
    let room = ctx.room_id()?.ok_or_else(|| Status::not_found("not in a room"))?;
    ctx.broadcast(&room.group(), SHOUTED, &json!({ "room": room.as_str() }))?;
    Ok(json!({}))
}

#[register_event(20104)]
async fn leave(ctx: Context) -> Result<Value, Status> {
    Ok(json!({ "left": ctx.leave_room().await?.map(|r| r.as_str().to_owned()) }))
}

#[tokio::test]
async fn a_sessions_room_travels_with_its_requests_and_its_group_hears_the_room() {
    let (proxy_ports, service_ports) = (Ports::bind().await, Ports::bind().await);
    let rules = r#", "route": {"range": {"service": [[20000, 29999]]}}"#;
    let service = TestNode::start(
        config("service", "service", &service_ports, &[], rules, ""),
        service_ports,
        events![enter, which, shout, leave],
    )
    .await;
    let remotes = [remote(service.node.addresses().rpc.unwrap().port(), "service")];
    let proxy = TestNode::start(
        config("proxy", "proxy", &proxy_ports, &remotes, rules, ""),
        proxy_ports,
        EventTable::default(),
    )
    .await;
    proxy.wait_linked(&service).await;

    let mut ann = Client::connect(&proxy.ws_url()).await;
    let mut bob = Client::connect(&proxy.ws_url()).await;
    assert_eq!(ann.call(WHICH, &json!({})).await, json!({ "room": null }));
    ann.call(ENTER, &json!({ "room": "duel-1" })).await;
    bob.call(ENTER, &json!({ "room": "duel-2" })).await;
    bob.call(ENTER, &json!({ "room": "duel-1" })).await;
    assert_eq!(ann.call(WHICH, &json!({})).await, json!({ "room": "duel-1" }));
    assert_eq!(bob.call(WHICH, &json!({})).await, json!({ "room": "duel-1" }), "the last room entered");

    bob.call(SHOUT, &json!({})).await;
    assert_eq!(ann.push(SHOUTED).await, json!({ "room": "duel-1" }));
    assert_eq!(bob.push(SHOUTED).await, json!({ "room": "duel-1" }));

    assert_eq!(ann.call(LEAVE, &json!({})).await, json!({ "left": "duel-1" }));
    assert_eq!(ann.call(WHICH, &json!({})).await, json!({ "room": null }));
    let refused = ann.call(SHOUT, &json!({})).await;
    assert_eq!(refused["code"], json!(404), "{refused}");
    // Bob left duel-2's group when he entered duel-1. Carol's shout in
    // duel-2 is queued for every member on this one proxy at once: had bob
    // been one, it would come before his next answer.
    let mut carol = Client::connect(&proxy.ws_url()).await;
    carol.call(ENTER, &json!({ "room": "duel-2" })).await;
    carol.call(SHOUT, &json!({})).await;
    assert_eq!(carol.push(SHOUTED).await, json!({ "room": "duel-2" }));
    let (command, body) = bob.request(WHICH, &json!({})).await;
    assert_eq!((command, body), (WHICH, json!({ "room": "duel-1" })), "bob hears duel-1 only");
}
