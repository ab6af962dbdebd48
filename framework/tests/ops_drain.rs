//! Draining: a node finishes its in-flight work, takes nothing new, tells
//! the cluster, then stops.

use std::path::Path;
use std::time::Duration;

use espoir::{EventTable, NodeConfig};
use espoir_testkit::*;
use serde_json::json;

fn cfg(text: &str) -> NodeConfig {
    NodeConfig::from_json5_str(text, Path::new("node.json5")).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

struct Cluster {
    proxy: TestNode,
    route: TestNode,
    services: Vec<TestNode>,
}

async fn cluster(services: usize) -> Cluster {
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
        let ports = Ports::bind().await;
        let t = config_text(
            &format!("service{i}"),
            "service",
            &ports,
            &[remote(route_rpc, "route")],
            SERVICE_RULES,
        );
        nodes.push(TestNode::start(cfg(&t), ports, handlers::service_events()).await);
    }
    let proxy_ports = Ports::bind().await;
    let t = config_text("proxy", "proxy", &proxy_ports, &[remote(route_rpc, "route")], "");
    let proxy = TestNode::start(cfg(&t), proxy_ports, EventTable::new()).await;
    proxy.wait_linked(&route).await;
    for s in &nodes {
        route.wait_linked(s).await;
    }
    Cluster { proxy, route, services: nodes }
}

/// A client whose session is pinned to `service`.
async fn client_pinned_to(proxy: &TestNode, service: &TestNode) -> Client {
    let want = service.node.id().to_string();
    for _ in 0..20 {
        let mut client = Client::connect(&proxy.ws_url()).await;
        if client.request(20000, &json!({})).await.1["node"] == want {
            return client;
        }
    }
    panic!("no session landed on {want}");
}

#[tokio::test]
async fn a_draining_service_finishes_in_flight_work_and_takes_no_new_sessions() {
    let c = cluster(2).await;
    let (a, b) = (&c.services[0], &c.services[1]);
    let (a_id, b_id) = (a.node.id().to_string(), b.node.id().to_string());
    let mut pinned = client_pinned_to(&c.proxy, a).await;
    pinned.send(20005, &json!({ "ms": 600 })).await;
    wait_until("the slow request runs on the service", || async {
        admin(a, "GET", "/nodes").await.1["node"]["in_flight"] == 1
    })
    .await;

    let (status, body) = admin(a, "POST", "/drain?grace=5").await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["draining"], true);
    assert_eq!(admin(a, "GET", "/ready").await.0, 503, "a draining node is not ready");
    let (status, open) = http(a.node.addresses().http.unwrap(), "GET", "/ready", None).await;
    assert_eq!((status, open.contains(r#""draining":true"#)), (503, true), "the open probe says so: {open}");
    let (_, health) = admin(a, "GET", "/health").await;
    assert_eq!(health["draining"], true, "{health}");

    // The request in flight finishes normally.
    let frame = pinned.recv().await.expect("the slow answer");
    let body: serde_json::Value = serde_json::from_slice(&frame.body).unwrap();
    assert_eq!(
        (frame.command, body["node"].as_str(), body["slept"].as_u64()),
        (20005, Some(a_id.as_str()), Some(600))
    );
    // New work goes elsewhere: the pinned session moves, new sessions never land on it.
    assert_eq!(pinned.request(20000, &json!({})).await.1["node"], b_id);
    for _ in 0..6 {
        let mut client = Client::connect(&c.proxy.ws_url()).await;
        assert_eq!(client.request(20000, &json!({})).await.1["node"], b_id);
        assert_eq!(client.request(30000, &json!({})).await.1["node"], b_id);
    }
    // Then it stops, and the route forgets it.
    tokio::time::timeout(WAIT, a.node.stopped()).await.expect("the drained service stops");
    wait_until("the route drops the drained member", || async {
        admin(&c.route, "GET", "/nodes").await.1["members"]
            .as_array()
            .is_some_and(|m| m.iter().all(|member| member["id"] != a_id.as_str()))
    })
    .await;
    assert_eq!(pinned.request(20000, &json!({})).await.1["node"], b_id);
}

#[tokio::test]
async fn a_draining_proxy_answers_what_clients_sent_then_closes_them_and_refuses_new_ones() {
    let c = cluster(1).await;
    let mut client = Client::connect(&c.proxy.ws_url()).await;
    assert_eq!(client.request(20000, &json!({})).await.0, 20000);
    client.send(20005, &json!({ "ms": 400 })).await;
    wait_until("the slow request is in flight", || async {
        c.proxy
            .node
            .metrics_text()
            .contains("espoir_messages_received_total{command=\"20005\",via=\"client\"} 1")
    })
    .await;
    let ws_addr = c.proxy.node.addresses().websocket.unwrap();
    let proxy = &c.proxy.node;
    let (drained, answered) = tokio::join!(proxy.drain(Duration::from_secs(5)), async {
        let frame = client.recv().await.expect("the answer to the request in flight");
        let code = client.close_code().await;
        (frame.command, code)
    });
    assert!(drained, "everything finished within the grace period");
    assert_eq!(answered, (20005, Some(1001)));
    assert!(tokio::net::TcpStream::connect(ws_addr).await.is_err(), "no new clients");
    assert_eq!(c.proxy.node.sessions(), 0);
}

#[tokio::test]
async fn a_drain_past_its_grace_period_still_stops_the_node() {
    let c = cluster(1).await;
    let mut client = Client::connect(&c.proxy.ws_url()).await;
    client.send(20005, &json!({ "ms": 4000 })).await;
    let service = &c.services[0];
    wait_until("the slow request runs", || async {
        admin(service, "GET", "/nodes").await.1["node"]["in_flight"] == 1
    })
    .await;
    assert!(!service.node.drain(Duration::from_millis(200)).await, "reports that work was cut short");
    tokio::time::timeout(WAIT, service.node.stopped()).await.expect("stopped");
    // Draining the stopped node again (as `espoir node` does after a
    // `POST /drain`) still reports it: its exit status says so.
    assert!(!service.node.drain(Duration::from_millis(200)).await, "a later drain reports it too");
    // Stopped at the grace period, not when the work ended: the request is
    // answered as lost, never with the 4 s handler's own answer.
    let frame = client.recv().await.expect("the cut request is answered");
    let body: serde_json::Value = serde_json::from_slice(&frame.body).unwrap();
    assert_eq!((frame.command, body["code"].as_u64()), (20005, Some(503)), "{body}");
}
