//! The admin endpoints on the HTTP port: bearer auth, open probes (health,
//! readiness), the node list and metrics, next to the application's own
//! routes.

use std::path::Path;

use espoir::{EventTable, HttpResponse, HttpRoutes, NodeConfig};
use espoir_testkit::*;
use serde_json::json;

#[tokio::test]
async fn admin_calls_need_the_bearer_token_and_health_stays_open() {
    let ports = Ports::bind().await;
    let cfg = NodeConfig::from_json5_str(&config_text("s", "service", &ports, &[], ""), Path::new("s.json5"))
        .unwrap();
    let user = HttpRoutes::new().route("/", |_req| async { HttpResponse::text("hello") });
    let node = TestNode::start_with(cfg, ports, |b| b.events(handlers::service_events()).http(user)).await;
    let addr = node.node.addresses().http.unwrap();

    let (status, body) = http(addr, "GET", "/health", None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""status":"ok""#), "{body}");
    for path in ["/nodes", "/metrics"] {
        assert_eq!(http(addr, "GET", path, None).await.0, 401, "{path} without a token");
        let wrong = format!("Bearer {}x", &TOKEN[..TOKEN.len() - 1]);
        assert_eq!(http(addr, "GET", path, Some(&wrong)).await.0, 401, "{path} with a wrong token");
        assert_eq!(
            http(addr, "GET", path, Some(&format!("Basic {TOKEN}"))).await.0,
            401,
            "{path}: not bearer"
        );
    }
    for path in ["/update_remote_rpc_config", "/drain"] {
        assert_eq!(http(addr, "POST", path, None).await.0, 401, "{path} without a token");
    }
    assert_eq!(
        http(addr, "GET", "/nodes", Some(&format!("bearer {TOKEN}"))).await.0,
        200,
        "scheme is case-insensitive"
    );
    assert_eq!(admin(&node, "GET", "/update_remote_rpc_config").await.0, 405, "a reload is a POST");
    assert_eq!(http(addr, "GET", "/", None).await, (200, "hello".to_owned()), "user routes still work");

    let (status, metrics) = admin(&node, "GET", "/metrics").await;
    assert_eq!(status, 200);
    let metrics = metrics.as_str().unwrap().to_owned();
    assert!(metrics.contains("espoir_admin_auth_failures_total 8"), "{metrics}");
    assert!(!metrics.contains(TOKEN), "tokens never appear in metrics");
    assert!(!node.node.is_draining(), "a refused /drain did nothing");
}

#[tokio::test]
async fn probes_are_open_and_say_only_up_ready_and_draining_without_the_token() {
    // A service whose configured route never answers: up, but not ready.
    let (ports, absent) = (Ports::bind().await, Ports::bind().await);
    let text = config_text("s", "service", &ports, &[remote(absent.rpc_port(), "route")], "");
    let cfg = NodeConfig::from_json5_str(&text, Path::new("s.json5")).unwrap();
    let node = TestNode::start(cfg, ports, handlers::service_events()).await;
    let addr = node.node.addresses().http.unwrap();

    let (status, body) = http(addr, "GET", "/ready", None).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap(),
        json!({"ready": false, "draining": false})
    );
    let (status, body) = http(addr, "GET", "/health", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap(),
        json!({"status": "ok", "draining": false})
    );
    let wrong = format!("Bearer {}x", &TOKEN[..TOKEN.len() - 1]);
    let (status, body) = http(addr, "GET", "/ready", Some(&wrong)).await;
    assert_eq!(status, 503, "a wrong token is only no details");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap(),
        json!({"ready": false, "draining": false})
    );
    assert_eq!(http(addr, "HEAD", "/health", None).await.0, 200, "HEAD works for probes too");

    // With the token they say more: who the node is, what readiness waits for.
    let (status, ready) = admin(&node, "GET", "/ready").await;
    assert_eq!(status, 503);
    assert_eq!(ready["waiting_for"][0]["type"], "route", "{ready}");
    let (_, health) = admin(&node, "GET", "/health").await;
    assert_eq!(
        (health["status"].as_str(), health["id"].as_str()),
        (Some("ok"), Some(node.node.id().as_str()))
    );
    assert_eq!(node.metric("espoir_admin_auth_failures_total"), 0.0, "a probe without a token is no failure");
}

