//! Publishing from a recurring job: a service's job publishes to a topic
//! at each tick (`run.ctx.publish`), and a client subscribed over the
//! websocket gets the proxy's snapshot of the job's last ticks, then its
//! live ticks, exactly as the job published them: none missing at the
//! boundary, none twice. Checked against the job's own record of what it
//! published, so a loaded machine that runs fewer ticks changes nothing.
//! See `docs/realtime.md` and `docs/handlers.md` (Recurring jobs).

use std::sync::{Arc, Mutex};

use espoir::{EventTable, TopicStats};
use espoir_testkit::*;
use serde_json::{Value, json};

const SUBSCRIBE: i32 = 10004;
const TICK: i32 = 53100;

/// `job.` topics keep their last 3 messages.
const TOPICS: &str = r#""topics": {"policies": [{"prefix": "job.", "retain": 3}]},"#;
const JOB: &str = r#""jobs": [{"name": "beat", "every": 0.1, "handler": "beat"}],"#;

/// The ticks the job published, in Unix ms, in order.
type Published = Arc<Mutex<Vec<u64>>>;

struct Cluster {
    proxy: TestNode,
    service: TestNode,
    _route: TestNode,
}

/// A route, a proxy, and a service whose job `beat` publishes
/// `{"tick": ms}` to `job.beat` at every tick it is granted.
async fn cluster(published: &Published) -> Cluster {
    let (route_ports, proxy_ports, service_ports) =
        (Ports::bind().await, Ports::bind().await, Ports::bind().await);
    let remotes = [remote(proxy_ports.rpc_port(), "proxy"), remote(service_ports.rpc_port(), "service")];
    let route_cfg = config("route", "route", &route_ports, &remotes, ROUTE_RULES, TOPICS);
    let route = TestNode::start(route_cfg, route_ports, EventTable::new()).await;
    let to_route = [remote(route.rpc_port(), "route")];
    let jobs = format!("{TOPICS}{JOB}");
    let service_cfg = config("service", "service", &service_ports, &to_route, SERVICE_RULES, &jobs);
    let published = Arc::clone(published);
    let service = TestNode::start_with(service_cfg, service_ports, move |b| {
        b.job_handler("beat", move |run| {
            let published = Arc::clone(&published);
            async move {
                let tick =
                    u64::try_from(run.scheduled.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis())
                        .unwrap();
                // Held across the publish: whoever reads the record after
                // receiving a tick finds that tick in it.
                let mut record = published.lock().unwrap();
                // Before the proxy is linked a publish fails; that tick
                // reaches nobody and is not recorded.
                run.ctx.publish("job.beat", TICK, &json!({ "tick": tick })).map_err(|e| e.to_string())?;
                record.push(tick);
                Ok(())
            }
        })
    })
    .await;
    let proxy_cfg = config("proxy", "proxy", &proxy_ports, &to_route, "", TOPICS);
    let proxy = TestNode::start(proxy_cfg, proxy_ports, EventTable::new()).await;
    proxy.wait_linked(&route).await;
    route.wait_linked(&proxy).await;
    route.wait_linked(&service).await;
    Cluster { proxy, service, _route: route }
}

fn tick_of(frame: &espoir::ClientFrame) -> u64 {
    assert_eq!(frame.command, TICK, "{}", json_of(frame));
    json_of(frame)["tick"].as_u64().expect("a tick")
}

#[tokio::test]
async fn a_client_gets_a_jobs_ticks_as_a_snapshot_then_live_with_no_gap_or_repeat() {
    let published: Published = Arc::default();
    let c = cluster(&published).await;
    // Let the proxy keep some of the job's ticks before subscribing.
    wait_until("the proxy to keep the job's ticks", async || {
        c.proxy.node.topic_gauges().retained_topics == 1
    })
    .await;
    let mut client = Client::connect(&c.proxy.ws_url()).await;
    client.send(SUBSCRIBE, &json!({ "topic": "job.beat" })).await;
    let mut received = Vec::new();
    let reply: Value = loop {
        let frame = client.recv().await.expect("a frame");
        if frame.command == SUBSCRIBE {
            break json_of(&frame);
        }
        received.push(tick_of(&frame));
    };
    assert_eq!(reply["code"], 200, "{reply}");
    let snapshot = reply["snapshot"].as_u64().unwrap();
    assert!((1..=3).contains(&snapshot) && snapshot as usize == received.len(), "{reply} {received:?}");
    // Live ticks follow, as the job runs them.
    while received.len() < snapshot as usize + 5 {
        received.push(tick_of(&client.recv().await.expect("a live tick")));
    }

    // What the client got is a run of consecutive publications of the job:
    // the snapshot's last tick is followed by the next one published.
    let published = published.lock().unwrap().clone();
    let start = published.iter().position(|t| *t == received[0]).expect("the first tick was published");
    assert_eq!(
        published.get(start..start + received.len()),
        Some(received.as_slice()),
        "the client's ticks are the job's, in order, none missing or repeated: published {published:?}"
    );
    assert!(received.windows(2).all(|w| w[0] < w[1]), "each tick is a later one: {received:?}");
    assert!(TopicStats::get(&c.service.node.topic_stats().published) >= received.len() as u64);
    assert!(c.service.metric(r#"espoir_job_ticks_total{job="beat",outcome="ran"}"#) >= received.len() as f64);
}
