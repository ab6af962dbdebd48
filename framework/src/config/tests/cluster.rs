//! The cluster-wide rules of `load_dir`.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::check;
use crate::config::NodeConfig;
use crate::config::test_support::{config, proxy, route, service};

fn cluster_of(values: &[Value]) -> Vec<(String, String, String)> {
    let nodes: Vec<(PathBuf, NodeConfig)> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (PathBuf::from(format!("dir/{i}.json5")), config(v)))
        .collect();
    check(&nodes)
        .into_iter()
        .map(|p| (p.file.file_name().unwrap().to_string_lossy().into_owned(), p.field, p.reason))
        .collect()
}

#[test]
fn the_demo_cluster_is_consistent() {
    assert_eq!(cluster_of(&[proxy(), route(), service()]), vec![]);
}

#[test]
fn cluster_names_and_ids_must_be_unique() {
    let mut other = service();
    other["http"]["port"] = json!(22011);
    let found = cluster_of(&[service(), other]);
    assert!(found.contains(&(
        "1.json5".into(),
        "name".into(),
        r#""service_1" is also the name of 0.json5"#.into()
    )));
    assert!(found.contains(&(
        "1.json5".into(),
        "rpc.port".into(),
        "node id 80c1039db0c62ca51f2839fb424b538e (127.0.0.1:22002) is also the id of 0.json5".into()
    )));
    assert_eq!(found.len(), 2, "the shared rpc address is not reported twice: {found:#?}");
}

#[test]
fn cluster_addresses_must_be_unique_across_listener_kinds() {
    let mut other = service();
    other["name"] = json!("service_2");
    other["rpc"]["port"] = json!(22012);
    other["http"]["port"] = json!(20000);
    let found = cluster_of(&[proxy(), other]);
    assert_eq!(
        found,
        vec![(
            "1.json5".into(),
            "http.port".into(),
            "127.0.0.1:20000 is also websocket.port of 0.json5".into()
        )]
    );

    // The same port on different hosts is fine.
    let mut other = service();
    other["host"] = json!("10.0.0.2");
    other["http"]["port"] = json!(20000);
    other["remote_ports"] = json!([]);
    assert_eq!(cluster_of(&[proxy(), other]), vec![]);
}

#[test]
fn remote_ports_must_agree_with_the_nodes_they_name() {
    let mut p = proxy();
    p["remote_ports"][0]["type"] = json!("service");
    p["remote_ports"][0]["token"] = json!("another-token-of-32-bytes-000000");
    let found = cluster_of(&[p, route()]);
    assert_eq!(
        found,
        vec![
            (
                "0.json5".into(),
                "remote_ports[0].type".into(),
                r#"is "service" but 1.json5 is a route node"#.into()
            ),
            (
                "0.json5".into(),
                "remote_ports[0].token".into(),
                "differs from rpc.token of 1.json5; the link would fail to authenticate".into()
            ),
        ]
    );
}
