#![cfg(feature = "mongodb")]
//! Node configs in a real MongoDB (`"available_way": "mongo"`): start-up
//! from the document, `config push` refusing an invalid folder, reload
//! through HTTP and through the change stream, start-up from the
//! last-known-good copy while MongoDB is down, and a running node that
//! outlives a MongoDB restart.
//!
//! Needs `mongod` (`.ci/provision-mongod`); skipped without it, except under
//! `CI=true`, where its absence fails the tests.

use std::path::{Path, PathBuf};

use espoir::{ConfigError, MongoTarget, TransferError, open_node_config, pull_configs, push_configs};
use espoir_testkit::Mongo;
use espoir_testkit::*;
use mongodb::bson::{Document, doc};

/// A bootstrap file for `name` next to the test's files.
fn bootstrap(dir: &Path, name: &str, uri: &str, extra: &str) -> PathBuf {
    let path = dir.join(format!("{name}.json5"));
    write_config(
        &path,
        &format!(
            r#"{{ "name": "{name}", "available_way": "mongo", "mongo_uri": "{uri}", "mongo": {{ "timeout": 1 {extra} }} }}"#
        ),
    );
    path
}

/// Pushes one service config (with `watch` as given) and returns its ports.
async fn push_service(mongo: &Mongo, name: &str, watch: bool) -> Ports {
    let ports = Ports::bind().await;
    let dir = temp_dir();
    let mut body = config_text(name, "service", &ports, &[], "");
    if watch {
        body = body.replacen("\"handler_timeout\"", "\"watch\": true, \"handler_timeout\"", 1);
    }
    write_config(&dir.join(format!("{name}.json5")), &body);
    let pushed = push_configs(&dir, &MongoTarget::new(mongo.uri())).await.expect("valid folder pushed");
    assert_eq!(pushed, vec![name.to_owned()]);
    ports
}

async fn start(path: &Path, ports: Ports) -> TestNode {
    let opened = open_node_config(path).await.expect("config from MongoDB");
    start_opened(opened, ports).await
}

/// Starts a node from a config already read from MongoDB.
async fn start_opened(opened: espoir::OpenedConfig, ports: Ports) -> TestNode {
    assert!(opened.fallback.is_none());
    TestNode::start_builder(opened.builder(), ports).await
}

async fn nodes(mongo: &Mongo) -> mongodb::Collection<Document> {
    mongo.database("espoir").await.collection("nodes")
}

