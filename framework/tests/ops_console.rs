//! The operations console on the admin port: its snapshot (token, traffic
//! totals, session counts, members with their states, reloads with their
//! diffs), and the page itself in headless Chromium, where an operator
//! drains a node and the cluster sees it draining.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use espoir::{Context, EventTable, Status, events, register_event};
use espoir_testkit::browser::{Chromium, click, css, screenshot, type_into, wait_js};
use espoir_testkit::handlers::whoami;
use espoir_testkit::*;
use serde_json::{Value, json};

/// Holds [`gated`] handlers until the test lets them finish.
struct Gate(tokio::sync::Semaphore);

/// Runs until the test adds a permit to the service's [`Gate`]: work in
/// flight, so that a drain lasts as long as the test looks at it.
#[register_event(20010)]
async fn gated(ctx: Context, _req: Value) -> Result<Value, Status> {
    let gate = ctx.state::<Arc<Gate>>()?;
    let _permit = gate.0.acquire().await.map_err(|_| Status::internal("gate closed"))?;
    Ok(json!({ "released": true }))
}

struct Console {
    dir: PathBuf,
    route_ports: (u16, u16, u16),
    proxy: TestNode,
    route: TestNode,
    service: TestNode,
    gate: Arc<Gate>,
}

/// The route's config naming the proxy and `services` (RPC ports).
fn route_text(route_rpc: u16, proxy_rpc: u16, services: &[u16], extra: &str) -> String {
    let mut remotes = vec![remote(proxy_rpc, "proxy")];
    remotes.extend(services.iter().map(|&p| remote(p, "service")));
    format!(
        r#"{{"name": "route", "type": "route", "host": "127.0.0.1", {extra}
            "http": {{"port": 0, "token": "{TOKEN}"}},
            "rpc": {{"port": {route_rpc}, "token": "{TOKEN}", "reconnect_time": 0.05, "max_backoff": 0.2,
                     "heartbeat_interval": 0.1, "dead_after": 1, "lanes": 1 {ROUTE_RULES}}},
            "remote_ports": [{}]}}"#,
        remotes.join(",")
    )
}

/// A proxy, a route started from a file (so that it reloads) and a
/// service with [`whoami`] and [`gated`].
async fn console_cluster() -> Console {
    let dir = temp_dir();
    let (pp, rp, sp) = (Ports::bind().await, Ports::bind().await, Ports::bind().await);
    let route_ports = (rp.rpc_port(), pp.rpc_port(), sp.rpc_port());
    let route_file = dir.join("route.json5");
    write_config(&route_file, &route_text(route_ports.0, route_ports.1, &[route_ports.2], ""));
    let route = TestNode::start_file(&route_file, rp, |b| b.events(handlers::route_events())).await;
    let mut service_cfg = config("service", "service", &sp, &[], SERVICE_RULES, "");
    // Longer than any wait of the test: the gated handler ends when the
    // test says so.
    service_cfg.handler_timeout = WAIT * 4;
    let gate = Arc::new(Gate(tokio::sync::Semaphore::new(0)));
    let g = Arc::clone(&gate);
    let service = TestNode::start_with(service_cfg, sp, |b| b.events(events![whoami, gated]).state(g)).await;
    let proxy_cfg = config("proxy", "proxy", &pp, &[remote(route_ports.0, "route")], "", "");
    let proxy = TestNode::start(proxy_cfg, pp, EventTable::new()).await;
    proxy.wait_linked(&route).await;
    route.wait_linked(&service).await;
    Console { dir, route_ports, proxy, route, service, gate }
}

async fn snapshot(node: &TestNode) -> Value {
    let (status, body) = admin(node, "GET", "/console/api/snapshot").await;
    assert_eq!(status, 200, "{body}");
    body
}

fn member<'a>(snap: &'a Value, node: &TestNode) -> Option<&'a Value> {
    let id = node.node.id().to_string();
    snap["members"].as_array()?.iter().find(|m| m["id"] == id.as_str())
}

