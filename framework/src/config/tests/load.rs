//! Parsing: JSON5 syntax, field paths in structural errors, accepted
//! shapes, defaults, and the conversions to transport settings.

use std::path::Path;
use std::time::Duration;

use super::*;
use crate::config::{ConfigError, HttpConfig, LogLevel, NoStateRules, RouteRules, Storage, WebsocketConfig};
use crate::proto::NodeType;
use crate::secure::Token;

const TOKEN: &str = "helloworldiloveyou~1234567890123";

/// A valid service config with `extra` spliced into the top level and
/// `rpc_extra` into the `rpc` section (both JSON5 fragments ending in a
/// comma, or empty).
fn text(extra: &str, rpc_extra: &str) -> String {
    format!(
        r#"{{
            // a comment
            name: "service_1", host: "127.0.0.1", type: "service",
            {extra}
            rpc: {{ port: 22002, token: "{TOKEN}", {rpc_extra} }},
        }}"#
    )
}

fn parse(text: &str) -> Result<NodeConfig, ConfigError> {
    NodeConfig::from_json5_str(text, Path::new("conf/service.json5"))
}

/// The single problem of an invalid config, as `(field, reason)`.
#[track_caller]
fn problem(text: &str) -> (String, String) {
    match parse(text) {
        Err(ConfigError::Invalid { problems }) if problems.len() == 1 => {
            let p = &problems[0];
            assert_eq!(p.file, Path::new("conf/service.json5"));
            (p.field.clone(), p.reason.clone())
        }
        other => panic!("expected exactly one problem, got {other:?}"),
    }
}

#[test]
fn json5_comments_trailing_commas_and_a_byte_order_mark_are_fine() {
    let cfg = parse(&format!("\u{feff}{}", text("", ""))).unwrap();
    assert_eq!(cfg.name, "service_1");
    assert_eq!(cfg.node_type(), NodeType::Service);
}

#[test]
fn syntax_errors_name_the_file_and_position() {
    let err = parse("{\n  name: \"x\",\n  host: \n}").unwrap_err();
    let ConfigError::Syntax { file, position, reason } = &err else { panic!("{err:?}") };
    assert_eq!(file, Path::new("conf/service.json5"));
    assert_eq!(*position, Some((4, 1)));
    assert_eq!(reason, "expected array, boolean, null, number, object, or string");
    assert_eq!(
        err.to_string(),
        "conf/service.json5:4:1: not valid JSON5: expected array, boolean, null, number, object, or string"
    );
    assert!(matches!(parse(""), Err(ConfigError::Syntax { .. })));
}