/// How many reloads of `node` ended with `result` (`applied`, `unchanged`...).
fn reloads(node: &TestNode, result: &str) -> f64 {
    node.metric(&format!(r#"espoir_config_reloads_total{{result="{result}"}}"#))
}

/// Adds a `remote_ports` entry to the stored document.
async fn add_peer(mongo: &Mongo, name: &str, port: u16) {
    let peer: serde_json::Value = serde_json::from_str(&remote(port, "route")).unwrap();
    let peer = mongodb::bson::to_bson(&peer).unwrap();
    let updated =
        nodes(mongo).await.update_one(doc! { "_id": name }, doc! { "$push": { "remote_ports": peer } }).await;
    assert_eq!(updated.unwrap().matched_count, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_starts_from_its_document_and_reloads_through_http() {
    let Some(mongo) = Mongo::start().await else { return };
    let ports = push_service(&mongo, "svc_http", false).await;
    let rpc_port = ports.rpc_port();
    let dir = temp_dir();
    let node = start(&bootstrap(&dir, "svc_http", &mongo.uri(), ""), ports).await;
    assert_eq!(*node.node.id(), espoir::NodeId::of("127.0.0.1", rpc_port));
    assert!(node.node.peers().is_empty());
    assert!(dir.join(".last-good/svc_http.json").is_file(), "a last-known-good copy is kept");

    add_peer(&mongo, "svc_http", 1).await;
    let (status, report) = admin(&node, "POST", "/update_remote_rpc_config").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["added"].as_array().map(Vec::len), Some(1), "{report}");
    assert!(report["source"].as_str().unwrap().contains("espoir.nodes/svc_http"), "{report}");
    assert_eq!(node.node.peers().len(), 1);

    // An invalid document is refused like an invalid file: 400, old config kept.
    nodes(&mongo)
        .await
        .update_one(doc! { "_id": "svc_http" }, doc! { "$set": { "type": "emperor" } })
        .await
        .unwrap();
    let (status, body) = admin(&node, "POST", "/update_remote_rpc_config").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("type"), "{body}");
    assert_eq!(node.node.peers().len(), 1);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_push_refuses_an_invalid_folder_and_pull_writes_it_back() {
    let Some(mongo) = Mongo::start().await else { return };
    let target = MongoTarget::new(mongo.uri());
    let dir = temp_dir();
    let (a, b) = (Ports::bind().await, Ports::bind().await);
    write_config(&dir.join("a.json5"), &config_text("node_a", "service", &a, &[], ""));
    write_config(
        &dir.join("b.json5"),
        &config_text("node_b", "service", &b, &[], "").replace("\"service\"", "\"emperor\""),
    );
    let err = push_configs(&dir, &target).await.unwrap_err();
    assert!(matches!(err, TransferError::Invalid(_)), "{err}");
    assert!(err.to_string().contains("b.json5"), "{err}");
    assert_eq!(nodes(&mongo).await.count_documents(doc! {}).await.unwrap(), 0, "nothing written");

    write_config(&dir.join("b.json5"), &config_text("node_b", "service", &b, &[], ""));
    assert_eq!(push_configs(&dir, &target).await.unwrap(), ["node_a", "node_b"]);
    let out = temp_dir();
    let files = pull_configs(&target, &out).await.unwrap();
    assert_eq!(files, [out.join("node_a.json5"), out.join("node_b.json5")]);
    let original = espoir::NodeConfig::load(dir.join("b.json5")).unwrap();
    assert_eq!(espoir::NodeConfig::load(&files[1]).unwrap(), original, "pulled files load as pushed");

    let empty = temp_dir();
    assert!(matches!(push_configs(&empty, &target).await, Err(TransferError::Empty(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watching_node_follows_its_document_through_the_change_stream() {
    let Some(mongo) = Mongo::start().await else { return };
    let ports = push_service(&mongo, "svc_watch", true).await;
    let opened = open_node_config(&bootstrap(&temp_dir(), "svc_watch", &mongo.uri(), ""))
        .await
        .expect("config from MongoDB");
    // Edited after the node read its document and before its change stream
    // exists: the stream's opening re-read picks it up.
    add_peer(&mongo, "svc_watch", 1).await;
    let node = start_opened(opened, ports).await;
    wait_until("the edit made before the stream opened applied", || async { node.node.peers().len() == 1 })
        .await;
    // That re-read came after the stream opened, so this edit is seen by it.
    add_peer(&mongo, "svc_watch", 2).await;
    wait_until("the edit applied without an HTTP call", || async { node.node.peers().len() == 2 }).await;
    assert_eq!(reloads(&node, "applied"), 2.0);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_uses_the_last_known_good_copy_only_while_mongodb_is_down() {
    let Some(mut mongo) = Mongo::start().await else { return };
    let ports = push_service(&mongo, "svc_lkg", false).await;
    let dir = temp_dir();
    let path = bootstrap(&dir, "svc_lkg", &mongo.uri(), "");
    let first = open_node_config(&path).await.unwrap();
    drop(ports);

    // A node that never loaded has no copy: a clear error.
    let never = bootstrap(&dir, "svc_never", &mongo.uri(), "");
    mongo.stop();
    let err = open_node_config(&never).await.unwrap_err();
    assert!(matches!(err, ConfigError::Unavailable { .. }), "{err}");
    assert!(
        err.to_string().contains("svc_never") && err.to_string().contains("no reachable server"),
        "{err}"
    );

    let again = open_node_config(&path).await.expect("starts from the copy");
    let why = again.fallback.clone().expect("says it fell back");
    assert!(why.contains("last-known-good"), "{why}");
    assert_eq!(again.config, first.config);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_node_outlives_a_mongodb_restart_and_then_applies_changes() {
    let Some(mut mongo) = Mongo::start().await else { return };
    let ports = push_service(&mongo, "svc_restart", true).await;
    let node = start(&bootstrap(&temp_dir(), "svc_restart", &mongo.uri(), ""), ports).await;
    // The change stream is open once its opening re-read is counted.
    wait_until("the change stream opens", || async { reloads(&node, "unchanged") == 1.0 }).await;

    mongo.stop();
    // MongoDB gone: the node keeps serving and keeps its config; a reload
    // says the store is unavailable (503), not that the config is bad.
    let (status, _) = admin(&node, "GET", "/health").await;
    assert_eq!(status, 200);
    let (status, body) = admin(&node, "POST", "/update_remote_rpc_config").await;
    assert_eq!(status, 503, "{body}");
    assert!(node.node.peers().is_empty());

    mongo.restart().await;
    // Changed right after MongoDB is back, before (or while) the node's
    // change stream reconnects: picked up either way.
    add_peer(&mongo, "svc_restart", 1).await;
    wait_until("the change made across the restart applied", || async { node.node.peers().len() == 1 }).await;
    node.stop().await;
}
