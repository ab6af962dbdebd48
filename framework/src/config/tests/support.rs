//! Small valid configs of each role, as JSON values that tests modify, and
//! helpers to load them and inspect the problems found.

use std::path::Path;

use serde_json::{Value, json};

use super::{ConfigError, NodeConfig};

pub(crate) const TOKEN: &str = "helloworldiloveyou~1234567890123";

pub(crate) fn service() -> Value {
    json!({
        "name": "service_1", "host": "127.0.0.1", "type": "service",
        "http": { "port": 22001 },
        "rpc": { "port": 22002, "token": TOKEN },
        "remote_ports": [ { "host": "127.0.0.1", "port": 21002, "token": TOKEN, "type": "route" } ],
    })
}

pub(crate) fn proxy() -> Value {
    json!({
        "name": "proxy_1", "host": "127.0.0.1", "type": "proxy",
        "websocket": { "port": 20000 },
        "http": { "port": 20001 },
        "rpc": { "port": 20002, "token": TOKEN },
        "remote_ports": [ { "host": "127.0.0.1", "port": 21002, "token": TOKEN, "type": "route" } ],
    })
}

pub(crate) fn route() -> Value {
    json!({
        "name": "route_1", "host": "127.0.0.1", "type": "route",
        "rpc": { "port": 21002, "token": TOKEN },
        "remote_ports": [
            { "host": "127.0.0.1", "port": 20002, "token": TOKEN, "type": "proxy" },
            { "host": "127.0.0.1", "port": 22002, "token": TOKEN, "type": "service" },
        ],
    })
}

pub(crate) fn load(v: &Value) -> Result<NodeConfig, ConfigError> {
    NodeConfig::from_json5_str(&v.to_string(), Path::new("node.json5"))
}

pub(crate) fn config(v: &Value) -> NodeConfig {
    load(v).unwrap_or_else(|err| panic!("expected a valid config, got: {err}"))
}

/// The `(field, reason)` of every problem; panics if the config is valid.
pub(crate) fn problems(v: &Value) -> Vec<(String, String)> {
    let err = load(v).expect_err("expected an invalid config");
    let out: Vec<_> = err.problems().iter().map(|p| (p.field.clone(), p.reason.clone())).collect();
    assert!(!out.is_empty(), "expected problems, got {err}");
    out
}

/// Asserts that `field` is among the problems, with a reason containing `needle`.
#[track_caller]
pub(crate) fn assert_problem(v: &Value, field: &str, needle: &str) {
    // An empty needle is in every reason: the assertion would prove nothing.
    assert!(!needle.is_empty(), "assert_problem needs the reason to look for");
    let found = problems(v);
    assert!(
        found.iter().any(|(f, r)| f == field && r.contains(needle)),
        "no problem at {field:?} containing {needle:?} in {found:#?}"
    );
}
