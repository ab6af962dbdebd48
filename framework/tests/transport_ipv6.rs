//! A cluster over IPv6 (obespoir defect 30: identity tied to the literal
//! host and the socket address broke with IPv6). A proxy and a service on
//! `::1` link, authenticate, route a client's request and agree on who is
//! who.
//!
//! Needs the IPv6 loopback; without it the test is skipped, except under
//! `CI=true`, where its absence fails.

use std::path::Path;

use espoir::{Context, EventTable, NodeConfig, NodeId, Status, events, register_event};
use espoir_testkit::*;
use serde_json::{Value, json};
use tokio::net::TcpListener;

#[register_event(20000)]
async fn who(ctx: Context) -> Result<Value, Status> {
    Ok(json!({ "node": ctx.node_id().to_string() }))
}

async fn bind_v6() -> Option<TcpListener> {
    match TcpListener::bind("[::1]:0").await {
        Ok(listener) => Some(listener),
        Err(err) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("the IPv6 loopback (::1) is required in CI (CI=true): {err}")
        }
        Err(err) => {
            eprintln!("skipping: no IPv6 loopback: {err}");
            None
        }
    }
}

async fn ports_v6() -> Option<Ports> {
    Some(Ports { rpc: bind_v6().await?, ws: bind_v6().await?, http: bind_v6().await? })
}

fn node(name: &str, node_type: &str, ports: &Ports, remotes: &str) -> NodeConfig {
    let ws = if node_type == "proxy" {
        format!(
            r#""websocket": {{"port": {}, "limits": {{"max_connections_per_ip": 100}}}},"#,
            ports.ws_port()
        )
    } else {
        String::new()
    };
    let text = format!(
        r#"{{ "name": "{name}", "type": "{node_type}", "host": "::1", {ws}
             "http": {{"port": {http}, "token": "{TOKEN}"}},
             "rpc": {{"port": {rpc}, "token": "{TOKEN}", "encode": 1,
                      "route": {{"range": {{"service": [[20000, 20000]]}}}}}},
             "remote_ports": [{remotes}] }}"#,
        http = ports.http_port(),
        rpc = ports.rpc_port(),
    );
    NodeConfig::from_json5_str(&text, Path::new(&format!("{name}.json5")))
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
}

#[tokio::test]
async fn a_cluster_on_the_ipv6_loopback_links_and_serves() {
    let Some(service_ports) = ports_v6().await else { return };
    let Some(proxy_ports) = ports_v6().await else { return };
    let service_rpc = service_ports.rpc_port();
    let service =
        TestNode::start(node("service", "service", &service_ports, ""), service_ports, events![who]).await;
    let remote = format!(
        r#"{{"host": "::1", "port": {service_rpc}, "token": "{TOKEN}", "encode": 1, "type": "service"}}"#
    );
    let proxy =
        TestNode::start(node("proxy", "proxy", &proxy_ports, &remote), proxy_ports, EventTable::new()).await;
    proxy.wait_linked(&service).await;

    // Ids come from the configured host and port, never from the socket.
    assert_eq!(service.node.id(), &NodeId::of("::1", service_rpc));
    let url = proxy.ws_url();
    assert!(url.starts_with("ws://[::1]:"), "{url}");
    let mut client = Client::connect(&url).await;
    let (command, body) = client.request(20000, &json!({})).await;
    assert_eq!((command, body["node"].clone()), (20000, json!(service.node.id().to_string())));
}
