//! Traces across nodes: one client request through proxy → route →
//! service, with a push on the way, is one trace whose spans each node
//! exports itself (`docs/operations.md`, "Traces").

use espoir::EventTable;
use espoir_testkit::handlers::{PUSHED, push_me};
use espoir_testkit::*;
use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use serde_json::json;

struct Traced {
    proxy: TestNode,
    route: TestNode,
    service: TestNode,
    spans: [InMemorySpanExporter; 3],
}

/// A proxy, a route and a service, each exporting to its own in-memory
/// exporter; `proxy_extra` goes into the proxy's top-level config.
async fn traced_cluster(proxy_extra: &str) -> Traced {
    let (pp, rp, sp) = (Ports::bind().await, Ports::bind().await, Ports::bind().await);
    let spans =
        [InMemorySpanExporter::default(), InMemorySpanExporter::default(), InMemorySpanExporter::default()];
    let remotes = [remote(pp.rpc_port(), "proxy"), remote(sp.rpc_port(), "service")];
    let route_cfg = config("route", "route", &rp, &remotes, ROUTE_RULES, "");
    let route_rpc = rp.rpc_port();
    let exporter = spans[1].clone();
    let route = TestNode::start_with(route_cfg, rp, |b| b.span_exporter(exporter)).await;
    let service_cfg = config("service", "service", &sp, &[remote(route_rpc, "route")], SERVICE_RULES, "");
    let exporter = spans[2].clone();
    let service =
        TestNode::start_with(service_cfg, sp, |b| b.events(espoir::events![push_me]).span_exporter(exporter))
            .await;
    let proxy_cfg = config("proxy", "proxy", &pp, &[remote(route_rpc, "route")], "", proxy_extra);
    let exporter = spans[0].clone();
    let proxy =
        TestNode::start_with(proxy_cfg, pp, |b| b.events(EventTable::new()).span_exporter(exporter)).await;
    proxy.wait_linked(&route).await;
    route.wait_linked(&proxy).await;
    route.wait_linked(&service).await;
    Traced { proxy, route, service, spans }
}

fn finished(exporter: &InMemorySpanExporter) -> Vec<SpanData> {
    exporter.get_finished_spans().expect("the in-memory exporter answers")
}

fn named<'a>(spans: &'a [SpanData], name: &str, message: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|s| {
            s.name == name
                && s.attributes
                    .iter()
                    .any(|kv| kv.key.as_str() == "espoir.message" && kv.value.as_str() == message)
        })
        .unwrap_or_else(|| panic!("no {name} span of a {message}: {spans:#?}"))
}

fn parent(child: &SpanData, of: &SpanData) {
    assert_eq!(
        child.parent_span_id,
        of.span_context.span_id(),
        "{} is not a child of {}",
        child.name,
        of.name
    );
    assert_eq!(child.span_context.trace_id(), of.span_context.trace_id());
}

#[tokio::test]
async fn a_request_and_its_push_are_one_trace_across_three_nodes() {
    let c = traced_cluster("").await;
    let mut client = Client::connect(&c.proxy.ws_url()).await;
    let body = client.call(20003, &json!({"n": 1})).await;
    assert_eq!(body["pushed"], 1, "{body}");
    assert_eq!(client.push(PUSHED).await["i"], 0);

    // Each hop's span ends once its work is done, a little after the
    // client has its frames.
    let [proxy, route, service] = &c.spans;
    wait_until("every hop's span is exported", async || {
        finished(proxy).len() >= 3 && finished(route).len() >= 3 && !finished(service).is_empty()
    })
    .await;
    let (proxy, route, service) = (finished(proxy), finished(route), finished(service));

    let receive = named(&proxy, "proxy.receive", "request");
    assert_eq!(receive.parent_span_id, SpanId::INVALID, "the proxy starts the trace");
    assert_ne!(receive.span_context.trace_id(), TraceId::INVALID);
    let relay_request = named(&route, "relay", "request");
    let run = named(&service, "handler.run", "request");
    let relay_push = named(&route, "relay", "push");
    let relay_response = named(&route, "relay", "response");
    let reply = named(&proxy, "proxy.reply", "response");
    let push = named(&proxy, "proxy.push", "push");
    parent(relay_request, receive);
    parent(run, relay_request);
    parent(relay_push, run);
    parent(push, relay_push);
    parent(relay_response, run);
    parent(reply, relay_response);
    assert!(run.parent_span_is_remote, "the service's parent span is on the route");
    let trace = receive.span_context.trace_id();
    for span in proxy.iter().chain(&route).chain(&service) {
        assert_eq!(span.span_context.trace_id(), trace, "{} is in another trace", span.name);
    }
    drop((c.proxy, c.route, c.service));
}

#[tokio::test]
async fn a_proxy_that_samples_nothing_leaves_no_spans_anywhere() {
    let c = traced_cluster(r#""traces": {"sample_ratio": 0},"#).await;
    let mut client = Client::connect(&c.proxy.ws_url()).await;
    for _ in 0..5 {
        let body = client.call(20003, &json!({"n": 1})).await;
        assert_eq!(body["pushed"], 1, "{body}");
        client.push(PUSHED).await;
    }
    // The route saw the requests (they were answered); none was recorded.
    assert!(c.route.metric(r#"espoir_messages_received_total{command="20003",via="rpc"}"#) >= 5.0);
    for exporter in &c.spans {
        assert!(finished(exporter).is_empty(), "{:#?}", finished(exporter));
    }
}

#[cfg(feature = "otlp")]
/// Every byte posted to a fake OTLP collector, each request answered `200`
/// once its body is in (its `Content-Length`).
async fn collector() -> (std::net::SocketAddr, std::sync::Arc<std::sync::Mutex<Vec<u8>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let posted = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = std::sync::Arc::clone(&posted);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let seen = std::sync::Arc::clone(&seen);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = vec![0u8; 64 * 1024];
                while let Ok(n @ 1..) = stream.read(&mut chunk).await {
                    buf.extend_from_slice(&chunk[..n]);
                    let Some(head) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
                    let text = String::from_utf8_lossy(&buf[..head]).to_ascii_lowercase();
                    let length: usize = text
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if buf.len() < head + 4 + length {
                        continue;
                    }
                    seen.lock().unwrap().extend_from_slice(&buf[head + 4..head + 4 + length]);
                    buf.drain(..head + 4 + length);
                    let ok = b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
                    if stream.write_all(ok).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, posted)
}

#[cfg(feature = "otlp")]
#[tokio::test]
async fn a_node_configured_for_otlp_posts_its_spans_to_the_collector() {
    let (addr, posted) = collector().await;
    let ports = Ports::bind().await;
    let traces = format!(
        r#""traces": {{"service_name": "edge", "otlp": {{"endpoint": "http://{addr}/v1/traces"}}}},"#
    );
    let cfg = local_proxy_config_ids(&ports, "", &traces, [20000, 20000]);
    let proxy = TestNode::start(cfg, ports, espoir::events![espoir_testkit::handlers::whoami]).await;
    let mut client = Client::connect(&proxy.ws_url()).await;
    assert_eq!(client.call(20000, &json!({})).await["node"], proxy.node.id().to_string());
    // Spans go out in batches; stopping the node sends what is queued.
    proxy.stop().await;
    let has = |needle: &[u8]| posted.lock().unwrap().windows(needle.len()).any(|w| w == needle);
    wait_until("the collector has the proxy's span", async || has(b"proxy.receive")).await;
    assert!(has(b"edge"), "the spans are exported under traces.service_name");
}
