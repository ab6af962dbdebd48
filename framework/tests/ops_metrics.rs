//! `GET /metrics` in the format its content type names, read back by the
//! Prometheus org's own parsers; round-trip histograms, build and process
//! metrics.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use espoir::{EventTable, NodeConfig};
use espoir_testkit::http::{Answer, request};
use espoir_testkit::*;
use serde_json::{Value, json};

/// What Prometheus (2.5+) sends.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

async fn scrape(node: &TestNode, accept: Option<&str>) -> Answer {
    let accept = accept.map(|a| format!("Accept: {a}\r\n")).unwrap_or_default();
    let headers = format!("Authorization: Bearer {TOKEN}\r\n{accept}");
    let answer = request(node.node.addresses().http.unwrap(), "GET", "/metrics", &headers, b"").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer
}

/// In Prometheus text 0.0.4 every sample belongs to the family its
/// `# TYPE` line names: the same name, or, for histograms, that name with
/// `_bucket`, `_sum` or `_count`. The families and their types.
fn strict_prometheus_families(text: &str) -> BTreeMap<String, String> {
    let mut families = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind), "{line}");
            families.insert(name.to_owned(), kind.to_owned());
            continue;
        }
        assert!(!line.starts_with('#') || line.starts_with("# HELP "), "not 0.0.4: {line}");
        if line.starts_with('#') {
            continue;
        }
        let name = line.split(['{', ' ']).next().unwrap();
        let typed = families.get(name).is_some_and(|k| k != "histogram")
            || ["_bucket", "_sum", "_count"].iter().any(|suffix| {
                name.strip_suffix(suffix).is_some_and(|f| families.get(f).is_some_and(|k| k == "histogram"))
            });
        assert!(typed, "sample {name} has no family of its name in 0.0.4: {line}");
    }
    families
}

/// Parses `text` with `prometheus_client`'s parser for `format` and
/// returns `{family: {"type": …, "samples": {name+labels: value}}}`.
fn python_parse(python: &str, format: &str, text: &str) -> Value {
    let script = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families as prometheus
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics
parse = openmetrics if sys.argv[1] == "openmetrics" else prometheus
out = {}
for family in parse(sys.stdin.read()):
    samples = {}
    for s in family.samples:
        labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
        samples[f"{s.name}{{{labels}}}"] = s.value
    out[family.name] = {"type": family.type, "samples": samples}
print(json.dumps(out))
"#;
    let mut child = Command::new(python)
        .args(["-c", script, format])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{format} parser refused the scrape: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn metrics_are_served_as_their_content_type_says_and_parse_with_prometheus_parsers() {
    let (proxy_ports, service_ports) = (Ports::bind().await, Ports::bind().await);
    let service_text = config_text("service", "service", &service_ports, &[], SERVICE_RULES);
    let proxy_text = config_text(
        "proxy",
        "proxy",
        &proxy_ports,
        &[remote(service_ports.rpc_port(), "service")],
        SERVICE_RULES,
    );
    let cfg = |t: &str| NodeConfig::from_json5_str(t, Path::new("x.json5")).unwrap();
    let service = TestNode::start(cfg(&service_text), service_ports, handlers::service_events()).await;
    let proxy = TestNode::start(cfg(&proxy_text), proxy_ports, EventTable::new()).await;
    wait_until("the proxy is ready", || async { admin(&proxy, "GET", "/ready").await.0 == 200 }).await;
    let mut client = Client::connect(&proxy.ws_url()).await;
    for _ in 0..3 {
        assert_eq!(client.request(20000, &json!({})).await.0, 20000);
    }

    let om = scrape(&proxy, Some(PROMETHEUS_ACCEPT)).await;
    assert!(om.head.contains("content-type: application/openmetrics-text; version=1.0.0"), "{}", om.head);
    assert!(om.body.ends_with("# EOF\n"), "{}", om.body);
    assert!(om.body.contains("# TYPE espoir_client_connections counter\n"), "{}", om.body);
    assert!(om.body.contains("espoir_client_request_duration_seconds_count 3\n"), "{}", om.body);
    assert!(om.body.contains("espoir_rpc_call_duration_seconds_count 3\n"), "forwarded calls: {}", om.body);
    let build = format!(r#"espoir_build_info{{version="{}",rustc="rustc "#, env!("CARGO_PKG_VERSION"));
    assert!(om.body.contains(&build), "{}", om.body);
    if cfg!(target_os = "linux") {
        for name in ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds"] {
            assert!(om.body.contains(&format!("\n{name} ")), "{name}: {}", om.body);
        }
    }

    for accept in [None, Some("text/plain;version=0.0.4"), Some("*/*")] {
        let text = scrape(&proxy, accept).await;
        assert!(text.head.contains("content-type: text/plain; version=0.0.4"), "{accept:?}: {}", text.head);
        assert!(!text.body.contains("# EOF"), "{}", text.body);
    }
    let text = scrape(&proxy, None).await.body;
    let families = strict_prometheus_families(&text);
    assert_eq!(families["espoir_client_connections_total"], "counter");
    assert_eq!(families["espoir_build_info"], "gauge");
    assert_eq!(families["espoir_client_request_duration_seconds"], "histogram");
    assert_eq!(families["espoir_sessions"], "gauge");

    let Some(python) = test_dependency("ESPOIR_PROMETHEUS_PYTHON", "prometheus_client (Python)") else {
        return;
    };
    let parsed_om = python_parse(&python, "openmetrics", &om.body);
    let parsed_text = python_parse(&python, "prometheus", &text);
    for parsed in [&parsed_om, &parsed_text] {
        let connections = &parsed["espoir_client_connections"];
        assert_eq!(connections["type"], "counter", "{parsed}");
        assert_eq!(connections["samples"]["espoir_client_connections_total{}"], 1.0, "{parsed}");
        let requests = &parsed["espoir_client_request_duration_seconds"];
        assert_eq!(requests["type"], "histogram", "{parsed}");
        assert_eq!(requests["samples"]["espoir_client_request_duration_seconds_count{}"], 3.0, "{parsed}");
        let received = &parsed["espoir_messages_received"]["samples"];
        assert_eq!(received["espoir_messages_received_total{command=20000,via=client}"], 3.0, "{parsed}");
    }
    assert_eq!(parsed_om["espoir_build"]["type"], "info", "{parsed_om}");
    assert_eq!(parsed_text["espoir_build_info"]["type"], "gauge", "{parsed_text}");
    // Both formats carry the same families (info renamed in 0.0.4).
    let names = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<BTreeSet<String>>();
    let mut om_names = names(&parsed_om);
    assert!(om_names.remove("espoir_build"));
    om_names.insert("espoir_build_info".into());
    assert_eq!(om_names, names(&parsed_text));
    drop(service);
}