#[test]
fn unknown_keys_are_refused_with_their_path() {
    let (field, reason) = problem(&text("colour: 1,", ""));
    assert_eq!(field, "colour");
    assert!(reason.starts_with("unknown field `colour`, expected one of `name`, `host`, `type`"), "{reason}");

    let (field, reason) = problem(&text("", "route: { ranges: {} },"));
    assert_eq!(
        (field.as_str(), reason.as_str()),
        ("rpc.route.ranges", "unknown field `ranges`, expected `range` or `special`")
    );

    let (field, _) = problem(&text("", r#""a.b": 1,"#));
    assert_eq!(field, r#"rpc["a.b"]"#);
}

#[test]
fn wrong_types_and_ranges_are_refused_with_their_path() {
    let cases = [
        (
            text("", "route: { range: { service: [[1, 2], [\"a\", 5]] } },"),
            "rpc.route.range.service[1][0]",
            "invalid type: string \"a\", expected i32",
        ),
        (
            text("", "route: { range: { service: [[true, 5]] } },"),
            "rpc.route.range.service[0][0]",
            "invalid type: boolean `true`, expected i32",
        ),
        (
            text("", "route: { range: { service: [[1, 2, 3]] } },"),
            "rpc.route.range.service[0]",
            "invalid length 3, expected a pair of message ids [lo, hi]",
        ),
        (text("", "route: { range: { service: [[1]] } },"), "rpc.route.range.service[0]", "invalid length 1"),
        (
            text("", "route: { special: { route: [3000000000] } },"),
            "rpc.route.special.route[0]",
            "invalid value: integer `3000000000`, expected i32",
        ),
    ];
    for (text, field, needle) in &cases {
        let (f, r) = problem(text);
        assert_eq!(&f, field);
        assert!(r.contains(needle), "{r:?} should contain {needle:?}");
    }
    let port = r#"{ name: "s", host: "h", type: "service", rpc: { port: 70000, token: "x" } }"#;
    assert_eq!(problem(port), ("rpc.port".into(), "invalid value: integer `70000`, expected u16".into()));
    let port = r#"{ name: "s", host: "h", type: "service", rpc: { port: 1.5, token: "x" } }"#;
    assert_eq!(problem(port), ("rpc.port".into(), "invalid type: floating point `1.5`, expected u16".into()));
}

#[test]
fn missing_keys_and_misshapen_sections_name_their_parent() {
    let (field, reason) =
        problem(&text("remote_ports: [{ host: \"127.0.0.1\", port: 21002, type: \"route\" }],", ""));
    assert_eq!((field.as_str(), reason.as_str()), ("remote_ports[0]", "missing field `token`"));

    let (field, reason) = problem(&text("http: [22001],", ""));
    assert_eq!((field.as_str(), reason.as_str()), ("http", "invalid type: sequence, expected an object"));

    let (field, reason) = problem("[]");
    assert_eq!((field.as_str(), reason.as_str()), ("", "invalid type: sequence, expected an object"));
    let err = parse("[]").unwrap_err();
    assert_eq!(
        err.to_string(),
        "conf/service.json5: (top level): invalid type: sequence, expected an object"
    );
}

#[test]
fn a_key_given_twice_is_refused() {
    let (field, reason) = problem(&text("", "port: 22003,"));
    assert_eq!((field.as_str(), reason.as_str()), ("rpc.port", "key `port` is given twice"));
}

#[test]
fn the_node_type_must_be_one_of_three() {
    let t = text("", "").replace(r#"type: "service""#, r#"type: "game""#);
    let (field, reason) = problem(&t);
    assert_eq!(field, "type");
    assert_eq!(
        reason,
        r#"invalid value: string "game", expected a node type: "proxy", "route" or "service""#
    );
}

#[test]
fn durations_are_seconds_and_may_be_fractions() {
    let cfg = parse(&text("handler_timeout: 0.25,", "reconnect_time: 0.05, call_timeout: 3,")).unwrap();
    assert_eq!(cfg.handler_timeout, Duration::from_millis(250));
    assert_eq!(cfg.rpc.reconnect_time, Duration::from_millis(50));
    assert_eq!(cfg.rpc.call_timeout, Duration::from_secs(3));

    for bad in ["-1", "\"5\"", "Infinity", "NaN"] {
        let (field, reason) = problem(&text(&format!("handler_timeout: {bad},"), ""));
        assert_eq!(field, "handler_timeout");
        assert!(reason.contains("expected a non-negative number of seconds"), "{bad}: {reason}");
    }
}

#[test]
fn api_path_is_one_string_or_a_list() {
    assert_eq!(
        parse(&text(r#"api_path: "service.include_libs","#, "")).unwrap().api_path,
        ["service.include_libs"]
    );
    assert_eq!(parse(&text(r#"api_path: ["rank", "login"],"#, "")).unwrap().api_path, ["rank", "login"]);
    assert!(parse(&text("", "")).unwrap().api_path.is_empty());
    assert_eq!(problem(&text("api_path: 3,", "")).0, "api_path");
}

#[test]
fn no_state_special_is_flat_nested_or_empty() {
    let ws =
        |special: &str| format!("websocket: {{ no_state: {{ range: [[0, 10]], special: {special} }} }},");
    for (special, ids) in [
        ("[110119]", vec![110119]),
        ("[[110119]]", vec![110119]),
        ("[]", vec![]),
        ("[[1, 2], 3, []]", vec![1, 2, 3]),
    ] {
        let cfg = parse(&text(&ws(special), "")).unwrap();
        assert_eq!(cfg.websocket.unwrap().no_state.special, ids, "{special}");
    }
    let (field, _) = problem(&text(&ws(r#"[[1, "x"]]"#), ""));
    assert_eq!(field, "websocket.no_state.special[0][1]");
}

#[test]
fn defaults_are_the_documented_ones() {
    let cfg = parse(&text("websocket: {},", "")).unwrap();
    assert_eq!(cfg.log_level, LogLevel::Info);
    assert_eq!(cfg.log_dir, None);
    assert_eq!(cfg.available_way, Storage::Local);
    assert_eq!(cfg.handler_timeout, Duration::from_secs(10));
    assert!(!cfg.watch);
    assert!(cfg.http.is_none() && cfg.remote_ports.is_empty());

    let rpc = &cfg.rpc;
    assert!(!rpc.encrypt);
    assert_eq!(rpc.legacy_type, None);
    assert_eq!(rpc.reconnect_time, Duration::from_secs(5));
    assert_eq!(rpc.route, RouteRules::default());
    assert_eq!(rpc.max_frame, 4 * 1024 * 1024);
    assert_eq!(rpc.heartbeat_interval, Duration::from_secs(1));
    assert_eq!(rpc.dead_after, Duration::from_secs(5));
    assert_eq!(rpc.handshake_timeout, Duration::from_secs(5));
    assert_eq!(rpc.call_timeout, Duration::from_secs(10));
    assert_eq!(rpc.max_connections, 1024);
    assert_eq!(rpc.max_backoff, Duration::from_secs(30));
    assert_eq!(rpc.hop_limit, 8);
    assert_eq!(rpc.lanes, None, "lanes follow the cores unless set");
    assert_eq!(cfg.endpoint_config().lanes, crate::transport::default_lanes());
    let set = parse(&text("websocket: {},", "lanes: 3,")).unwrap();
    assert_eq!(set.endpoint_config().lanes, 3);

    let ws = cfg.websocket.unwrap();
    assert_eq!(ws, WebsocketConfig::default());
    assert_eq!(ws.port, 0);
    assert_eq!(ws.timeout, Duration::from_secs(300));
    assert_eq!(ws.max_frame, 1024 * 1024);
    assert_eq!(ws.max_connections, 100_000);
    assert_eq!(ws.offline_command, 999);
    assert_eq!(ws.heartbeat_command, 10_000);
    assert_eq!(ws.send_queue, 256);
    assert_eq!(ws.no_state, NoStateRules::default());

    let http = parse(&text("http: {},", "")).unwrap().http.unwrap();
    assert_eq!(http, HttpConfig::default());
}

#[test]
fn conversions_to_transport_settings() {
    let cfg = parse(&text(
        r#"remote_ports: [{ host: "127.0.0.1", port: 21002, token: "route-token-0123456789", encode: 1, type: "route" }],"#,
        "encode: 1, reconnect_time: 0.5, max_backoff: 4, max_frame: 65536, heartbeat_interval: 0.1, dead_after: 0.4, handshake_timeout: 2, max_connections: 7,",
    ))
    .unwrap();
    assert_eq!(cfg.node_id().as_str(), "80c1039db0c62ca51f2839fb424b538e");

    let link = cfg.rpc_link_settings();
    assert_eq!(link.max_frame, 65536);
    assert_eq!(link.heartbeat_interval, Duration::from_millis(100));
    assert_eq!(link.dead_after, Duration::from_millis(400));
    assert_eq!(link.handshake_timeout, Duration::from_secs(2));

    let endpoint = cfg.endpoint_config();
    assert_eq!(endpoint.node_id, cfg.node_id());
    assert_eq!(endpoint.node_type, NodeType::Service);
    assert_eq!(endpoint.token, Token::from(TOKEN));
    assert!(endpoint.encrypt);
    assert_eq!(endpoint.listener.max_connections, 7);

    let [peer] = cfg.peer_specs().try_into().unwrap();
    assert_eq!((peer.host.as_str(), peer.port), ("127.0.0.1", 21002));
    assert_eq!(peer.token, Token::from("route-token-0123456789"));
    assert!(peer.encrypt);
    assert_eq!(peer.reconnect, Duration::from_millis(500));
    assert_eq!(peer.max_backoff, Duration::from_secs(4));
    assert_eq!(peer.expected_id(), cfg.remote_ports[0].node_id());
    assert_eq!(peer.expected_id().as_str(), "b05f15475700128b7db26c8fc1198a0c");
}

#[test]
fn debug_output_hides_secrets() {
    let cfg =
        parse(&text(r#"available_way: "mongo", mongo_uri: "mongodb://user:hunter2@db/admin","#, "")).unwrap();
    let shown = format!("{cfg:?}");
    assert!(!shown.contains("hunter2") && !shown.contains(TOKEN), "{shown}");
    assert!(shown.contains(r#"mongo_uri: Some("<redacted>")"#), "{shown}");
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(parse(&text(&format!("extra: {deep},"), "")).is_err());
    let nested = format!("{}1{}", "[".repeat(500), "]".repeat(500));
    assert_eq!(problem(&text(&format!("extra: {nested},"), "")).0, "extra");
}

#[test]
fn load_reports_unreadable_files() {
    let err = NodeConfig::load("/nonexistent/espoir/node.json5").unwrap_err();
    assert!(
        matches!(&err, ConfigError::Read { file, .. } if file == Path::new("/nonexistent/espoir/node.json5"))
    );
    assert!(err.to_string().starts_with("cannot read /nonexistent/espoir/node.json5: "), "{err}");
    let err = NodeConfig::load_dir("/nonexistent/espoir").unwrap_err();
    assert!(matches!(err, ConfigError::ReadDir { .. }));
}

#[test]
fn a_relative_static_dir_starts_at_the_config_files_folder() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"{ name: "p", type: "proxy", host: "127.0.0.1", websocket: { port: 20000 },
        http: { port: 20001, static_dir: "../web" }, rpc: { port: 20002, token: "helloworldiloveyou~1234567890123" } }"#;
    let file = dir.path().join("proxy.json5");
    std::fs::write(&file, text).unwrap();
    let loaded = NodeConfig::load(&file).unwrap();
    assert_eq!(loaded.http.unwrap().static_dir, Some(dir.path().join("../web")));
    let absolute = text.replace("../web", "/srv/pages");
    std::fs::write(&file, absolute).unwrap();
    assert_eq!(NodeConfig::load(&file).unwrap().http.unwrap().static_dir, Some("/srv/pages".into()));
}

#[test]
fn an_apps_section_reads_as_its_type_or_its_default() {
    #[derive(Debug, Default, PartialEq, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Game {
        #[serde(default)]
        rounds: u32,
    }
    let config =
        parse(&text(r#"app: { game: { rounds: 3 }, odd: { rounds: "x" }, extra: { nope: 1 } },"#, ""))
            .unwrap();
    assert_eq!(config.app_section::<Game>("game").unwrap(), Game { rounds: 3 });
    assert_eq!(config.app_section::<Game>("absent").unwrap(), Game::default());
    assert!(config.app_section::<Game>("odd").unwrap_err().to_string().contains("invalid type"));
    assert!(config.app_section::<Game>("extra").unwrap_err().to_string().contains("nope"));
}
