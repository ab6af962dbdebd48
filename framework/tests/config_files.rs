//! Real config files: obespoir's demo configs and the README's examples load
//! unchanged, and broken files are reported by file, field and reason.

use std::path::{Path, PathBuf};
use std::time::Duration;

use espoir::{ConfigError, LogLevel, NodeConfig, NodeType, RouteTable, StateTable, Storage, Target, Token};

const TOKEN: &str = "helloworldiloveyou~1234567890123";
const PROXY_ID: &str = "3a868e96c1d28dac1076c9108fbfec48";
const ROUTE_ID: &str = "b05f15475700128b7db26c8fc1198a0c";
const SERVICE_ID: &str = "80c1039db0c62ca51f2839fb424b538e";

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(path)
}

fn load(path: &str) -> NodeConfig {
    NodeConfig::load(fixture(path)).unwrap_or_else(|err| panic!("{path} should load: {err}"))
}

/// What obespoir's demo cluster must look like, from either set of files.
fn check_demo_cluster(dir: &str) {
    let proxy = load(&format!("{dir}/proxy_config.json"));
    let route = load(&format!("{dir}/route_config.json"));
    let service = load(&format!("{dir}/service_config.json"));

    assert_eq!((proxy.name.as_str(), proxy.node_type()), ("proxy_1", NodeType::Proxy));
    assert_eq!((route.name.as_str(), route.node_type()), ("route_1", NodeType::Route));
    assert_eq!((service.name.as_str(), service.node_type()), ("service_1", NodeType::Service));
    assert_eq!(proxy.node_id().as_str(), PROXY_ID);
    assert_eq!(route.node_id().as_str(), ROUTE_ID);
    assert_eq!(service.node_id().as_str(), SERVICE_ID);

    // Who dials whom: proxy → route, route → proxy and service, service → route.
    let peers = |cfg: &NodeConfig| -> Vec<String> {
        cfg.peer_specs().iter().map(|p| p.expected_id().as_str().to_owned()).collect()
    };
    assert_eq!(peers(&proxy), [ROUTE_ID]);
    assert_eq!(peers(&route), [PROXY_ID, SERVICE_ID]);
    assert_eq!(peers(&service), [ROUTE_ID]);
    for spec in [&proxy, &route, &service].into_iter().flat_map(NodeConfig::peer_specs) {
        assert_eq!(spec.token, Token::from(TOKEN));
        assert!(!spec.encrypt);
        assert_eq!(spec.reconnect, Duration::from_secs(5));
    }

    // Listeners.
    let ws = proxy.websocket.as_ref().expect("the proxy has a websocket section");
    assert_eq!((ws.port, ws.timeout), (20000, Duration::from_secs(300)));
    assert_eq!(proxy.http.as_ref().map(|h| h.port), Some(20001));
    assert_eq!(route.http.as_ref().map(|h| h.port), Some(21001));
    assert_eq!(service.http.as_ref().map(|h| h.port), Some(22001));
    assert!(route.websocket.is_none() && service.websocket.is_none());
    // obespoir ignores `rpc.type`; the demo route says "game" there.
    assert_eq!(route.rpc.legacy_type.as_deref(), Some("game"));

    // Route tables (spec §11): login 1000 stays on the route, enter-rank
    // 20000 goes to the service, the offline notice 999 stays on the route.
    let table = route.route_table().unwrap();
    assert_eq!(table.target(1000), Target::Local);
    assert_eq!(table.target(20000), Target::Forward(NodeType::Service));
    assert_eq!(table.target(5000), Target::Local);
    assert_eq!(table.target(5001), Target::Forward(NodeType::Service));
    assert_eq!(table.target(999), Target::Local);
    assert_eq!(table.target(1_000_000), Target::Forward(NodeType::Service));
    assert_eq!(table.target(1_000_001), Target::Local);

    let table = service.route_table().unwrap();
    assert_eq!(table.target(20000), Target::Local);
    assert_eq!(table.target(1000), Target::Forward(NodeType::Route));
    assert_eq!(table.target(999), Target::Forward(NodeType::Route));

    let table = proxy.route_table().unwrap();
    assert_eq!(table, RouteTable::empty(NodeType::Proxy));
    assert_eq!(table.target(1000), Target::Forward(NodeType::Route));
    assert_eq!(table.target(20000), Target::Forward(NodeType::Route));

    let stateless = proxy.state_table().unwrap();
    assert!(stateless.is_stateless(0) && stateless.is_stateless(100_000));
    assert!(!stateless.is_stateless(100_001) && !stateless.is_stateless(-1));
    assert_eq!(route.state_table().unwrap(), StateTable::empty());

    // And as one directory: no clashes between the three.
    let nodes = NodeConfig::load_dir(fixture(dir)).unwrap_or_else(|err| panic!("{dir}: {err}"));
    let names: Vec<&str> = nodes.iter().map(|(_, cfg)| cfg.name.as_str()).collect();
    assert_eq!(names, ["proxy_1", "route_1", "service_1"]);
    assert_eq!(nodes[1].0, fixture(&format!("{dir}/route_config.json")));
}

