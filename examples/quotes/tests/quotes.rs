//! configs/quotes in-process on free ports: a client subscribes and gets
//! each symbol's recent ticks then live ones, with no gap and no repeat at
//! the boundary; an outside producer posts to `/publish`; the page draws
//! live charts in headless Chromium; settings the feed job cannot honour
//! are refused. Two quote services sharing the feed: `cluster.rs`.

use std::path::{Path, PathBuf};

use espoir::{Node, NodeBuilder};
use espoir_testkit::browser::{Chromium, screenshot, wait_js};
use espoir_testkit::*;
use serde_json::{Value, json};

const SUBSCRIBE: i32 = 10004;
const SERVICE_TOKEN: &str = "local-quotes-token-change-me-0001";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Quotes {
    proxy: TestNode,
    service: TestNode,
    _dir: tempfile::TempDir,
}

/// configs/quotes/<name> with its ports replaced and the static dir made
/// absolute; `edit` changes the text further.
fn rewrite(name: &str, dir: &Path, ports: &[(u16, u16)], edit: impl Fn(String) -> String) -> PathBuf {
    let mut text =
        std::fs::read_to_string(repo().join("configs/quotes").join(name)).expect("a configs/quotes file");
    for (from, to) in ports {
        text = text.replace(&from.to_string(), &to.to_string());
    }
    let examples = repo().join("examples").canonicalize().unwrap();
    text = text.replace("\"../../examples\"", &format!("{:?}", examples.display().to_string()));
    let path = dir.join(name);
    std::fs::write(&path, edit(text)).unwrap();
    path
}

async fn start(edit_service: impl Fn(String) -> String) -> Quotes {
    let dir = tempfile::tempdir().unwrap();
    let (p, s) = (Ports::bind().await, Ports::bind().await);
    let ports = [
        (33000, p.ws_port()),
        (33001, p.http_port()),
        (33002, p.rpc_port()),
        (34001, s.http_port()),
        (34002, s.rpc_port()),
    ];
    let proxy_file = rewrite("proxy.json5", dir.path(), &ports, |t| t);
    let service_file = rewrite("service.json5", dir.path(), &ports, edit_service);
    let wire =
        |path: &Path, f: fn(NodeBuilder) -> NodeBuilder| f(Node::from_file(path).expect("a valid file"));
    let service = TestNode::start_builder(wire(&service_file, quotes::service), s).await;
    let proxy = TestNode::start_builder(wire(&proxy_file, |b| b), p).await;
    proxy.wait_linked(&service).await;
    service.wait_linked(&proxy).await;
    Quotes { proxy, service, _dir: dir }
}

fn tick(frame: &espoir::ClientFrame) -> Value {
    assert_eq!(frame.command, quotes::TICK, "{}", json_of(frame));
    json_of(frame)
}

#[tokio::test]
async fn a_subscriber_gets_recent_ticks_then_live_ones_without_gap_or_repeat() {
    let q = start(|t| t).await;
    // Let the proxy keep ticks of every symbol first.
    wait_until("the proxy to keep every symbol's ticks", async || {
        q.proxy.node.topic_gauges().retained_topics == 5
    })
    .await;
    let mut client = Client::connect(&q.proxy.ws_url()).await;
    let listed = client.call(quotes::SYMBOLS, &json!({})).await;
    assert_eq!(listed["topics"][0], "quotes.AAPL");
    client.send(SUBSCRIBE, &json!({ "topic": "quotes.AAPL" })).await;
    let mut seqs = Vec::new();
    let snapshot = loop {
        let frame = client.recv().await.expect("a frame");
        if frame.command == SUBSCRIBE {
            break json_of(&frame)["snapshot"].as_u64().unwrap();
        }
        let t = tick(&frame);
        assert_eq!(t["symbol"], "AAPL");
        seqs.push(t["seq"].as_u64().unwrap());
    };
    assert!(snapshot >= 1 && snapshot as usize == seqs.len(), "{snapshot} {seqs:?}");
    // Live ticks continue the snapshot's numbering, one by one: no tick
    // fell between the snapshot and the subscription, none came twice.
    while seqs.len() < snapshot as usize + 5 {
        let t = tick(&client.recv().await.expect("a live tick"));
        seqs.push(t["seq"].as_u64().unwrap());
    }
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
}

