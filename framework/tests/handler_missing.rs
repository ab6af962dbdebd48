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
/// `whoami`, in the service table of the kit.
const WHOAMI: i32 = 20000;

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

/// A service with a handler for a command that its own `rpc.route` does not
/// name sends it to a route (there is none): the client gets 503, and the
/// service's log says to name the id in its own config.
#[tokio::test]
async fn a_handler_that_its_own_node_routes_away_gets_a_hint() {
    let (logs, _guard) = Captured::install();
    let ports = Ports::bind().await;
    // No rpc.route on the service: every id would go to a route.
    let service =
        TestNode::start(config("service", "service", &ports, &[], "", ""), ports, service_events()).await;
    let to_service = [remote(service.node.addresses().rpc.unwrap().port(), "service")];
    let ports = Ports::bind().await;
    let proxy = TestNode::start(
        config("proxy", "proxy", &ports, &to_service, SERVICE_RULES, ""),
        ports,
        EventTable::new(),
    )
    .await;
    proxy.wait_linked(&service).await;

    let mut client = Client::connect(&proxy.ws_url()).await;
    for _ in 0..2 {
        let (_, body) = client.request(WHOAMI, &json!({})).await;
        assert_eq!(body["code"], 503, "{body}");
    }
    let logs = logs.text();
    let hint = format!(
        "command {WHOAMI} has a handler on this service node, but this node's rpc.route sends it to route nodes"
    );
    assert_eq!(logs.matches(&hint).count(), 1, "one hint, once:\n{logs}");
}
