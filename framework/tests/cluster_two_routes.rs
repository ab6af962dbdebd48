//! A cluster with two route nodes: every proxy and service dials both.
//! Either route relays requests, replies and pushes; a route that dies is
//! noticed, and the other carries the cluster on without the sessions
//! noticing more than the requests that were in flight through it.

use std::sync::Arc;
use std::time::Duration;

use espoir::wire::TransportStats;
use espoir::{Context, EventTable, Status, events, register_event};
use espoir_testkit::handlers::{PUSHED, login, push_me, whoami, whoami_stateless};
use espoir_testkit::*;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

/// Answers once the test adds a permit to the service's gate: a request
/// that stays in flight for as long as the test needs, whatever the
/// machine's speed.
#[register_event(20005)]
async fn gated(ctx: Context, _req: Value) -> Result<Value, Status> {
    let gate = ctx.state::<Arc<Semaphore>>().map(|g| Arc::clone(&*g))?;
    gate.acquire().await.map_err(|_| Status::internal("gate closed"))?.forget();
    Ok(json!({ "node": ctx.node_id().to_string() }))
}

struct Cluster {
    routes: Vec<TestNode>,
    services: Vec<TestNode>,
    gates: Vec<Arc<Semaphore>>,
    proxy: TestNode,
}

/// A service dialing both routes.
async fn service(name: &str, routes: &[TestNode]) -> (TestNode, Arc<Semaphore>) {
    let ports = Ports::bind().await;
    let remotes: Vec<String> = routes.iter().map(|r| remote(r.rpc_port(), "route")).collect();
    let mut cfg = config(name, "service", &ports, &remotes, SERVICE_RULES, "");
    // A gated request waits on the test, never on this deadline.
    cfg.handler_timeout = Duration::from_secs(120);
    let gate = Arc::new(Semaphore::new(0));
    let state = Arc::clone(&gate);
    let events = events![whoami, whoami_stateless, push_me, gated];
    (TestNode::start_with(cfg, ports, |b| b.events(events).state(state)).await, gate)
}

/// Two routes, `services` services and one proxy, each dialing both
/// routes. With `proxy_rules`, the proxy sends service ids to services
/// itself, over links it makes to the services it learns of from the
/// routes; without, everything goes through a route.
async fn cluster(services: usize, proxy_rules: &str) -> Cluster {
    let mut routes = Vec::new();
    for i in 0..2 {
        let ports = Ports::bind().await;
        let cfg = config(&format!("route{i}"), "route", &ports, &[], ROUTE_RULES, "");
        routes.push(TestNode::start(cfg, ports, events![login]).await);
    }
    let (mut nodes, mut gates) = (Vec::new(), Vec::new());
    for i in 0..services {
        let (node, gate) = service(&format!("service{i}"), &routes).await;
        nodes.push(node);
        gates.push(gate);
    }
    let ports = Ports::bind().await;
    let remotes: Vec<String> = routes.iter().map(|r| remote(r.rpc_port(), "route")).collect();
    let cfg = config("proxy", "proxy", &ports, &remotes, proxy_rules, "");
    let proxy = TestNode::start(cfg, ports, EventTable::new()).await;
    for route in &routes {
        proxy.wait_linked(route).await;
        route.wait_linked(&proxy).await;
        for s in &nodes {
            s.wait_linked(route).await;
            route.wait_linked(s).await;
        }
    }
    Cluster { routes, services: nodes, gates, proxy }
}

/// Envelopes of `command` a node got from other nodes.
fn received(node: &TestNode, command: i32) -> u64 {
    let prefix = format!("espoir_messages_received_total{{command=\"{command}\",via=\"rpc\"}} ");
    node.node.metrics_text().lines().find_map(|l| l.strip_prefix(&prefix)).map_or(0, |v| v.parse().unwrap())
}

