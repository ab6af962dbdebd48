//! Topics across a cluster: clients subscribe with the framework command
//! and get a snapshot then live messages; handlers subscribe sessions and
//! publish; producers publish over `POST /publish`, from another node's
//! process and with a node-to-node call; a slow subscriber is conflated
//! with bounded memory while a fast one on the same proxy gets every
//! message. See `docs/realtime.md`.

use std::time::Duration;

use espoir::wire::{EndpointConfig, PeerSpec, RpcEndpoint, publish_envelope};
use espoir::{
    Context, EventTable, NodeId, NodeType, Shutdown, Status, Token, TopicMessage, TopicStats, events,
    register_event,
};
use espoir_testkit::*;
use serde::Deserialize;
use serde_json::{Value, json};

const SUBSCRIBE: i32 = 10004;
const UNSUBSCRIBE: i32 = 10005;
/// A service handler: `ctx.subscribe(topic)`.
const HANDLER_SUBSCRIBE: i32 = 22001;
/// A service handler: `ctx.publish_message(..)` of `n` ticks.
const HANDLER_PUBLISH: i32 = 22002;
const TICK: i32 = 53000;

/// Every node's `topics` section: `q.` topics keep their last 3 ticks;
/// `private.` ones only handlers may subscribe sessions to.
const TOPICS: &str = r#""topics": {"max_topics_per_session": 4, "policies": [
    {"prefix": "q.", "retain": 3},
    {"prefix": "private.", "clients": false},
]},"#;

#[derive(Deserialize)]
struct Topic {
    topic: String,
}

#[register_event(22001)]
async fn handler_subscribe(ctx: Context, req: Topic) -> Result<Value, Status> {
    ctx.subscribe(&req.topic).await?;
    Ok(json!({}))
}

#[derive(Deserialize)]
struct Publish {
    topic: String,
    from: u32,
    n: u32,
}

#[register_event(22002)]
async fn handler_publish(ctx: Context, req: Publish) -> Result<Value, Status> {
    for i in req.from..req.from + req.n {
        ctx.publish_message(
            TopicMessage::new(&req.topic, TICK, json!({ "i": i }).to_string()).with_key("k"),
        )?;
    }
    Ok(json!({}))
}

struct Cluster {
    proxies: Vec<TestNode>,
    route: TestNode,
    service: TestNode,
}

/// Two proxies and a service around a route; `proxy_tweak` adjusts each
/// proxy's config.
async fn cluster(proxy_tweak: impl Fn(&mut espoir::NodeConfig)) -> Cluster {
    let route_ports = Ports::bind().await;
    let proxy_ports = [Ports::bind().await, Ports::bind().await];
    let service_ports = Ports::bind().await;
    let mut remotes: Vec<String> = proxy_ports.iter().map(|p| remote(p.rpc_port(), "proxy")).collect();
    remotes.push(remote(service_ports.rpc_port(), "service"));
    let route_cfg = config("route", "route", &route_ports, &remotes, ROUTE_RULES, TOPICS);
    let route = TestNode::start(route_cfg, route_ports, EventTable::new()).await;
    let to_route = [remote(route.rpc_port(), "route")];
    let service_cfg = config("service", "service", &service_ports, &to_route, SERVICE_RULES, TOPICS);
    let service =
        TestNode::start(service_cfg, service_ports, events![handler_subscribe, handler_publish]).await;
    let mut proxies = Vec::new();
    for (i, ports) in proxy_ports.into_iter().enumerate() {
        let mut cfg = config(&format!("proxy{i}"), "proxy", &ports, &to_route, "", TOPICS);
        proxy_tweak(&mut cfg);
        proxies.push(TestNode::start(cfg, ports, EventTable::new()).await);
    }
    for p in &proxies {
        p.wait_linked(&route).await;
        route.wait_linked(p).await;
    }
    route.wait_linked(&service).await;
    Cluster { proxies, route, service }
}

fn admin_of(node: &TestNode) -> Admin {
    Admin::new(node.http_addr().to_string(), TOKEN)
}

fn ticks(topic: &str, from: u32, n: u32) -> Value {
    let messages: Vec<Value> = (from..from + n)
        .map(|i| json!({ "topic": topic, "key": "k", "command": TICK, "body": { "i": i } }))
        .collect();
    json!({ "messages": messages })
}

async fn next_tick(client: &mut Client) -> u64 {
    json_of(&client.next_of(TICK).await)["i"].as_u64().expect("a tick")
}

