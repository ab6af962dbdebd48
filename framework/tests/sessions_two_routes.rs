//! Session features in a cluster with two routes: what one node fans out
//! to every proxy keeps its order, whichever routes are linked.

mod session_support;

use espoir_testkit::*;
use serde_json::json;
use session_support::*;

/// Two routes, one service and one proxy, the service and the proxy each
/// dialing both routes.
async fn two_routes() -> (Vec<TestNode>, TestNode, TestNode) {
    let mut routes = Vec::new();
    for i in 0..2 {
        let ports = Ports::bind().await;
        let cfg = config(&format!("route{i}"), "route", &ports, &[], ROUTE_RULES, "");
        routes.push(TestNode::start(cfg, ports, espoir::EventTable::new()).await);
    }
    let remotes: Vec<String> =
        routes.iter().map(|r| remote(r.node.addresses().rpc.unwrap().port(), "route")).collect();
    let ports = Ports::bind().await;
    let cfg = config("service", "service", &ports, &remotes, SERVICE_RULES, "");
    let service = TestNode::start(cfg, ports, service_events()).await;
    let ports = Ports::bind().await;
    let proxy =
        TestNode::start(proxy_config("proxy", &ports, &remotes, ""), ports, espoir::EventTable::new()).await;
    for route in &routes {
        for node in [&service, &proxy] {
            node.wait_linked(route).await;
            route.wait_linked(node).await;
        }
    }
    (routes, service, proxy)
}

/// A service's broadcasts for one session reach every member in the order
/// it sent them: they all take the one route to that session's proxy. Spread over two routes, two
/// consecutive broadcasts could overtake each other; on one machine they
/// rarely do, so the test also checks the mechanism: one route relayed
/// them all.
#[tokio::test]
async fn broadcasts_from_one_service_keep_their_order_over_two_routes() {
    let (routes, _service, proxy) = two_routes().await;
    let mut member = Client::connect(&proxy.ws_url()).await;
    member.request(JOIN, &json!({ "group": "g" })).await;
    let mut sender = Client::connect(&proxy.ws_url()).await;
    // Pipelined: one session's handlers run in order, so the service
    // broadcasts 0, 1, 2, … in that order.
    for i in 0..64 {
        sender.send(BROADCAST, &json!({ "group": "g", "value": i })).await;
    }
    for i in 0..64 {
        assert_eq!(json_of(&member.next_of(BROADCASTED).await), json!(i), "in the order sent");
    }
    let relayed: Vec<u64> =
        routes.iter().map(|r| espoir::SessionStats::get(&r.node.session_stats().fanouts_relayed)).collect();
    assert!(relayed.contains(&64) && relayed.contains(&0), "one route relayed every broadcast: {relayed:?}");
}