#[tokio::test]
async fn the_page_is_open_but_its_data_needs_the_token() {
    let c = console_cluster().await;
    let (status, page) = http(c.route.http_addr(), "GET", "/console", None).await;
    assert_eq!(status, 200);
    assert!(page.contains("/console/console.js"), "{page}");
    let answer =
        espoir_testkit::http::request(c.route.http_addr(), "GET", "/console/console.js", "", b"").await;
    assert_eq!(answer.status, 200);
    assert!(answer.head.contains("content-type: text/javascript"), "{}", answer.head);
    for auth in [None, Some("Bearer wrong-token-of-some-length")] {
        let (status, _) = http(c.route.http_addr(), "GET", "/console/api/snapshot", auth).await;
        assert_eq!(status, 401, "{auth:?}");
    }
    let (status, _) = admin(&c.route, "POST", "/console/api/snapshot").await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn the_snapshot_counts_traffic_sessions_and_members() {
    let c = console_cluster().await;
    let before = snapshot(&c.service).await;
    let mut client = Client::connect(&c.proxy.ws_url()).await;
    for _ in 0..5 {
        let body = client.call(20000, &json!({})).await;
        assert_eq!(body["node"], c.service.node.id().to_string());
    }
    // A request with no handler anywhere ends in an error on the service.
    let _ = client.call(29999, &json!({})).await;
    let service = snapshot(&c.service).await;
    let (b, a) = (&before["totals"], &service["totals"]);
    let grew = |k: &str| a[k].as_u64().unwrap() - b[k].as_u64().unwrap();
    assert_eq!(grew("handled"), 5);
    assert!(grew("rpc_received") >= 6 && grew("rpc_sent") >= 6, "{a} vs {b}");
    assert!(grew("errors") >= 1, "{a}");
    let buckets: u64 = a["handler_buckets"].as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).sum();
    assert_eq!(buckets, a["handled"].as_u64().unwrap());
    assert_eq!(
        a["handler_bounds_us"].as_array().unwrap().len() + 1,
        a["handler_buckets"].as_array().unwrap().len()
    );

    let proxy = snapshot(&c.proxy).await;
    assert_eq!((proxy["node"]["sessions"].as_u64(), proxy["node"]["groups"].as_u64()), (Some(1), Some(0)));
    assert!(proxy["totals"]["client_received"].as_u64().unwrap() >= 6);
    assert!(proxy["totals"]["client_sent"].as_u64().unwrap() >= 6);

    let route = snapshot(&c.route).await;
    assert_eq!(route["node"]["type"], "route");
    for node in [&c.proxy, &c.service] {
        let m = member(&route, node).unwrap_or_else(|| panic!("{route}"));
        assert_eq!(m["state"], "active");
    }
    assert!(route["links"].as_array().unwrap().iter().any(|l| l["peer"] == c.service.node.id().to_string()));
}