#[tokio::test]
async fn a_client_gets_the_snapshot_then_live_messages_and_nothing_after_unsubscribing() {
    let c = cluster(|_| {}).await;
    let http = admin_of(&c.route);
    // Published before anyone subscribes: each proxy keeps the last 3.
    assert_eq!(
        http.call("POST", "/publish", &ticks("q.A", 1, 5)).await,
        (200, json!({ "code": 200, "published": 5 }))
    );
    wait_until("both proxies to have the ticks", async || {
        c.proxies.iter().all(|p| p.node.topic_gauges().retained_topics == 1)
    })
    .await;
    let mut client = Client::connect(&c.proxies[0].ws_url()).await;
    client.send(SUBSCRIBE, &json!({ "topic": "q.A" })).await;
    // The snapshot comes before the reply, the reply before live ticks.
    for i in 3..=5 {
        let frame = client.recv().await.unwrap();
        assert_eq!((frame.command, json_of(&frame)["i"].as_u64()), (TICK, Some(i)));
    }
    let reply = json_of(&client.recv().await.unwrap());
    assert_eq!(reply, json!({ "code": 200, "topics": ["q.A"], "snapshot": 3 }));
    http.call("POST", "/publish", &ticks("q.A", 6, 2)).await;
    assert_eq!(next_tick(&mut client).await, 6);
    assert_eq!(next_tick(&mut client).await, 7);

    let (_, reply) = client.request(UNSUBSCRIBE, &json!({ "topics": ["q.A"] })).await;
    assert_eq!(reply["code"], 200);
    // Marker on another topic: anything of q.A after unsubscribing would
    // arrive before it.
    client.request(SUBSCRIBE, &json!({ "topic": "marker" })).await;
    http.call("POST", "/publish", &ticks("q.A", 8, 1)).await;
    http.call("POST", "/publish", &ticks("marker", 100, 1)).await;
    assert_eq!(next_tick(&mut client).await, 100, "no q.A tick after unsubscribing");
}

#[tokio::test]
async fn handlers_subscribe_sessions_and_publish_to_both_proxies() {
    let c = cluster(|_| {}).await;
    let mut near = Client::connect(&c.proxies[0].ws_url()).await;
    let mut far = Client::connect(&c.proxies[1].ws_url()).await;
    // Clients may not subscribe themselves to private topics; handlers may.
    let (code, refused) = near.request(SUBSCRIBE, &json!({ "topic": "private.x" })).await;
    assert_eq!(code_of_body(&refused), Some(403), "{code} {refused}");
    for client in [&mut near, &mut far] {
        client.call(HANDLER_SUBSCRIBE, &json!({ "topic": "private.x" })).await;
    }
    near.call(HANDLER_PUBLISH, &json!({ "topic": "private.x", "from": 1, "n": 3 })).await;
    for client in [&mut near, &mut far] {
        for i in 1..=3 {
            assert_eq!(next_tick(client).await, i);
        }
    }
    assert!(TopicStats::get(&c.service.node.topic_stats().published) >= 3);
}

fn code_of_body(body: &Value) -> Option<u64> {
    body["code"].as_u64()
}

