//! One test (at least) per validation rule, per node and per cluster.

use serde_json::{Value, json};

use crate::config::LogLevel;
use crate::config::test_support::{TOKEN, assert_problem, config, load, problems, proxy, route, service};

#[test]
fn minimal_configs_of_every_role_are_valid() {
    config(&service());
    config(&proxy());
    config(&route());
}

#[test]
fn encrypted_client_links_need_a_websocket_token() {
    let mut v = proxy();
    v["websocket"]["encode"] = json!(1);
    assert_problem(&v, "websocket.token", "required when websocket.encode is 1");
    v["websocket"]["token"] = json!(TOKEN);
    config(&v);
}

#[test]
fn log_files_are_bounded_and_named_safely() {
    let mut v = service();
    v["log_dir"] = json!("logs");
    v["logs"] = json!({"format": "json", "rotation": "hourly", "max_files": 24});
    config(&v);
    v["logs"]["max_files"] = json!(0);
    assert_problem(&v, "logs.max_files", "must be between 1 and 10000");
    v["logs"]["max_files"] = json!(24);
    v["name"] = json!("../escape");
    assert_problem(&v, "name", "names the log file under log_dir");
    v.as_object_mut().unwrap().remove("log_dir");
    config(&v);
}

#[test]
fn cors_origins_are_scheme_host_and_port_or_a_star() {
    let mut v = proxy();
    v["http"]["cors_origins"] = json!(["http://127.0.0.1:30001", "https://example.com", "*"]);
    config(&v);
    let no_scheme = "an origin starts with http:// or https:// (or is \"*\")";
    let not_bare = "an origin is scheme://host[:port], without a path or spaces";
    for (bad, why) in [
        ("127.0.0.1:30001", no_scheme),
        ("ftp://x", no_scheme),
        ("", no_scheme),
        ("http://example.com/", not_bare),
        ("http://a b", not_bare),
        ("https://", not_bare),
        ("http://:8080", not_bare),
    ] {
        v["http"]["cors_origins"] = json!([bad]);
        assert_eq!(problems(&v), [("http.cors_origins[0]".to_owned(), why.to_owned())], "{bad:?}");
    }
}

#[test]
fn a_proxy_needs_a_websocket_section() {
    let mut v = proxy();
    v.as_object_mut().unwrap().remove("websocket");
    assert_problem(&v, "websocket", "proxy node needs a websocket section");
}

#[test]
fn every_role_needs_an_rpc_section() {
    for mut v in [proxy(), route(), service()] {
        v.as_object_mut().unwrap().remove("rpc");
        assert_eq!(problems(&v), vec![(String::new(), "missing field `rpc`".to_owned())]);
    }
}

#[test]
fn route_and_service_may_have_a_websocket_section() {
    for mut v in [route(), service()] {
        v["websocket"] = json!({ "port": 23000 });
        config(&v);
    }
}

#[test]
fn the_rpc_port_must_not_be_zero() {
    let mut v = service();
    v["rpc"]["port"] = json!(0);
    assert_problem(&v, "rpc.port", "must not be 0");
}

#[test]
fn a_port_is_used_once_per_node_but_zero_means_not_opened() {
    let mut v = proxy();
    v["http"]["port"] = json!(20000);
    assert_problem(&v, "http.port", "port 20000 is also websocket.port");

    let mut v = proxy();
    v["websocket"]["port"] = json!(20002);
    assert_problem(&v, "websocket.port", "port 20002 is also rpc.port");

    let mut v = proxy();
    v["websocket"]["port"] = json!(0);
    v["http"]["port"] = json!(0);
    config(&v);
}

#[test]
fn tokens_shorter_than_16_bytes_are_refused() {
    let short = "0123456789abcde"; // 15 bytes
    let exact = "0123456789abcdef"; // 16 bytes
    let cases = [
        ("rpc.token", "/rpc/token"),
        ("websocket.token", "/websocket/token"),
        ("http.token", "/http/token"),
        ("remote_ports[0].token", "/remote_ports/0/token"),
    ];
    for (field, pointer) in cases {
        let mut v = proxy();
        let set = |v: &mut Value, token: &str| *v.pointer_mut(pointer).unwrap() = json!(token);
        // Sections without a token get one added.
        let (section, _) = pointer.rsplit_once('/').unwrap();
        v.pointer_mut(section).unwrap().as_object_mut().unwrap().insert("token".into(), json!(""));
        set(&mut v, short);
        assert_problem(&v, field, "is 15 bytes long; at least 16 are required");
        set(&mut v, exact);
        config(&v);
    }
}

