//! A node that binds one address and announces another, as in a container
//! (bind `0.0.0.0`, announce the pod's address): peers reach it by the
//! announced address, its id is that of the announced address, and
//! clients are served through it.

use std::net::Ipv4Addr;
use std::path::Path;

use espoir::{EventTable, Node, NodeConfig, NodeError, NodeId, Shutdown};
use espoir_testkit::*;
use serde_json::json;

/// The announced address: loopback (Linux routes all of 127/8 to it), but
/// not the one the listener is bound to.
const ANNOUNCED: &str = "127.0.0.2";

/// A service bound to every interface on a free port, announcing
/// [`ANNOUNCED`]. The port is found by binding it and letting it go, so
/// another process may take it in between: a few tries, each on a fresh
/// port.
async fn start_service_bound_everywhere() -> TestNode {
    for _ in 0..5 {
        let port =
            std::net::TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap().local_addr().unwrap().port();
        let text = format!(
            r#"{{ name: "service", type: "service", host: "{ANNOUNCED}", bind: "0.0.0.0",
                 rpc: {{ port: {port}, token: "{TOKEN}", heartbeat_interval: 0.1, dead_after: 1, lanes: 1
                         {SERVICE_RULES} }} }}"#
        );
        let config = NodeConfig::from_json5_str(&text, Path::new("service.json5")).unwrap();
        let shutdown = Shutdown::new();
        match Node::builder(config).events(handlers::service_events()).start(&shutdown).await {
            Ok(node) => return TestNode { node, shutdown },
            Err(NodeError::Bind { .. }) => continue,
            Err(err) => panic!("the service does not start: {err}"),
        }
    }
    panic!("no free port to bind on 0.0.0.0 after 5 tries");
}

#[tokio::test]
async fn peers_reach_a_node_by_its_announced_address_while_it_binds_every_interface() {
    let service = start_service_bound_everywhere().await;
    let bound = service.node.addresses().rpc.unwrap();
    assert!(bound.ip().is_unspecified(), "the listener is bound to 0.0.0.0, not {bound}");
    assert_eq!(service.node.id(), &NodeId::of(ANNOUNCED, bound.port()), "the id is the announced address's");

    // The route lists the service by its announced address only.
    let (route_ports, proxy_ports) = (Ports::bind().await, Ports::bind().await);
    let announced = remote(bound.port(), "service").replace("127.0.0.1", ANNOUNCED);
    let route_cfg = config("route", "route", &route_ports, &[announced], ROUTE_RULES, "");
    let route = TestNode::start(route_cfg, route_ports, handlers::route_events()).await;
    let proxy_cfg = config("proxy", "proxy", &proxy_ports, &[remote(route.rpc_port(), "route")], "", "");
    let proxy = TestNode::start(proxy_cfg, proxy_ports, EventTable::new()).await;
    route.wait_linked(&service).await;
    proxy.wait_linked(&route).await;

    // The service announced the address it is reached at, and the route
    // took it (an announcement must hash to the proven id).
    wait_until("the route lists the service as a member", || async {
        admin(&route, "GET", "/nodes").await.1["members"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["id"] == service.node.id().as_str()))
    })
    .await;
    let (_, nodes) = admin(&route, "GET", "/nodes").await;
    let member =
        nodes["members"].as_array().unwrap().iter().find(|m| m["type"] == "service").unwrap().clone();
    assert_eq!(
        (member["host"].as_str(), member["port"].as_u64()),
        (Some(ANNOUNCED), Some(u64::from(bound.port())))
    );

    // A client is served by it, through the proxy and the route.
    let mut client = Client::connect(&proxy.ws_url()).await;
    let (command, body) = client.request(20000, &json!({})).await;
    assert_eq!((command, body["node"].as_str()), (20000, Some(service.node.id().as_str())));
}
