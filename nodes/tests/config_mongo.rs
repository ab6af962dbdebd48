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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_configs_keep_their_secret_references_not_the_secrets() {
    let Some(mongo) = Mongo::start().await else { return };
    let uri = mongo.uri();
    let rpc_token = "pushed-rpc-secret-never-stored-0001";
    let http_token = "pushed-admin-secret-never-stored-01";
    // Pushing validates, so the variables the files read are set (test
    // values will do); what is stored is the reference.
    let env = [("POD_IP", "10.9.8.7"), ("ESPOIR_RPC_TOKEN", rpc_token), ("ESPOIR_HTTP_TOKEN", http_token)];
    let push = || {
        let mut cmd = espoir();
        cmd.args(["config", "push"])
            .arg(repo().join("docs/deploy/kubernetes/config"))
            .args(["--mongo", &uri]);
        cmd
    };
    let out = push().envs(env).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let stored = mongo.database("espoir").await.collection::<mongodb::bson::Document>("nodes");
    let service = stored.find_one(mongodb::bson::doc! { "_id": "service" }).await.unwrap().expect("stored");
    assert_eq!(
        service.get_document("rpc").unwrap().get_document("token").unwrap(),
        &mongodb::bson::doc! { "env": "ESPOIR_RPC_TOKEN" }
    );
    assert_eq!(service.get_document("host").unwrap(), &mongodb::bson::doc! { "env": "POD_IP" });
    let mut all = stored.find(mongodb::bson::doc! {}).await.unwrap();
    let mut count = 0;
    while all.advance().await.unwrap() {
        let text = format!("{:?}", all.deserialize_current().unwrap());
        assert!(
            !text.contains(rpc_token) && !text.contains(http_token) && !text.contains("10.9.8.7"),
            "{text}"
        );
        count += 1;
    }
    assert_eq!(count, 3);

    // Without the variables, nothing is pushed: the error names one.
    let out = push()
        .env_remove("POD_IP")
        .env_remove("ESPOIR_RPC_TOKEN")
        .env_remove("ESPOIR_HTTP_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not set"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_from_its_mongodb_document_reads_its_address_and_secrets_where_it_runs() {
    let Some(mongo) = Mongo::start().await else { return };
    let uri = mongo.uri();
    let token = "document-rpc-secret-read-in-the-pod";
    let [http, rpc] = espoir_testkit::free_ports(2)[..] else { unreachable!() };
    // The document says where to read; the "pod" gives the values.
    let folder = tempfile::tempdir().unwrap();
    let config = format!(
        r#"{{ name: "svc", type: "service", host: {{ env: "POD_IP" }}, bind: "0.0.0.0", api_path: ["hello.service"],
             http: {{ port: {http}, token: {{ env: "ESPOIR_RPC_TOKEN" }} }},
             rpc: {{ port: {rpc}, token: {{ env: "ESPOIR_RPC_TOKEN" }} }} }}"#
    );
    std::fs::write(folder.path().join("svc.json5"), config).unwrap();
    let pod = [("POD_IP", "127.0.0.4"), ("ESPOIR_RPC_TOKEN", token), ("ESPOIR_MONGO_URI", uri.as_str())];
    let out = espoir()
        .args(["config", "push"])
        .arg(folder.path())
        .args(["--mongo", &uri])
        .envs(pod)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("last-good/svc.json");
    let boot = dir.path().join("svc.json5");
    let bootstrap = format!(
        r#"{{ name: "svc", available_way: "mongo", mongo_uri: {{ env: "ESPOIR_MONGO_URI" }}, mongo: {{ cache: "{}" }} }}"#,
        cache.display()
    );
    std::fs::write(&boot, bootstrap).unwrap();
    let log = dir.path().join("svc.log");
    let out = std::fs::File::create(&log).unwrap();
    let mut node = espoir()
        .arg("node")
        .arg(&boot)
        .envs(pod)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + espoir_testkit::WAIT;
    while std::net::TcpStream::connect(("127.0.0.1", http)).is_err() {
        assert!(node.try_wait().unwrap().is_none(), "{}", std::fs::read_to_string(&log).unwrap());
        assert!(Instant::now() < deadline, "{}", std::fs::read_to_string(&log).unwrap());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let auth = format!("Bearer {token}");
    let (_, health) = espoir_testkit::http(("127.0.0.1", http), "GET", "/health", Some(&auth)).await;
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["id"], espoir::NodeId::of("127.0.0.4", rpc).as_str(), "{health}");
    // The last-known-good copy is the document: references, not values.
    let copy = std::fs::read_to_string(&cache).unwrap();
    assert!(copy.contains("ESPOIR_RPC_TOKEN") && !copy.contains(token), "{copy}");

    assert!(Command::new("kill").args(["-TERM", &node.id().to_string()]).status().unwrap().success());
    let deadline = Instant::now() + espoir_testkit::WAIT;
    let status = loop {
        if let Some(status) = node.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the node did not stop on SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(status.code(), Some(0), "{}", std::fs::read_to_string(&log).unwrap());
}