#[test]
fn encode_must_be_0_or_1() {
    for (section, field) in
        [("rpc", "rpc.encode"), ("http", "http.encode"), ("websocket", "websocket.encode")]
    {
        let mut v = proxy();
        v["websocket"]["token"] = json!(TOKEN);
        v[section]["encode"] = json!(2);
        assert_problem(&v, field, "expected 0 (plain) or 1 (encrypted)");
        v[section]["encode"] = json!(1);
        config(&v);
    }
    let mut v = proxy();
    v["remote_ports"][0]["encode"] = json!(-1);
    assert_problem(&v, "remote_ports[0].encode", "expected 0 (plain) or 1 (encrypted)");
}

#[test]
fn remote_ports_need_a_host_a_port_and_a_known_type() {
    let mut v = service();
    v["remote_ports"][0]["host"] = json!("");
    assert_problem(&v, "remote_ports[0].host", "must not be empty");

    let mut v = service();
    v["remote_ports"][0]["port"] = json!(0);
    assert_problem(&v, "remote_ports[0].port", "must not be 0");

    let mut v = service();
    v["remote_ports"][0]["type"] = json!("game");
    assert_problem(&v, "remote_ports[0].type", r#"expected a node type: "proxy", "route" or "service""#);
}

#[test]
fn several_remote_ports_of_one_type_are_normal() {
    // obespoir crashes on this (spec bug 27); it is how a route reaches
    // several services.
    let mut v = route();
    let ports = v["remote_ports"].as_array_mut().unwrap();
    for port in [22012, 22022] {
        ports.push(json!({ "host": "127.0.0.1", "port": port, "token": TOKEN, "type": "service" }));
    }
    let cfg = config(&v);
    assert_eq!(cfg.peer_specs().len(), 4);
}

#[test]
fn a_peer_listed_twice_or_the_node_itself_is_refused() {
    let mut v = route();
    let again = v["remote_ports"][1].clone();
    v["remote_ports"].as_array_mut().unwrap().push(again);
    assert_problem(&v, "remote_ports[2]", "127.0.0.1:22002 is already remote_ports[1]");

    let mut v = route();
    v["remote_ports"][0]["port"] = json!(21002);
    v["remote_ports"][0]["type"] = json!("route");
    assert_problem(&v, "remote_ports[0]", "points at this node itself");
}

#[test]
fn ranges_must_not_be_inverted() {
    let mut v = route();
    v["rpc"]["route"] = json!({ "range": { "service": [[5001, 100000], [7, 3]] } });
    assert_problem(&v, "rpc.route.range.service[1]", "[7, 3]: the low bound is above the high bound");
}

#[test]
fn ranges_must_not_overlap_within_a_type() {
    let mut v = route();
    v["rpc"]["route"] = json!({ "range": { "service": [[5001, 100000], [100000, 200000]] } });
    assert_problem(
        &v,
        "rpc.route.range.service[1]",
        "[100000, 200000] overlaps [5001, 100000] at rpc.route.range.service[0]",
    );
}

#[test]
fn ranges_must_not_overlap_across_types() {
    // obespoir silently lets the later type win (spec bug 20).
    let mut v = route();
    v["rpc"]["route"] = json!({ "range": { "route": [[0, 5000]], "service": [[5000, 100000]] } });
    assert_problem(&v, "rpc.route.range.service[0]", "overlaps [0, 5000] at rpc.route.range.route[0]");

    v["rpc"]["route"] = json!({ "range": { "route": [[0, 5000]], "service": [[5001, 100000]] } });
    config(&v);
}

#[test]
fn an_id_may_be_special_for_one_type_only() {
    let mut v = route();
    v["rpc"]["route"] = json!({ "special": { "route": [1000, 1001], "service": [7, 1001] } });
    assert_problem(&v, "rpc.route.special.service[1]", "id 1001 is also special for route");

    v["rpc"]["route"] = json!({ "special": { "route": [1000, 1000] } });
    config(&v);
}

#[test]
fn unknown_type_names_in_range_and_special_are_refused() {
    let mut v = route();
    v["rpc"]["route"] = json!({ "range": { "game": [[0, 10]] } });
    assert_problem(&v, "rpc.route.range.game", r#"invalid value: string "game""#);

    v["rpc"]["route"] = json!({ "special": { "Service": [1] } });
    assert_problem(&v, "rpc.route.special.Service", r#""proxy", "route" or "service""#);
}

#[test]
fn no_state_ranges_must_not_overlap_or_be_inverted() {
    let mut v = proxy();
    v["websocket"]["no_state"] = json!({ "range": [[0, 100], [50, 60], [9, 8]] });
    let found = problems(&v);
    assert!(found.iter().any(|(f, r)| f == "websocket.no_state.range[1]" && r.contains("overlaps [0, 100]")));
    assert!(found.iter().any(|(f, r)| f == "websocket.no_state.range[2]" && r.contains("low bound")));
}

#[test]
fn mongo_storage_needs_a_mongo_uri() {
    let mut v = service();
    v["available_way"] = json!("mongo");
    assert_problem(&v, "mongo_uri", r#"is required when available_way is "mongo""#);
    v["mongo_uri"] = json!("");
    assert_problem(&v, "mongo_uri", "is required");
    v["mongo_uri"] = json!("mongodb://localhost:27017/admin");
    config(&v);

    // The README's proxy sets a mongo_uri while staying local: fine.
    let mut v = service();
    v["available_way"] = json!("local");
    v["mongo_uri"] = json!("mongodb://localhost:27017/admin");
    config(&v);

    v["available_way"] = json!("redis");
    assert_problem(&v, "available_way", "unknown variant `redis`, expected `local` or `mongo`");
}

#[test]
fn log_level_must_be_known() {
    let mut v = service();
    for (text, level) in [
        ("debug", LogLevel::Debug),
        ("INFO", LogLevel::Info),
        ("warning", LogLevel::Warn),
        ("ERROR", LogLevel::Error),
    ] {
        v["log_level"] = json!(text);
        assert_eq!(config(&v).log_level, level);
    }
    v["log_level"] = json!("critical");
    assert_problem(&v, "log_level", r#"invalid value: string "critical""#);
}

#[test]
fn timeouts_must_be_positive() {
    let fields: [(&str, &str); 8] = [
        ("", "handler_timeout"),
        ("rpc", "reconnect_time"),
        ("rpc", "heartbeat_interval"),
        ("rpc", "dead_after"),
        ("rpc", "handshake_timeout"),
        ("rpc", "call_timeout"),
        ("rpc", "max_backoff"),
        ("websocket", "timeout"),
    ];
    for (section, key) in fields {
        let mut v = proxy();
        let field = if section.is_empty() {
            v[key] = json!(0);
            key.to_owned()
        } else {
            v[section][key] = json!(0.0);
            format!("{section}.{key}")
        };
        assert_problem(&v, &field, "must be greater than 0");
    }
}

#[test]
fn link_timers_must_be_consistent() {
    let mut v = service();
    v["rpc"]["heartbeat_interval"] = json!(2);
    v["rpc"]["dead_after"] = json!(2);
    assert_problem(&v, "rpc.dead_after", "must be longer than rpc.heartbeat_interval (2s)");

    let mut v = service();
    v["rpc"]["reconnect_time"] = json!(60);
    assert_problem(&v, "rpc.max_backoff", "must be at least rpc.reconnect_time (60s)");
}

#[test]
fn sizes_and_counts_must_be_usable() {
    let cases: [(&str, &str, Value, &str); 10] = [
        ("rpc", "max_frame", json!(1023), "must be between 1024 and"),
        ("rpc", "max_frame", json!(u64::from(u32::MAX) + 1), "must be between 1024 and"),
        ("rpc", "max_connections", json!(0), "must be greater than 0"),
        ("rpc", "hop_limit", json!(0), "must be greater than 0"),
        ("rpc", "lanes", json!(0), "must be between 1 and 64"),
        ("rpc", "lanes", json!(65), "must be between 1 and 64"),
        ("websocket", "max_frame", json!(11), "must be between 12 and 2147483647 bytes"),
        ("websocket", "max_connections", json!(0), "must be greater than 0"),
        ("websocket", "send_queue", json!(0), "must be greater than 0"),
        ("websocket", "heartbeat_command", json!(999), "must differ from websocket.offline_command"),
    ];
    for (section, key, value, needle) in cases {
        let mut v = proxy();
        v[section][key] = value;
        assert_problem(&v, &format!("{section}.{key}"), needle);
    }
}

#[test]
fn name_host_and_api_path_entries_must_be_usable() {
    let mut v = service();
    v["name"] = json!(" ");
    assert_problem(&v, "name", "must not be empty");

    for (host, needle) in
        [("", "must not be empty"), ("0.0.0.0", "cannot be dialed"), ("::", "cannot be dialed")]
    {
        let mut v = service();
        v["host"] = json!(host);
        assert_problem(&v, "host", needle);
    }
    let mut v = service();
    v["host"] = json!("127.0.0.1 ");
    assert_problem(&v, "host", "surrounding whitespace");

    let mut v = service();
    v["api_path"] = json!(["rank", ""]);
    assert_problem(&v, "api_path[1]", "must not be empty");
}

#[test]
fn all_problems_are_reported_at_once() {
    let mut v = proxy();
    v["rpc"]["token"] = json!("short");
    v["http"]["port"] = json!(20000);
    v["websocket"]["timeout"] = json!(0);
    v["remote_ports"][0]["port"] = json!(0);
    v["log_dir"] = json!("logs/");
    let fields: Vec<String> = problems(&v).into_iter().map(|(f, _)| f).collect();
    for field in ["rpc.token", "http.port", "websocket.timeout", "remote_ports[0].port"] {
        assert!(fields.iter().any(|f| f == field), "{field} missing from {fields:?}");
    }
    let text = load(&v).unwrap_err().to_string();
    assert!(text.starts_with("4 configuration problems:\n  node.json5: "), "{text}");
}