/// A gauge without labels, from a node's metrics.
fn gauge(node: &TestNode, name: &str) -> u64 {
    let text = node.node.metrics_text();
    let prefix = format!("{name} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
        .parse()
        .unwrap()
}

fn node_of(body: &Value) -> String {
    body["node"].as_str().unwrap_or_else(|| panic!("no node in {body}")).to_owned()
}

/// Sends `push_me` and checks the pushes arrive numbered in order, then
/// the reply.
async fn pushes_then_reply(client: &mut Client, n: u32) {
    client.send(20003, &json!({ "n": n })).await;
    let mut pushes = Vec::new();
    let reply = loop {
        let frame = client.recv().await.expect("a frame");
        if frame.command != PUSHED {
            break frame;
        }
        pushes.push(serde_json::from_slice::<Value>(&frame.body).unwrap()["i"].as_u64().unwrap());
    };
    assert_eq!(reply.command, 20003);
    assert_eq!(pushes, (0..u64::from(n)).collect::<Vec<_>>(), "every push, in order, before the reply");
}

#[tokio::test]
async fn a_proxy_spreads_requests_over_both_routes_and_each_relays_them_to_the_sessions_service() {
    let c = cluster(2, "").await;
    // One request held in flight on a service per session: each route's
    // ledger of relayed, unanswered requests shows the ones it carries.
    let mut clients = Vec::new();
    for _ in 0..4 {
        let mut client = Client::connect(&c.proxy.ws_url()).await;
        client.send(20005, &json!({})).await;
        clients.push(client);
    }
    wait_until("the gated requests reach the services", async || {
        c.services.iter().map(|s| received(s, 20005)).sum::<u64>() == 4
    })
    .await;
    let carried: Vec<u64> = c.routes.iter().map(|r| gauge(r, "espoir_relayed_in_flight")).collect();
    assert_eq!(carried.iter().sum::<u64>(), 4, "{carried:?}");
    assert!(carried.iter().all(|n| *n > 0), "requests are balanced over the routes: {carried:?}");
    for gate in &c.gates {
        gate.add_permits(4);
    }
    for client in &mut clients {
        let frame = client.recv().await.expect("the gated request is answered");
        let pinned = node_of(&serde_json::from_slice(&frame.body).unwrap());
        assert_eq!(frame.command, 20005);
        for _ in 0..5 {
            assert_eq!(
                node_of(&client.request(20000, &json!({})).await.1),
                pinned,
                "a session keeps its service"
            );
        }
    }
    let mut client = clients.pop().unwrap();
    let mut stateless = std::collections::HashSet::new();
    for _ in 0..20 {
        stateless.insert(node_of(&client.request(30000, &json!({})).await.1));
    }
    assert_eq!(stateless.len(), 2, "stateless requests reach both services through the routes");
}

#[tokio::test]
async fn pushes_relayed_by_two_routes_keep_their_order_and_come_before_the_reply() {
    let c = cluster(1, "").await;
    let mut client = Client::connect(&c.proxy.ws_url()).await;
    for _ in 0..10 {
        pushes_then_reply(&mut client, 8).await;
    }
    // The requests were spread over both routes; the pushes and replies
    // all came back through one of them.
    assert!(c.routes.iter().all(|r| received(r, 20003) > 0), "both routes relayed");
    let pushes: Vec<u64> = c.routes.iter().map(|r| received(r, PUSHED)).collect();
    assert!(pushes.contains(&80) && pushes.contains(&0), "{pushes:?}");
}

#[tokio::test]
async fn either_route_handles_its_own_commands_and_the_session_sticks_to_the_one_that_did() {
    let c = cluster(1, "").await;
    let route_ids: Vec<String> = c.routes.iter().map(|r| r.node.id().to_string()).collect();
    let mut served = std::collections::HashSet::new();
    // Fresh sessions are balanced over the routes; each then sticks to
    // the route that served its login.
    for _ in 0..6 {
        let mut client = Client::connect(&c.proxy.ws_url()).await;
        let first = node_of(&client.request(1000, &json!({})).await.1);
        assert!(route_ids.contains(&first));
        for _ in 0..3 {
            assert_eq!(node_of(&client.request(1000, &json!({})).await.1), first);
        }
        served.insert(first);
        client.close().await;
    }
    assert_eq!(served.len(), 2, "both routes served logins");
}

/// Kills the route that served the session's login (and so relays its
/// requests) while a request is in flight through it.
async fn killing_a_route(dead: usize) {
    let c = cluster(1, "").await;
    let alive = 1 - dead;
    let (dead_id, alive_id) = (c.routes[dead].node.id().clone(), c.routes[alive].node.id().clone());
    let service_id = c.services[0].node.id().to_string();
    // A session that logged in on the route to be killed: its requests
    // are relayed by that route.
    let mut tries = 0;
    let mut client = loop {
        // Fresh sessions' logins alternate between the routes.
        tries += 1;
        assert!(tries <= 10, "no login was served by route {dead}");
        let mut client = Client::connect(&c.proxy.ws_url()).await;
        if node_of(&client.request(1000, &json!({})).await.1) == dead_id.as_str() {
            break client;
        }
        client.close().await;
    };
    assert_eq!(node_of(&client.request(20000, &json!({})).await.1), service_id);

    let before = received(&c.services[0], 20005);
    client.send(20005, &json!({})).await;
    wait_until("the gated request reaches the service", async || received(&c.services[0], 20005) > before)
        .await;
    c.routes[dead].stop().await;

    // The request in flight through it fails at once (its outcome is
    // unknown to the proxy), rather than waiting out its deadline.
    let frame = client.recv().await.expect("an answer to the request in flight");
    let body: Value = serde_json::from_slice(&frame.body).unwrap();
    assert_eq!((frame.command, body["code"].as_u64()), (20005, Some(503)), "{body}");
    // Everyone notices the route is gone.
    wait_until("the proxy drops the dead route", async || !c.proxy.linked(&dead_id)).await;
    wait_until("the service drops the dead route", async || !c.services[0].linked(&dead_id)).await;
    assert!(c.proxy.linked(&alive_id) && c.services[0].linked(&alive_id));

    // The session carries on through the other route, with its service.
    assert_eq!(node_of(&client.request(20000, &json!({})).await.1), service_id);
    assert_eq!(node_of(&client.request(1000, &json!({})).await.1), alive_id.as_str(), "re-pinned");
    pushes_then_reply(&mut client, 5).await;
    let relayed = received(&c.routes[alive], 20000);
    assert_eq!(node_of(&client.request(20000, &json!({})).await.1), service_id);
    assert!(received(&c.routes[alive], 20000) > relayed, "relayed by the live route");
    // New sessions are served too.
    let mut fresh = Client::connect(&c.proxy.ws_url()).await;
    assert_eq!(node_of(&fresh.request(1000, &json!({})).await.1), alive_id.as_str());
    assert_eq!(node_of(&fresh.request(20000, &json!({})).await.1), service_id);

    // The handler that was cut off finishes; its answer reaches the proxy
    // through the live route, too late, and is dropped: the client got its
    // answer already and gets no second one.
    let late = || TransportStats::get(&c.proxy.node.endpoint().stats().late_responses);
    let late_before = late();
    c.gates[0].add_permits(1);
    wait_until("the late answer reaches the proxy", async || late() > late_before).await;
    assert_eq!(client.request(30000, &json!({})).await.0, 30000);
}

#[tokio::test]
async fn killing_the_first_route_fails_only_its_in_flight_requests_and_the_second_carries_on() {
    killing_a_route(0).await;
}

#[tokio::test]
async fn killing_the_second_route_fails_only_its_in_flight_requests_and_the_first_carries_on() {
    killing_a_route(1).await;
}

#[tokio::test]
async fn with_one_route_dead_the_other_keeps_membership_current() {
    // The proxy links to services it learns of, from either route.
    let c = cluster(1, SERVICE_RULES).await;
    let first_id = c.services[0].node.id().clone();
    wait_until("the proxy links to the service", async || c.proxy.linked(&first_id)).await;
    let mut client = Client::connect(&c.proxy.ws_url()).await;
    assert_eq!(node_of(&client.request(20000, &json!({})).await.1), first_id.as_str());

    c.routes[0].stop().await;
    let dead_id = c.routes[0].node.id().clone();
    wait_until("the proxy drops the dead route", async || !c.proxy.linked(&dead_id)).await;
    assert!(c.proxy.linked(&first_id), "the direct link to the service outlives the route");

    // A service joining now is learned through the live route, and served.
    let (second, _gate) = service("late", &c.routes[1..]).await;
    let second_id = second.node.id().clone();
    wait_until("the proxy links to the service that joined", async || c.proxy.linked(&second_id)).await;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..10 {
        seen.insert(node_of(&client.request(30000, &json!({})).await.1));
    }
    assert_eq!(seen.len(), 2, "stateless requests reach both services");

    // A service that leaves is forgotten: the live route's list is the
    // current one, not the last list of the dead route.
    let services_known = || {
        let text = c.proxy.node.metrics_text();
        let line = r#"espoir_members{node_type="service",state="active"} "#;
        text.lines().find_map(|l| l.strip_prefix(line)).map(|n| n.parse::<u64>().unwrap())
    };
    assert_eq!(services_known(), Some(2));
    c.services[0].stop().await;
    wait_until("the proxy forgets the service that left", async || services_known() == Some(1)).await;
    wait_until("the proxy stops dialing the service that left", async || {
        !c.proxy.node.peers().iter().any(|p| p.spec().expected_id() == first_id)
    })
    .await;
    for _ in 0..4 {
        assert_eq!(node_of(&client.request(30000, &json!({})).await.1), second_id.as_str());
    }
}