#[tokio::test]
async fn reloads_are_kept_with_their_diffs_and_an_evicted_member_shows_as_evicted() {
    let c = console_cluster().await;
    let route_file = c.dir.join("route.json5");
    let (route_rpc, proxy_rpc, service_rpc) = c.route_ports;
    assert_eq!(snapshot(&c.route).await["reloads"], json!([]));

    // A change that waits for a restart: kept as "unchanged", naming it.
    write_config(&route_file, &route_text(route_rpc, proxy_rpc, &[service_rpc], r#""handler_timeout": 3,"#));
    assert_eq!(admin(&c.route, "POST", "/update_remote_rpc_config").await.0, 200);
    // An invalid file: refused, with the problem.
    write_config(&route_file, &route_text(route_rpc, proxy_rpc, &[service_rpc], r#""handler_timeout": -1,"#));
    assert_eq!(admin(&c.route, "POST", "/update_remote_rpc_config").await.0, 400);
    // The service taken out: applied, and evicted from the cluster.
    write_config(&route_file, &route_text(route_rpc, proxy_rpc, &[], ""));
    assert_eq!(admin(&c.route, "POST", "/update_remote_rpc_config").await.0, 200);

    let snap = snapshot(&c.route).await;
    let reloads = snap["reloads"].as_array().unwrap();
    let results: Vec<&str> = reloads.iter().map(|r| r["result"].as_str().unwrap()).collect();
    assert_eq!(results, ["applied", "invalid", "unchanged"], "newest first: {snap}");
    let removed = &reloads[0]["diff"]["removed"];
    assert_eq!(removed[0]["port"], service_rpc, "{removed}");
    assert!(reloads[1]["problems"][0].as_str().unwrap().starts_with("handler_timeout"), "{}", reloads[1]);
    assert_eq!(reloads[2]["diff"]["restart_required"], json!(["handler_timeout"]));
    assert!(reloads[0]["at_ms"].as_u64().unwrap() >= reloads[2]["at_ms"].as_u64().unwrap());
    assert_eq!(member(&snap, &c.service).unwrap_or_else(|| panic!("{snap}"))["state"], "evicted");
}

fn screenshots() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/browser")
}

#[tokio::test]
async fn a_node_drained_from_the_console_is_seen_draining_by_the_cluster() {
    let Some(chromium) = Chromium::find() else { return };
    let c = console_cluster().await;
    // Work in flight on the service, so that its drain lasts until the
    // test has seen it.
    let mut client = Client::connect(&c.proxy.ws_url()).await;
    client.send(20010, &json!({})).await;
    wait_until("the gated request runs on the service", async || {
        snapshot(&c.service).await["node"]["in_flight"].as_u64() >= Some(1)
    })
    .await;

    // Traffic while the page samples, for its charts to show something;
    // nothing below depends on how much.
    let traffic = tokio::spawn({
        let url = c.proxy.ws_url();
        async move {
            let mut client = Client::connect(&url).await;
            loop {
                client.call(20000, &json!({})).await;
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        }
    });
    let profile = tempfile::tempdir().expect("a browser profile");
    let browser = chromium.open(profile.path(), (1280, 1000)).await;
    let page = format!("http://{}/console", c.service.http_addr());
    browser.goto(&page).await.unwrap();
    // A wrong token is refused and the form says so.
    type_into(&browser, "#token", "not-the-admin-token-at-all").await;
    click(&browser, "#sign-in button[type=submit]").await;
    wait_js(
        &browser,
        "the refusal",
        "document.getElementById('sign-in-error').textContent.includes('bearer')",
    )
    .await;
    type_into(&browser, "#token", TOKEN).await;
    click(&browser, "#sign-in button[type=submit]").await;
    let route_id = c.route.node.id().to_string();
    wait_js(
        &browser,
        "the route listed",
        &format!("document.querySelector('#members tr[data-id=\"{route_id}\"]')"),
    )
    .await;
    wait_js(
        &browser,
        "samples for the charts",
        "Number(document.getElementById('console').dataset.samples) >= 5",
    )
    .await;
    let token_in_url = browser.current_url().await.unwrap().to_string().contains(TOKEN);
    assert!(!token_in_url, "the token must never be in a URL");

    // Cancelling the confirmation does nothing.
    type_into(&browser, "#drain-grace", "120").await;
    click(&browser, "#drain").await;
    click(&browser, "#confirm-no").await;
    wait_js(&browser, "the cancel", "document.getElementById('action-result').textContent === 'cancelled'")
        .await;
    assert!(!c.service.node.is_draining());
    screenshot(&browser, &screenshots().join("console.png")).await;
    traffic.abort();

    click(&browser, "#drain").await;
    css(&browser, "#confirm[open]").await;
    click(&browser, "#confirm-yes").await;
    wait_js(
        &browser,
        "the page shows the drain",
        "document.getElementById('node-state').textContent === 'draining'",
    )
    .await;
    let service_id = c.service.node.id().to_string();
    wait_until("the route sees the service draining", async || {
        member(&snapshot(&c.route).await, &c.service).is_some_and(|m| m["state"] == "draining")
    })
    .await;
    wait_until("the proxy hears it from the route", async || {
        let (_, nodes) = admin(&c.proxy, "GET", "/nodes").await;
        nodes["members"]
            .as_array()
            .is_some_and(|ms| ms.iter().any(|m| m["id"] == service_id.as_str() && m["state"] == "draining"))
    })
    .await;
    screenshot(&browser, &screenshots().join("console-draining.png")).await;
    browser.close().await.unwrap();

    // The held request finishes, and with it the drain: the service stops.
    c.gate.0.add_permits(1);
    assert_eq!(client.next_of(20010).await.command, 20010);
    tokio::time::timeout(WAIT, c.service.node.stopped()).await.expect("the drained service stops");
}