#[test]
fn obespoir_demo_configs_load_unchanged() {
    check_demo_cluster("obespoir");
    let proxy = load("obespoir/proxy_config.json");
    assert_eq!(proxy.log_level, LogLevel::Info);
    assert_eq!(proxy.api_path, ["proxy.include_libs"]);
}

#[test]
fn readme_example_configs_load_unchanged() {
    check_demo_cluster("obespoir-readme");
    let proxy = load("obespoir-readme/proxy_config.json");
    assert_eq!(proxy.log_level, LogLevel::Debug);
    assert_eq!(proxy.log_dir.as_deref(), Some(Path::new("logs/obEspoir/")));
    // The README's proxy names a MongoDB while keeping local storage.
    assert_eq!(proxy.available_way, Storage::Local);
    assert!(proxy.mongo_uri.as_deref().is_some_and(|uri| uri.starts_with("mongodb://")));
    assert_eq!(proxy.rpc.legacy_type.as_deref(), Some("proxy"));
}

/// The error's text for a broken fixture.
fn error_text(path: &str) -> (ConfigError, String) {
    let err = NodeConfig::load(fixture(path)).expect_err("the fixture is broken on purpose");
    let text = err.to_string();
    (err, text)
}

#[test]
fn an_unknown_key_is_named_with_its_file_and_path() {
    let (err, text) = error_text("bad/unknown_key.json5");
    let file = fixture("bad/unknown_key.json5");
    assert!(
        text.starts_with(&format!("{}: rpc.reconect_time: unknown field `reconect_time`", file.display())),
        "{text}"
    );
    assert!(text.contains("expected one of"), "{text}");
    assert_eq!(err.problems().len(), 1);
}

#[test]
fn a_wrongly_typed_value_is_named_with_its_file_and_path() {
    let (_, text) = error_text("bad/wrong_type.json5");
    let file = fixture("bad/wrong_type.json5");
    assert_eq!(
        text,
        format!("{}: remote_ports[1].port: invalid type: string \"21012\", expected u16", file.display())
    );
}

#[test]
fn every_validation_problem_of_a_file_is_reported() {
    let (err, text) = error_text("bad/overlapping_ranges.json5");
    let file = fixture("bad/overlapping_ranges.json5");
    let found: Vec<(&Path, &str, &str)> =
        err.problems().into_iter().map(|p| (p.file.as_path(), p.field.as_str(), p.reason.as_str())).collect();
    assert_eq!(
        found,
        [
            (file.as_path(), "rpc.token", "is 5 bytes long; at least 16 are required"),
            (file.as_path(), "remote_ports[1].port", "must not be 0"),
            (
                file.as_path(),
                "rpc.route.range.service[1]",
                "[5000, 5000] overlaps [0, 5000] at rpc.route.range.route[0]; ranges must not overlap"
            ),
            (file.as_path(), "rpc.route.special.service[0]", "id 1000 is also special for route"),
        ]
    );
    assert!(text.starts_with("4 configuration problems:\n"), "{text}");
}

