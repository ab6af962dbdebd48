//! A command that reaches a node without a handler for it: the client gets
//! `NOT_FOUND`, and the node's log says, once per id, what to check in
//! `rpc.route` or `api_path`.

use espoir::EventTable;
use espoir_testkit::handlers::{route_events, service_events};
use espoir_testkit::*;
use serde_json::json;

/// Not in any range: it goes to the route and stops there.
const UNROUTED: i32 = 200_000;
/// In the services' range, but no service handles it.
const UNHANDLED: i32 = 60_000;

#[tokio::test]
async fn a_command_without_a_handler_is_not_found_and_the_log_hints_at_rpc_route() {
    // A current-thread runtime: every task of the nodes logs through it.
    let (logs, _guard) = Captured::install();
    let route_ports = Ports::bind().await;
    let route = TestNode::start(
        config("route", "route", &route_ports, &[], ROUTE_RULES, ""),
        route_ports,
        route_events(),
    )
    .await;
    let to_route = [remote(route.node.addresses().rpc.unwrap().port(), "route")];
    let ports = Ports::bind().await;
    let service = TestNode::start(
        config("service", "service", &ports, &to_route, SERVICE_RULES, ""),
        ports,
        service_events(),
    )
    .await;
    let ports = Ports::bind().await;
    let proxy =
        TestNode::start(config("proxy", "proxy", &ports, &to_route, "", ""), ports, EventTable::new()).await;
    route.wait_linked(&service).await;
    route.wait_linked(&proxy).await;

    let mut client = Client::connect(&proxy.ws_url()).await;
    for command in [UNROUTED, UNROUTED, UNHANDLED, UNHANDLED] {
        let (answered, body) = client.request(command, &json!({})).await;
        assert_eq!((answered, body["code"].clone()), (command, json!(404)), "{body}");
    }
    let logs = logs.text();
    let unrouted = format!("no handler for command {UNROUTED}: rpc.route names no node type for it");
    assert_eq!(logs.matches(&unrouted).count(), 1, "one hint on the route, once:\n{logs}");
    let unhandled =
        format!("no handler for command {UNHANDLED} on this service node, although rpc.route sends it");
    assert_eq!(logs.matches(&unhandled).count(), 1, "one hint on the service, once:\n{logs}");
    assert!(logs.contains("api_path"), "{logs}");
}
