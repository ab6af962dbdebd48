//! `espoir config push/pull` and `espoir node` with a bootstrap file,
//! against a real mongod (skipped without one, except under `CI=true`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use espoir_testkit::Mongo;
use espoir_testkit::mongodb;

fn espoir() -> Command {
    Command::new(env!("CARGO_BIN_EXE_espoir"))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_validates_first_pull_writes_back_and_node_says_when_mongodb_is_unreachable() {
    let Some(mut mongo) = Mongo::start().await else { return };
    let uri = mongo.uri();

    // An invalid folder: refused, naming the file, and nothing stored.
    let bad = tempfile::tempdir().unwrap();
    std::fs::write(bad.path().join("x.json5"), r#"{ "name": "x", "type": "emperor" }"#).unwrap();
    let out = espoir().args(["config", "push"]).arg(bad.path()).args(["--mongo", &uri]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("x.json5") && stderr.contains("nothing pushed"), "{stderr}");
    let stored = mongo.database("espoir").await.collection::<mongodb::bson::Document>("nodes");
    assert_eq!(stored.count_documents(mongodb::bson::doc! {}).await.unwrap(), 0);

    // The demo cluster: pushed, then pulled back into files that check clean.
    let out = espoir()
        .args(["config", "push"])
        .arg(repo().join("configs/hello"))
        .args(["--mongo", &uri])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let pulled = tempfile::tempdir().unwrap();
    let out = espoir().args(["config", "pull"]).arg(pulled.path()).args(["--mongo", &uri]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let check = espoir().arg("check").arg(pulled.path()).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));

    // MongoDB down and no last-known-good copy: a clear error, non-zero exit,
    // quickly (the bootstrap's timeout), without the connection string.
    mongo.stop();
    let dir = tempfile::tempdir().unwrap();
    let boot = dir.path().join("service.json5");
    std::fs::write(
        &boot,
        format!(r#"{{ "name": "service_1", "available_way": "mongo", "mongo_uri": "{uri}", "mongo": {{ "timeout": 1 }} }}"#),
    )
    .unwrap();
    let started = Instant::now();
    let out = espoir().arg("node").arg(&boot).stdin(Stdio::null()).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("service_1") && stderr.contains("no reachable server"), "{stderr}");
    // What bounds the wait is the bootstrap's `mongo.timeout` (1 s), not
    // the driver's default server selection timeout (30 s): the bound tells
    // the two apart with 29 s to spare for starting the process, however
    // slow the machine.
    assert!(started.elapsed() < Duration::from_secs(30), "the bootstrap's 1 s timeout bounds the wait");
}
