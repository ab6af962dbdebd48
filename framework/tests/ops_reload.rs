//! Live reconfiguration: edit a node's config file, call
//! `/update_remote_rpc_config` (or let the watcher see it), and the cluster
//! changes shape without a restart and without failing requests.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use espoir::EventTable;
use espoir_testkit::*;
use serde_json::json;

/// A proxy and a route dialing each other, services the route dials (and
/// that dial nobody), the route started from a file.
struct Cluster {
    route_file: PathBuf,
    route_ports: (u16, u16, u16),
    proxy: TestNode,
    route: TestNode,
    services: Vec<TestNode>,
}

impl Cluster {
    /// `linked` of the `services` are in the route's config at start.
    async fn start(services: usize, linked: usize, watch: bool) -> Cluster {
        Cluster::start_with(services, linked, watch, "").await
    }

    /// As [`Cluster::start`]; `proxy_rules` are the proxy's `rpc.route`.
    async fn start_with(services: usize, linked: usize, watch: bool, proxy_rules: &str) -> Cluster {
        let dir = temp_dir();
        let (proxy_ports, route_ports) = (Ports::bind().await, Ports::bind().await);
        let service_ports: Vec<Ports> =
            futures_util::future::join_all((0..services).map(|_| Ports::bind())).await;
        let service_rpc: Vec<u16> = service_ports.iter().map(Ports::rpc_port).collect();
        let route_file = dir.join("route.json5");
        let ids = (route_ports.rpc_port(), proxy_ports.rpc_port(), 0);
        write_config(&route_file, &route_text(ids, &service_rpc[..linked]));
        let mut nodes = Vec::new();
        for (i, ports) in service_ports.into_iter().enumerate() {
            let file = dir.join(format!("service{i}.json5"));
            write_config(&file, &config_text(&format!("service{i}"), "service", &ports, &[], SERVICE_RULES));
            nodes.push(TestNode::start_file(&file, ports, |b| b.events(handlers::service_events())).await);
        }
        let route = TestNode::start_file(&route_file, route_ports, |b| {
            b.events(handlers::route_events()).watch(watch).watch_interval(Duration::from_millis(50))
        })
        .await;
        let proxy_file = dir.join("proxy.json5");
        write_config(
            &proxy_file,
            &config_text("proxy", "proxy", &proxy_ports, &[remote(ids.0, "route")], proxy_rules),
        );
        let proxy = TestNode::start_file(&proxy_file, proxy_ports, |b| b.events(EventTable::new())).await;
        proxy.wait_linked(&route).await;
        for s in &nodes[..linked] {
            route.wait_linked(s).await;
        }
        Cluster { route_file, route_ports: ids, proxy, route, services: nodes }
    }

    fn edit_route(&self, services: &[usize]) {
        let rpc: Vec<u16> =
            services.iter().map(|&i| self.services[i].node.addresses().rpc.unwrap().port()).collect();
        write_config(&self.route_file, &route_text(self.route_ports, &rpc));
    }
}

fn route_text((route_rpc, proxy_rpc, _): (u16, u16, u16), services: &[u16]) -> String {
    let mut remotes = vec![remote(proxy_rpc, "proxy")];
    remotes.extend(services.iter().map(|&p| remote(p, "service")));
    // The route's ports come from its pre-bound listeners; only rpc is named.
    let ports = format!(
        r#"{{"name": "route", "type": "route", "host": "127.0.0.1",
            "http": {{"port": 0, "token": "{token}"}},
            "rpc": {{"port": {route_rpc}, "token": "{token}", "reconnect_time": 0.05, "max_backoff": 0.2,
                     "heartbeat_interval": 0.1, "dead_after": 1 {ROUTE_RULES}}},
            "remote_ports": [{}]}}"#,
        remotes.join(","),
        token = TOKEN,
    );
    ports
}

