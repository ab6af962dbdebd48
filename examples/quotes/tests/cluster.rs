//! Two quote services behind a route share the feed job: a subscriber gets
//! each tick once (no `seq` twice, though both nodes run the feed), the
//! prices of consecutive ticks follow on whichever node ran them, and when
//! the node running ticks stops the other one carries on. Counts and
//! values are asserted, never times.

use std::collections::BTreeMap;

use espoir::EventTable;
use espoir_testkit::*;
use serde_json::json;

const SUBSCRIBE: i32 = 10004;
const APP: &str = r#""app": {"quotes": {"symbols": ["AAPL"], "ticks_per_second": 10}},"#;
const RAN: &str = r#"espoir_job_ticks_total{job="quotes.feed",outcome="ran"}"#;

/// Ticks received: seq to price. Panics on a seq received twice.
fn record(ticks: &mut BTreeMap<u64, f64>, frame: &espoir::ClientFrame) -> u64 {
    let tick = json_of(frame);
    assert_eq!(tick["symbol"], "AAPL", "{tick}");
    let seq = tick["seq"].as_u64().expect("a seq");
    let price = tick["price"].as_f64().expect("a price");
    assert!(ticks.insert(seq, price).is_none(), "tick {seq} published twice: {tick}");
    seq
}

#[tokio::test]
async fn two_quote_services_publish_each_tick_once_and_the_survivor_carries_on() {
    let route_ports = Ports::bind().await;
    let route = TestNode::start(
        config("route", "route", &route_ports, &[], ROUTE_RULES, ""),
        route_ports,
        EventTable::new(),
    )
    .await;
    let to_route = [remote(route.rpc_port(), "route")];
    let mut services = Vec::new();
    for name in ["quotes_a", "quotes_b"] {
        let ports = Ports::bind().await;
        let cfg = config(name, "service", &ports, &to_route, SERVICE_RULES, APP);
        let node = TestNode::start_with(cfg, ports, quotes::service).await;
        route.wait_linked(&node).await;
        services.push(node);
    }
    let proxy_ports = Ports::bind().await;
    let proxy = TestNode::start(
        config("proxy", "proxy", &proxy_ports, &to_route, "", ""),
        proxy_ports,
        EventTable::new(),
    )
    .await;
    proxy.wait_linked(&route).await;
    route.wait_linked(&proxy).await;

    let mut client = Client::connect(&proxy.ws_url()).await;
    let (_, reply) = client.request(SUBSCRIBE, &json!({ "topic": "quotes.AAPL" })).await;
    assert_eq!(reply["code"], 200, "{reply}");
    let mut ticks = BTreeMap::new();
    while ticks.len() < 20 {
        record(&mut ticks, &client.next_of(quotes::TICK).await);
    }

    // Stop a node that ran ticks: the other one takes the next ones.
    let (stopped, survivor) = if services[0].metric(RAN) > 0.0 { (0, 1) } else { (1, 0) };
    services[stopped].stop().await;
    let ran_before = services[survivor].metric(RAN);
    let last_seen = *ticks.keys().next_back().unwrap();
    let mut after = 0;
    while after < 20 {
        if record(&mut ticks, &client.next_of(quotes::TICK).await) > last_seen {
            after += 1;
        }
    }
    assert!(services[survivor].metric(RAN) > ran_before, "the survivor ran the ticks since");

    // Prices follow tick by tick across the nodes: one walk, not two.
    let sorted: Vec<(u64, f64)> = ticks.into_iter().collect();
    let next = sorted.windows(2).filter(|pair| pair[1].0 == pair[0].0 + 1);
    let mut checked = 0;
    for pair in next {
        let ((s0, p0), (s1, p1)) = (pair[0], pair[1]);
        assert!((p1 - p0).abs() <= p0 * 0.002 + 0.01, "tick {s0} at {p0}, tick {s1} at {p1}");
        checked += 1;
    }
    assert!(checked >= 20, "consecutive ticks were received: {sorted:?}");
}