#[tokio::test]
async fn an_outside_producer_publishes_with_post_publish() {
    // No feed: only the producer's ticks.
    let q = start(|t| t.replace("\"feed\": true", "\"feed\": false")).await;
    let mut client = Client::connect(&q.proxy.ws_url()).await;
    client.request(SUBSCRIBE, &json!({ "topics": ["quotes.MSFT"] })).await;
    let producer = Admin::new(q.service.http_addr().to_string(), SERVICE_TOKEN);
    let body = json!({ "messages": [
        { "topic": "quotes.MSFT", "key": "MSFT", "command": quotes::TICK, "body": { "symbol": "MSFT", "price": 412.5, "seq": 1, "ts": 0 } },
        { "topic": "quotes.MSFT", "key": "MSFT", "command": quotes::TICK, "body": { "symbol": "MSFT", "price": 413.0, "seq": 2, "ts": 0 } },
    ] });
    assert_eq!(producer.call("POST", "/publish", &body).await, (200, json!({ "code": 200, "published": 2 })));
    assert_eq!(tick(&client.recv().await.unwrap())["price"], 412.5);
    assert_eq!(tick(&client.recv().await.unwrap())["price"], 413.0);
}

/// The page lists the symbols, subscribes, and draws each chart from its
/// snapshot and live ticks; a producer's tick shows as the latest price.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_draws_live_charts_in_headless_chromium() {
    let Some(chromium) = Chromium::find() else { return };
    let q = start(|t| t).await;
    let profile = tempfile::tempdir().unwrap();
    let browser = chromium.open(profile.path(), (1000, 800)).await;
    let page = format!(
        "http://{}/quotes/web/index.html?ws=ws://127.0.0.1:{}",
        q.proxy.http_addr(),
        q.proxy.node.addresses().websocket.unwrap().port()
    );
    browser.goto(&page).await.unwrap();
    wait_js(&browser, "the subscription", "window.quotes && window.quotes.subscribed").await;
    let drawn = "[...document.querySelectorAll('.quote canvas')].length === 5 && \
                 [...document.querySelectorAll('.quote canvas')].every(c => Number(c.dataset.drawn) >= 5)";
    wait_js(&browser, "five charts with five points each", drawn).await;
    // A producer's tick far above the walk becomes AAPL's shown price. Its
    // seq is above the feed's (tick numbers since the epoch), so the page,
    // which drops ticks older than what it drew, keeps it and then drops
    // the feed's.
    let producer = Admin::new(q.service.http_addr().to_string(), SERVICE_TOKEN);
    let body = json!({ "messages": [{ "topic": "quotes.AAPL", "key": "AAPL", "command": quotes::TICK,
        "body": { "symbol": "AAPL", "price": 9999.5, "seq": 1u64 << 50, "ts": 0 } }] });
    assert_eq!(producer.call("POST", "/publish", &body).await.0, 200);
    wait_js(
        &browser,
        "the producer's tick",
        "document.querySelector('[data-symbol=AAPL] .price').textContent === '9999.50'",
    )
    .await;
    // Kept under target/ for a look after a run, not committed.
    screenshot(&browser, &repo().join("target/browser/quotes.png")).await;
    browser.close().await.unwrap();
}

/// The feed's schedule is `ticks_per_second`: a config `jobs` entry that
/// would replace it, or a rate above the jobs' 100 ms minimum, is refused
/// by `espoir check` and by the node, saying why.
#[tokio::test]
async fn a_config_replacing_the_feed_job_or_ticking_too_fast_is_refused() {
    let base = std::fs::read_to_string(repo().join("configs/quotes/service.json5")).unwrap();
    let job = r#""jobs": [{"name": "quotes.feed", "every": 1, "handler": "quotes.feed"}], "name":"#;
    let cases = [
        (base.replacen("\"name\":", job, 1), "the job \"quotes.feed\" is the quote feed"),
        (base.replace("\"ticks_per_second\": 4", "\"ticks_per_second\": 20"), "at least every 100 ms"),
    ];
    for (text, expected) in cases {
        let config = espoir_testkit::config::parse("quotes_service_1", &text);
        let err = quotes::check_config(&config, &[]).unwrap_err();
        assert!(err.contains(expected), "{err}");
        let shutdown = espoir::Shutdown::new();
        let started = quotes::service(Node::builder(config)).start(&shutdown).await;
        let Err(err) = started else { panic!("the node refuses to start") };
        let err = err.to_string();
        assert!(err.contains(expected), "{err}");
    }
}
