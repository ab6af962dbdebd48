//! Membership through routes and failover: nodes learn new members from
//! routes, in any start order; a dead service's requests fail fast and its
//! sessions move; a restarted route heals the cluster.

use std::path::Path;

use espoir::{EventTable, NodeConfig, NodeId};
use espoir_testkit::*;
use serde_json::json;

fn cfg(text: &str) -> NodeConfig {
    NodeConfig::from_json5_str(text, Path::new("node.json5")).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

async fn service(name: &str, route_rpc: u16) -> TestNode {
    let ports = Ports::bind().await;
    let text = config_text(name, "service", &ports, &[remote(route_rpc, "route")], SERVICE_RULES);
    TestNode::start(cfg(&text), ports, handlers::service_events()).await
}

fn linked(a: &TestNode, b: &NodeId) -> bool {
    a.node.endpoint().link(b).is_some()
}

#[tokio::test]
async fn a_proxy_learns_a_new_service_through_the_route_whatever_the_start_order() {
    // The proxy routes service ids to services itself when it has a link,
    // and through the route otherwise; its config never names a service.
    let (proxy_ports, route_ports) = (Ports::bind().await, Ports::bind().await);
    let route_rpc = route_ports.rpc_port();
    let proxy_text =
        config_text("proxy", "proxy", &proxy_ports, &[remote(route_rpc, "route")], SERVICE_RULES);
    let proxy = TestNode::start(cfg(&proxy_text), proxy_ports, EventTable::new()).await;
    let first = service("first", route_rpc).await;
    // The route comes up last: nodes keep dialing it, then announce.
    let route_text = config_text("route", "route", &route_ports, &[], ROUTE_RULES);
    let route = TestNode::start(cfg(&route_text), route_ports, handlers::route_events()).await;
    let first_id = first.node.id().clone();
    wait_until("the proxy links to the first service", || async { linked(&proxy, &first_id) }).await;

    let second = service("second", route_rpc).await;
    let second_id = second.node.id().clone();
    wait_until("the proxy links to the service that joined", || async { linked(&proxy, &second_id) }).await;
    let (_, nodes) = admin(&proxy, "GET", "/nodes").await;
    let members = nodes["members"].as_array().unwrap();
    assert!(members.iter().any(|m| m["id"] == second_id.to_string() && m["state"] == "active"), "{nodes}");
    assert_eq!(
        nodes["peers"].as_array().unwrap().iter().filter(|p| p["origin"] == "config").count(),
        1,
        "the proxy's config still names only the route: {nodes}"
    );
    let mut seen = std::collections::HashSet::new();
    let mut client = Client::connect(&proxy.ws_url()).await;
    for _ in 0..10 {
        seen.insert(client.request(30000, &json!({})).await.1["node"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen.len(), 2, "stateless requests reach both services");
    let route_metrics = route.node.metrics_text();
    assert!(
        route_metrics.contains(r#"espoir_members{node_type="service",state="active"} 2"#),
        "{route_metrics}"
    );

    // A service that goes away is dropped everywhere.
    second.stop().await;
    wait_until("the route forgets the stopped service", || async {
        admin(&route, "GET", "/nodes").await.1["members"].as_array().is_some_and(|m| m.len() == 2)
    })
    .await;
    wait_until("the proxy stops dialing it", || async {
        !proxy.node.peers().iter().any(|p| p.spec().expected_id() == second_id)
    })
    .await;
    for _ in 0..4 {
        assert_eq!(client.request(30000, &json!({})).await.1["node"], first_id.to_string());
    }
}

struct Cluster {
    proxy: TestNode,
    route: TestNode,
    services: Vec<TestNode>,
    route_rpc: u16,
}

/// Everyone dials the route. With `proxy_rules`, the proxy sends service
/// ids to services itself (linking to them as it learns of them); without,
/// it sends everything through the route.
async fn cluster(services: usize, proxy_rules: &str) -> Cluster {
    let route_ports = Ports::bind().await;
    let route_rpc = route_ports.rpc_port();
    let route = TestNode::start(
        cfg(&config_text("route", "route", &route_ports, &[], ROUTE_RULES)),
        route_ports,
        handlers::route_events(),
    )
    .await;
    let mut nodes = Vec::new();
    for i in 0..services {
        nodes.push(service(&format!("service{i}"), route_rpc).await);
    }
    let proxy_ports = Ports::bind().await;
    let proxy_text = config_text("proxy", "proxy", &proxy_ports, &[remote(route_rpc, "route")], proxy_rules);
    let proxy = TestNode::start(cfg(&proxy_text), proxy_ports, EventTable::new()).await;
    proxy.wait_linked(&route).await;
    for s in &nodes {
        route.wait_linked(s).await;
    }
    Cluster { proxy, route, services: nodes, route_rpc }
}

#[tokio::test]
async fn a_dead_services_requests_fail_fast_and_its_sessions_move_at_once() {
    // Through the route: the route fails what it relayed to the dead node.
    dead_service_fails_fast_and_sessions_move("").await;
}

#[tokio::test]
async fn a_dead_services_requests_fail_fast_on_a_direct_link_too() {
    dead_service_fails_fast_and_sessions_move(SERVICE_RULES).await;
}

async fn dead_service_fails_fast_and_sessions_move(proxy_rules: &str) {
    let c = cluster(2, proxy_rules).await;
    if !proxy_rules.is_empty() {
        for s in &c.services {
            let id = s.node.id().clone();
            wait_until("the proxy links to each service", || async { linked(&c.proxy, &id) }).await;
        }
    }
    let mut client = Client::connect(&c.proxy.ws_url()).await;
    let pinned = client.request(20000, &json!({})).await.1["node"].as_str().unwrap().to_owned();
    let (dead, alive) = if c.services[0].node.id().as_str() == pinned { (0, 1) } else { (1, 0) };
    // A slow request is in flight on the pinned service when it dies.
    client.send(20005, &json!({ "ms": 8000 })).await;
    let dead_id = c.services[dead].node.id().clone();
    wait_until("the slow request reaches the service", || async {
        c.services[dead].node.metrics_text().contains("espoir_messages_received_total{command=\"20005\"")
    })
    .await;
    c.services[dead].shutdown.trigger();

    // Fast is shown by what ended the call, not by a clock: 503 (the link
    // was lost), not 408 (the 10 s call deadline), and the close was seen
    // at once, not after `dead_after` (1 s) of silence.
    let frame = client.recv().await.expect("an answer");
    let body: serde_json::Value = serde_json::from_slice(&frame.body).unwrap();
    assert_eq!((frame.command, body["code"].as_u64()), (20005, Some(503)), "{body}");
    let (cmd, body) = client.request(20000, &json!({})).await;
    assert_eq!((cmd, body["node"].as_str()), (20000, Some(c.services[alive].node.id().as_str())));
    for node in [&c.proxy, &c.route] {
        let metrics = node.node.metrics_text();
        assert!(
            metrics.contains("\nespoir_rpc_heartbeat_timeouts_total 0\n"),
            "closed, not silent: {metrics}"
        );
        assert!(metrics.contains("\nespoir_rpc_call_timeouts_total 0\n"), "no call waited it out: {metrics}");
    }
    assert!(!linked(&c.route, &dead_id));
    // And it sticks to the new service.
    assert_eq!(client.request(20000, &json!({})).await.1["node"], c.services[alive].node.id().to_string());
}

#[tokio::test]
async fn restarting_the_route_heals_the_cluster() {
    let c = cluster(1, SERVICE_RULES).await;
    let mut client = Client::connect(&c.proxy.ws_url()).await;
    assert_eq!(client.request(1000, &json!({})).await.1["code"], 200);
    let service_id = c.services[0].node.id().clone();
    wait_until("the proxy and the service link directly", || async { linked(&c.proxy, &service_id) }).await;

    c.route.stop().await;
    let route_id = c.route.node.id().clone();
    wait_until("the proxy sees the route gone", || async { !linked(&c.proxy, &route_id) }).await;
    let (cmd, body) = client.request(1000, &json!({})).await;
    assert_eq!((cmd, body["code"].as_u64()), (1000, Some(503)), "fails fast while the route is down");
    assert!(linked(&c.proxy, &service_id), "links learned from the route survive its restart");

    let ports = Ports::at(c.route_rpc).await;
    let route = TestNode::start(
        cfg(&config_text("route", "route", &ports, &[], ROUTE_RULES)),
        ports,
        handlers::route_events(),
    )
    .await;
    wait_until("the proxy redials the route", || async { linked(&c.proxy, &route_id) }).await;
    wait_until("the service redials the route", || async { linked(&c.services[0], &route_id) }).await;
    assert_eq!(client.request(1000, &json!({})).await.1["node"], route_id.to_string());
    assert_eq!(client.request(20000, &json!({})).await.1["node"], service_id.to_string());
    assert!(linked(&c.proxy, &service_id), "the direct link was kept all along");
    // Membership is rebuilt: a service joining now is learned by the proxy.
    let late = service("late", c.route_rpc).await;
    let late_id = late.node.id().clone();
    wait_until("the proxy links to a service that joined after the restart", || async {
        linked(&c.proxy, &late_id)
    })
    .await;
    drop(route);
}