#[tokio::test]
async fn a_node_without_an_http_token_refuses_admin_calls() {
    let ports = Ports::bind().await;
    let cfg_text =
        config_text("s", "service", &ports, &[], "").replace(&format!(r#""token": "{TOKEN}"}},"#), "},");
    let cfg = NodeConfig::from_json5_str(&cfg_text, Path::new("s.json5")).unwrap();
    assert!(cfg.http.as_ref().unwrap().token.is_none(), "{cfg_text}");
    let node = TestNode::start(cfg, ports, EventTable::new()).await;
    assert_eq!(admin(&node, "GET", "/nodes").await.0, 403);
    let addr = node.node.addresses().http.unwrap();
    assert_eq!(http(addr, "GET", "/health", None).await.0, 200);
    assert_eq!(http(addr, "GET", "/ready", None).await.0, 200, "probes work without any admin token");
}

#[tokio::test]
async fn nodes_ready_and_metrics_describe_a_running_cluster() {
    let (proxy_ports, route_ports, service_ports) =
        (Ports::bind().await, Ports::bind().await, Ports::bind().await);
    let route_text = config_text(
        "route",
        "route",
        &route_ports,
        &[remote(proxy_ports.rpc_port(), "proxy"), remote(service_ports.rpc_port(), "service")],
        ROUTE_RULES,
    );
    let route_port = route_ports.rpc_port();
    let service_text =
        config_text("service", "service", &service_ports, &[remote(route_port, "route")], SERVICE_RULES);
    let proxy_text = config_text("proxy", "proxy", &proxy_ports, &[remote(route_port, "route")], "");
    let cfg = |t: &str| NodeConfig::from_json5_str(t, Path::new("x.json5")).unwrap();
    let route = TestNode::start(cfg(&route_text), route_ports, handlers::route_events()).await;
    let service = TestNode::start(cfg(&service_text), service_ports, handlers::service_events()).await;
    let proxy = TestNode::start(cfg(&proxy_text), proxy_ports, EventTable::new()).await;

    wait_until("the proxy is ready", || async { admin(&proxy, "GET", "/ready").await.0 == 200 }).await;
    wait_until("the route knows both members", || async {
        admin(&route, "GET", "/nodes").await.1["members"].as_array().is_some_and(|m| m.len() == 2)
    })
    .await;
    let (_, nodes) = admin(&route, "GET", "/nodes").await;
    assert_eq!(nodes["node"]["type"], "route");
    assert_eq!(nodes["node"]["id"], route.node.id().to_string());
    let mut types: Vec<&str> =
        nodes["members"].as_array().unwrap().iter().map(|m| m["type"].as_str().unwrap()).collect();
    types.sort_unstable();
    assert_eq!(types, ["proxy", "service"]);
    assert!(nodes["peers"].as_array().unwrap().iter().all(|p| p["origin"] == "config"));

    let mut client = Client::connect(&proxy.ws_url()).await;
    for _ in 0..3 {
        let (cmd, body) = client.request(20000, &json!({})).await;
        assert_eq!((cmd, body["node"].as_str()), (20000, Some(service.node.id().as_str())));
    }
    let proxy_metrics = proxy.node.metrics_text();
    assert!(
        proxy_metrics.contains(r#"espoir_messages_received_total{command="20000",via="client"} 3"#),
        "{proxy_metrics}"
    );
    assert!(
        proxy_metrics.contains(r#"espoir_messages_sent_total{command="20000",via="client"} 3"#),
        "{proxy_metrics}"
    );
    assert!(proxy_metrics.contains("espoir_client_connections_total 1"), "{proxy_metrics}");
    assert!(proxy_metrics.contains("espoir_sessions 1"), "{proxy_metrics}");
    assert!(
        proxy_metrics.contains(r#"espoir_peers{peer_type="route",origin="config",state="up"} 1"#),
        "{proxy_metrics}"
    );
    let route_metrics = route.node.metrics_text();
    assert!(
        route_metrics.contains("espoir_relayed_in_flight 0"),
        "answers pass back through the route: {route_metrics}"
    );
    let service_metrics = service.node.metrics_text();
    assert!(
        service_metrics.contains(r#"espoir_handler_duration_seconds_count{command="20000"} 3"#),
        "{service_metrics}"
    );
    assert!(service_metrics.contains("espoir_rpc_auth_failures_total 0"), "{service_metrics}");
    let (cmd, body) = client.request(25000, &json!({})).await;
    assert_eq!((cmd, body["code"].as_u64()), (25000, Some(404)));
    let proxy_metrics = proxy.node.metrics_text();
    assert!(proxy_metrics.contains(r#"espoir_request_errors_total{kind="not_found"} 1"#), "{proxy_metrics}");
}