/// Clients sending stateless requests until stopped; counts failures.
/// Each sends as fast as the machine goes: the proxy has
/// `TRAFFIC_LIMITS` (the default `websocket.limits.message_rate`
/// of 50/s, burst 100, would answer a fast machine's loop with 429s).
struct Traffic {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Traffic {
    fn start(url: &str, clients: usize) -> Traffic {
        let (stop, ok, failed) = (Arc::new(AtomicBool::new(false)), Arc::default(), Arc::default());
        let tasks = (0..clients)
            .map(|_| {
                let (url, stop, ok, failed) =
                    (url.to_owned(), Arc::clone(&stop), Arc::clone(&ok), Arc::clone(&failed));
                tokio::spawn(async move {
                    let mut client = Client::connect(&url).await;
                    while !stop.load(Ordering::SeqCst) {
                        let (_, body) = client.request(30000, &json!({})).await;
                        let counter: &AtomicUsize = if body["node"].is_string() { &ok } else { &failed };
                        counter.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        Traffic { stop, ok, failed, tasks }
    }

    async fn finish(self) -> (usize, usize) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.tasks {
            t.await.unwrap();
        }
        (self.ok.load(Ordering::SeqCst), self.failed.load(Ordering::SeqCst))
    }
}

/// Services that answer `command` for new sessions, over `sessions` sessions.
async fn served_by(proxy: &TestNode, command: i32, sessions: usize) -> HashSet<String> {
    let mut seen = HashSet::new();
    for _ in 0..sessions {
        let mut client = Client::connect(&proxy.ws_url()).await;
        let (_, body) = client.request(command, &json!({})).await;
        seen.insert(body["node"].as_str().unwrap_or("error").to_owned());
        client.close().await;
    }
    seen
}

#[tokio::test]
async fn adding_a_service_by_editing_the_config_serves_new_sessions_and_fails_nothing() {
    let c = Cluster::start(2, 1, false).await;
    let traffic = Traffic::start(&c.proxy.ws_url(), 4);
    wait_until("traffic flows", || async { traffic.ok.load(Ordering::SeqCst) > 20 }).await;

    c.edit_route(&[0, 1]);
    let (status, report) = admin(&c.route, "POST", "/update_remote_rpc_config").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["changed"], true);
    assert_eq!(report["added"][0]["id"], c.services[1].node.id().to_string(), "{report}");
    assert_eq!(report["added"][0]["type"], "service");
    assert!(
        report["removed"].as_array().unwrap().is_empty()
            && report["reconnected"].as_array().unwrap().is_empty()
    );
    c.route.wait_linked(&c.services[1]).await;

    let new = c.services[1].node.id().to_string();
    wait_until("new sessions reach the added service", || async {
        served_by(&c.proxy, 20000, 6).await.contains(&new)
    })
    .await;
    let before = traffic.ok.load(Ordering::SeqCst);
    wait_until("more traffic after the change", || async { traffic.ok.load(Ordering::SeqCst) > before + 20 })
        .await;
    let (ok, failed) = traffic.finish().await;
    assert_eq!(failed, 0, "no request failed during the change ({ok} succeeded)");
    // Applying the same file again changes nothing.
    let (status, report) = admin(&c.route, "POST", "/update_remote_rpc_config").await;
    assert_eq!((status, &report["changed"]), (200, &json!(false)), "{report}");
}

#[tokio::test]
async fn removing_a_service_by_editing_the_config_stops_new_work_for_it() {
    removing_a_service_stops_new_work_for_it("").await;
}

#[tokio::test]
async fn a_removed_service_gets_no_new_work_even_from_proxies_linked_to_it() {
    // The proxy sends service ids to services itself, over links it learned
    // from the route: the route's eviction must reach it.
    removing_a_service_stops_new_work_for_it(SERVICE_RULES).await;
}

async fn removing_a_service_stops_new_work_for_it(proxy_rules: &str) {
    let c = Cluster::start_with(2, 2, false, proxy_rules).await;
    if !proxy_rules.is_empty() {
        for s in &c.services {
            let id = s.node.id().clone();
            wait_until("the proxy links to each service", || async {
                c.proxy.node.endpoint().link(&id).is_some()
            })
            .await;
        }
    }
    let (a, b) = (c.services[0].node.id().to_string(), c.services[1].node.id().to_string());
    wait_until("both services serve", || async { served_by(&c.proxy, 30000, 4).await.len() == 2 }).await;

    c.edit_route(&[0]);
    let (status, report) = admin(&c.route, "POST", "/update_remote_rpc_config").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["removed"][0]["id"], b, "{report}");
    wait_until("the route's link to the removed service closes", || async {
        c.route.node.endpoint().link(c.services[1].node.id()).is_none()
    })
    .await;
    wait_until("the proxy hears of the removal", || async {
        let seen = served_by(&c.proxy, 30000, 1).await;
        seen.len() == 1 && seen.contains(&a)
    })
    .await;
    for command in [20000, 30000] {
        let seen = served_by(&c.proxy, command, 8).await;
        assert_eq!(seen, HashSet::from([a.clone()]), "command {command} only reaches the remaining service");
    }
}

#[tokio::test]
async fn an_invalid_edit_answers_400_and_the_cluster_keeps_serving() {
    let c = Cluster::start(2, 1, false).await;
    let mut client = Client::connect(&c.proxy.ws_url()).await;
    let served = c.services[0].node.id().to_string();
    assert_eq!(client.request(20000, &json!({})).await.1["node"], served);

    // A short token and a port 0: both problems are named.
    let good = std::fs::read_to_string(&c.route_file).unwrap();
    let bad = good.replacen("\"port\": 0,", "\"port\": 0, \"bogus\": 1,", 1);
    write_config(&c.route_file, &bad);
    let (status, body) = admin(&c.route, "POST", "/update_remote_rpc_config").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["problems"][0]["field"], "http.bogus", "{body}");
    write_config(&c.route_file, &good.replace(TOKEN, "short"));
    let (status, body) = admin(&c.route, "POST", "/update_remote_rpc_config").await;
    assert_eq!(status, 400, "{body}");
    let fields: Vec<&str> =
        body["problems"].as_array().unwrap().iter().map(|p| p["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"rpc.token") && fields.contains(&"remote_ports[0].token"), "{body}");
    write_config(&c.route_file, "{ not json5");
    assert_eq!(admin(&c.route, "POST", "/update_remote_rpc_config").await.0, 400);
    // Another node's identity is refused too.
    write_config(&c.route_file, &good.replacen("\"type\": \"route\"", "\"type\": \"service\"", 1));
    let (status, body) = admin(&c.route, "POST", "/update_remote_rpc_config").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["problems"][0]["field"], "type");
    std::fs::remove_file(&c.route_file).unwrap();
    assert_eq!(admin(&c.route, "POST", "/update_remote_rpc_config").await.0, 503, "unreadable source");

    assert_eq!(client.request(20000, &json!({})).await.1["node"], served, "still serving, same links");
    assert!(c.route.node.endpoint().link(c.services[0].node.id()).is_some());
    let metrics = c.route.node.metrics_text();
    assert!(metrics.contains(r#"espoir_config_reloads_total{result="invalid"} 4"#), "{metrics}");
    assert!(metrics.contains(r#"espoir_config_reloads_total{result="unavailable"} 1"#), "{metrics}");
}

#[tokio::test]
async fn a_watched_file_is_applied_by_itself() {
    let c = Cluster::start(2, 1, true).await;
    c.edit_route(&[0, 1]);
    wait_until("the watcher links the added service", || async {
        c.route.node.endpoint().link(c.services[1].node.id()).is_some()
    })
    .await;
    // An invalid edit is not applied; the links stay. The watcher counts
    // it once it has read it (twice, the debounce): then it has decided.
    write_config(&c.route_file, "{ half saved");
    wait_until("the watcher reports the invalid edit", || async {
        c.route.metric(r#"espoir_config_reloads_total{result="invalid"}"#) == 1.0
    })
    .await;
    assert!(c.route.node.endpoint().link(c.services[1].node.id()).is_some());
    c.edit_route(&[0]);
    wait_until("the watcher drops the removed service", || async {
        c.route.node.endpoint().link(c.services[1].node.id()).is_none()
    })
    .await;
    let metrics = c.route.node.metrics_text();
    assert!(metrics.contains(r#"espoir_config_reloads_total{result="applied"} 2"#), "{metrics}");
    assert!(metrics.contains(r#"espoir_config_reloads_total{result="invalid"} 1"#), "{metrics}");
}

#[tokio::test]
async fn a_node_started_from_memory_has_nothing_to_reload() {
    let ports = Ports::bind().await;
    let cfg =
        espoir::NodeConfig::from_json5_str(&config_text("s", "service", &ports, &[], ""), "s.json5".as_ref())
            .unwrap();
    let node = TestNode::start(cfg, ports, EventTable::new()).await;
    assert_eq!(admin(&node, "POST", "/update_remote_rpc_config").await.0, 409);
}