#[test]
fn a_syntax_error_is_named_with_its_file_and_position() {
    // The missing comma is after line 2's value; the parser points there.
    let (err, text) = error_text("bad/syntax.json5");
    assert!(matches!(err, ConfigError::Syntax { position: Some((2, _)), .. }), "{err:?}");
    let file = fixture("bad/syntax.json5");
    assert!(text.starts_with(&format!("{}:2:", file.display())), "{text}");
    assert!(text.contains(": not valid JSON5: expected "), "{text}");
}

#[test]
fn a_cluster_directory_is_checked_as_a_whole() {
    let err = NodeConfig::load_dir(fixture("clash")).expect_err("the cluster is broken on purpose");
    let ConfigError::Several { errors } = &err else { panic!("expected several errors, got {err:?}") };
    assert_eq!(errors.len(), 2, "{err}");

    // The broken file is reported as itself...
    let broken: Vec<_> = errors[0]
        .problems()
        .into_iter()
        .map(|p| (p.file.clone(), p.field.clone(), p.reason.clone()))
        .collect();
    assert_eq!(
        broken,
        [(fixture("clash/c_broken.json"), "rpc".to_owned(), "missing field `token`".to_owned())]
    );

    // ...and the two good ones are checked against each other.
    let cluster: Vec<(String, String, String)> = errors[1]
        .problems()
        .into_iter()
        .map(|p| {
            (p.file.file_name().unwrap().to_string_lossy().into_owned(), p.field.clone(), p.reason.clone())
        })
        .collect();
    let expected = [
        ("b_service.json5", "name", "\"node\" is also the name of a_proxy.json5"),
        ("b_service.json5", "http.port", "127.0.0.1:20000 is also websocket.port of a_proxy.json5"),
        ("a_proxy.json5", "remote_ports[0].type", "is \"route\" but b_service.json5 is a service node"),
        (
            "a_proxy.json5",
            "remote_ports[0].token",
            "differs from rpc.token of b_service.json5; the link would fail to authenticate",
        ),
    ];
    let expected: Vec<(String, String, String)> =
        expected.iter().map(|(f, k, r)| ((*f).to_owned(), (*k).to_owned(), (*r).to_owned())).collect();
    assert_eq!(cluster, expected);

    // Non-config files (notes.txt) are ignored, and the text names every file.
    let text = err.to_string();
    assert!(!text.contains("notes.txt"));
    for file in ["a_proxy.json5", "b_service.json5", "c_broken.json"] {
        assert!(text.contains(file), "{file} missing from {text}");
    }
}

#[test]
fn a_directory_without_config_files_is_an_empty_cluster() {
    assert!(NodeConfig::load_dir(fixture("")).unwrap().is_empty());
}

/// The full examples in `docs/config.md` must stay loadable.
#[test]
fn the_documented_examples_load() {
    let doc_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/config.md");
    let doc = std::fs::read_to_string(&doc_path).unwrap();
    let examples: Vec<&str> = doc
        .split("```json5\n")
        .skip(1)
        .filter_map(|block| block.split("\n```").next())
        .filter(|block| block.starts_with('{'))
        .collect();
    // Bootstrap files (configs kept in MongoDB) are a different schema.
    let (bootstraps, examples): (Vec<&str>, Vec<&str>) =
        examples.into_iter().partition(|text| text.contains(r#""available_way": "mongo""#));
    assert!(!bootstraps.is_empty(), "the MongoDB section shows a bootstrap file");
    for text in bootstraps {
        let settings = espoir::MongoSettings::from_bootstrap_str(text, &doc_path);
        assert!(matches!(settings, Ok(Some(_))), "documented bootstrap does not parse: {settings:?}\n{text}");
    }
    let roles: Vec<NodeType> = examples
        .iter()
        .map(|text| match NodeConfig::from_json5_str(text, &doc_path) {
            Ok(cfg) => cfg.node_type(),
            Err(err) => panic!("documented example does not load: {err}\n{text}"),
        })
        .collect();
    assert_eq!(roles, [NodeType::Proxy, NodeType::Route, NodeType::Service]);
}