#[tokio::test]
async fn producers_publish_from_another_nodes_process_and_with_a_node_to_node_call() {
    let c = cluster(|_| {}).await;
    let mut client = Client::connect(&c.proxies[1].ws_url()).await;
    client.request(SUBSCRIBE, &json!({ "topic": "feed" })).await;

    // The process running the service node publishes.
    c.service.node.publish(TopicMessage::new("feed", TICK, r#"{"i":1}"#)).unwrap();
    assert_eq!(next_tick(&mut client).await, 1);

    // A producer with its own RPC endpoint calls the route.
    let shutdown = Shutdown::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let id = NodeId::of("127.0.0.1", listener.local_addr().unwrap().port());
    let (producer, _inbound) =
        RpcEndpoint::new(EndpointConfig::new(id, NodeType::Service, Token::from(TOKEN)), &shutdown);
    producer.serve(listener);
    let spec = PeerSpec {
        host: "127.0.0.1".into(),
        port: c.route.rpc_port(),
        token: Token::from(TOKEN),
        encrypt: false,
        reconnect: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
    };
    let link = producer.connect(spec).wait_up(WAIT).await.expect("linked");
    let answer =
        producer.call(&link, publish_envelope(TopicMessage::new("feed", TICK, r#"{"i":2}"#)), WAIT).await;
    // 204: done, with no body.
    assert_eq!(answer.expect("an answer").status, 204);
    assert_eq!(next_tick(&mut client).await, 2);
    let bad = producer.call(&link, publish_envelope(TopicMessage::new("", TICK, "{}")), WAIT).await.unwrap();
    assert_eq!(bad.status, 400);
    assert!(bad.message.contains("topic must not be empty"), "{}", bad.message);
    shutdown.finish(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn bad_publish_requests_get_clear_errors_and_publish_nothing() {
    let c = cluster(|_| {}).await;
    let http = admin_of(&c.proxies[0]);
    let (status, body) = http.call_with("POST", "/publish", &ticks("t", 1, 1), None).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) =
        http.call("POST", "/publish", &json!({ "messages": [{ "topic": "t", "body": 1 }] })).await;
    assert_eq!(status, 400);
    assert!(body["msg"].as_str().unwrap().contains("missing field `command`"), "{body}");
    let too_big = json!({ "messages": [{ "topic": "t", "command": 1, "body": "x".repeat(20_000) }] });
    let (status, body) = http.call("POST", "/publish", &too_big).await;
    assert_eq!(status, 400);
    assert!(body["msg"].as_str().unwrap().contains("max_message_bytes"), "{body}");
    let (status, _) = http.call("GET", "/publish", &json!({})).await;
    assert_eq!(status, 405);
    assert_eq!(TopicStats::get(&c.proxies[0].node.topic_stats().published), 0);
    let metrics = c.proxies[0].node.metrics_text();
    assert!(metrics.contains("espoir_topic_refused_message_size_total 1"), "{metrics}");
}

#[tokio::test]
async fn the_topics_per_session_bound_refuses_the_fifth_topic() {
    let c = cluster(|_| {}).await;
    let mut client = Client::connect(&c.proxies[0].ws_url()).await;
    let (_, ok) = client.request(SUBSCRIBE, &json!({ "topics": ["a", "b", "c", "d"] })).await;
    assert_eq!(ok["code"], 200);
    let (_, refused) = client.request(SUBSCRIBE, &json!({ "topic": "e" })).await;
    assert_eq!(refused["code"], 400);
    assert!(refused["msg"].as_str().unwrap().contains("max_topics_per_session"), "{refused}");
    assert_eq!(TopicStats::get(&c.proxies[0].node.topic_stats().refused_topics_per_session), 1);
}

/// The slow client never reads its socket; the fast one reads everything.
/// Each batch is published once the fast client has read the last one,
/// so it never falls behind, whatever the machine's speed. Batches go on
/// until the slow client's connection is conflating (its socket buffers
/// and queue are full); its conflation map then never holds more than
/// one entry per key, it is not disconnected, and once it reads it gets
/// each key's latest tick.
#[tokio::test]
async fn a_slow_subscriber_is_conflated_with_bounded_memory_and_a_fast_one_gets_every_message() {
    const KEYS: u32 = 8;
    const BATCH: u32 = 100;
    let c = cluster(|cfg| {
        let ws = cfg.websocket.as_mut().unwrap();
        // Room for a whole batch, so the fast client is never behind.
        ws.send_queue = 256;
        ws.limits.send_queue_bytes = 4 << 20;
        // The slow client's writes stall for as long as the test runs.
        ws.limits.write_timeout = Duration::from_secs(600);
        ws.timeout = Duration::from_secs(600);
    })
    .await;
    let proxy = &c.proxies[0];
    let mut fast = Client::connect(&proxy.ws_url()).await;
    let mut slow = RawWs::connect(&proxy.ws_url()).await;
    fast.request(SUBSCRIBE, &json!({ "topic": "q.fast" })).await;
    slow.send_frame(SUBSCRIBE, &json!({ "topic": "q.fast" })).await;
    wait_until("both subscribed", async || TopicStats::get(&proxy.node.topic_stats().subscribed) == 2).await;
    let http = admin_of(&c.route);
    let pad = "x".repeat(4000);
    let mut next = 0u32;
    // 10 000 batches of 400 KB is far more than any socket buffer.
    for _ in 0..10_000 {
        let messages: Vec<Value> = (next..next + BATCH)
            .map(|i| json!({ "topic": "q.fast", "key": format!("k{}", i % KEYS), "command": TICK, "body": { "i": i, "pad": pad } }))
            .collect();
        assert_eq!(http.call("POST", "/publish", &json!({ "messages": messages })).await.0, 200);
        for i in next..next + BATCH {
            assert_eq!(next_tick(&mut fast).await, u64::from(i), "the fast client gets every tick in order");
        }
        next += BATCH;
        let gauges = proxy.node.topic_gauges();
        assert!(gauges.pending_entries <= KEYS as usize, "one entry per key at most: {gauges:?}");
        if gauges.slow_connections == 1
            && TopicStats::get(&proxy.node.topic_stats().conflated) > u64::from(BATCH)
        {
            break;
        }
    }
    let stats = proxy.node.topic_stats();
    assert!(TopicStats::get(&stats.conflated) > u64::from(BATCH), "the slow client was conflated");
    assert_eq!(TopicStats::get(&stats.pending_overflows), 0);
    assert_eq!(proxy.node.sessions(), 2, "the slow client was not disconnected");
    assert_eq!(proxy.limit_hits("write_timeout"), 0.0);

    // Now it reads: the last tick of every key arrives (the conflated
    // latest), each key's ticks in increasing order.
    let last: Vec<u32> = (next - KEYS..next).collect();
    let mut seen = std::collections::HashMap::new();
    while !last.iter().all(|i| seen.get(&(i % KEYS)) == Some(i)) {
        let frame = slow.recv().await;
        let body = json_of(&frame);
        let Some(i) = body["i"].as_u64() else { continue };
        let i = u32::try_from(i).unwrap();
        if let Some(before) = seen.insert(i % KEYS, i) {
            assert!(before < i, "key {} went back from {before} to {i}", i % KEYS);
        }
    }
}
