//! Values read from a file or the environment instead of the config: the
//! accepted shapes, the errors (naming the field and the source, never the
//! value) and redaction.
//!
//! Setting variables in a multi-threaded test binary is unsound, so the
//! environment side is covered here only by a variable that is never set;
//! `nodes/tests/deploy.rs` runs `espoir check` with variables set.

use std::path::Path;

use serde_json::json;

use crate::config::test_support::{TOKEN, config, problems, service};
use crate::config::{NodeConfig, Storage};
use crate::mongo::MongoSettings;
use crate::secure::Token;

const UNSET: &str = "ESPOIR_TEST_VARIABLE_THAT_IS_NEVER_SET_4c1d";

fn secret_file(dir: &Path, name: &str, content: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn tokens_and_the_mongo_uri_come_from_files_without_their_final_line_break() {
    let dir = tempfile::tempdir().unwrap();
    let rpc = secret_file(dir.path(), "rpc", "rpc-secret-from-a-mounted-file-01\n");
    let http = secret_file(dir.path(), "http", "http-secret-written-on-windows-1\r\n");
    let uri = secret_file(dir.path(), "uri", "mongodb://espoir:hunter2@db1,db2/?replicaSet=rs0");
    let mut v = service();
    v["rpc"]["token"] = json!({ "file": rpc });
    v["http"]["token"] = json!({ "file": http });
    v["remote_ports"][0]["token"] = json!({ "file": rpc });
    v["available_way"] = json!("mongo");
    v["mongo_uri"] = json!({ "file": uri });
    let cfg = config(&v);
    assert_eq!(cfg.rpc.token, Token::new("rpc-secret-from-a-mounted-file-01"));
    assert_eq!(cfg.http.as_ref().unwrap().token, Some(Token::new("http-secret-written-on-windows-1")));
    assert_eq!(cfg.remote_ports[0].token, cfg.rpc.token);
    assert_eq!(
        (cfg.available_way, cfg.mongo_uri.as_deref()),
        (Storage::Mongo, Some(&*std::fs::read_to_string(&uri).unwrap()))
    );
    let shown = format!("{cfg:?}");
    for secret in ["rpc-secret", "http-secret", "hunter2"] {
        assert!(!shown.contains(secret), "Debug shows {secret}: {shown}");
    }
}

#[test]
fn plain_strings_still_work_as_in_obespoir() {
    let cfg = config(&service());
    assert_eq!(cfg.rpc.token, Token::new(TOKEN));
}

#[test]
fn a_missing_source_is_an_error_of_the_field_naming_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent").to_str().unwrap().to_owned();
    let empty = secret_file(dir.path(), "empty", "\n");
    let cases = [
        ("rpc.token", json!({ "env": UNSET }), format!("environment variable {UNSET} is not set")),
        ("rpc.token", json!({ "file": missing }), format!("secret file {missing}: ")),
        ("rpc.token", json!({ "file": empty }), "is empty".to_owned()),
        ("rpc.token", json!({ "file": "relative/token" }), "must be an absolute path".to_owned()),
        ("rpc.token", json!({ "env": "" }), "is not an environment variable name".to_owned()),
        ("rpc.token", json!({ "vault": "x" }), r#"a string, {"env": "VARIABLE"} or {"file""#.to_owned()),
        ("rpc.token", json!({ "env": "A", "file": "/b" }), r#"{"env": "VARIABLE"}"#.to_owned()),
        ("rpc.token", json!({}), r#"{"env": "VARIABLE"}"#.to_owned()),
        ("rpc.token", json!(7), "expected a string".to_owned()),
    ];
    for (field, value, needle) in cases {
        let mut v = service();
        v["rpc"]["token"] = value.clone();
        let found = problems(&v);
        assert!(
            found.iter().any(|(f, reason)| f == field && reason.contains(&needle)),
            "{value}: expected {field}: …{needle}…, got {found:?}"
        );
    }
    let mut v = service();
    v["http"]["token"] = json!({ "env": UNSET });
    assert_eq!(problems(&v)[0].0, "http.token");
    let mut v = service();
    v["remote_ports"][0]["token"] = json!({ "env": UNSET });
    assert_eq!(problems(&v)[0].0, "remote_ports[0].token");
    let mut v = service();
    v["mongo_uri"] = json!({ "env": UNSET });
    assert_eq!(problems(&v)[0].0, "mongo_uri");
    let mut v = service();
    v["host"] = json!({ "env": UNSET });
    assert_eq!(problems(&v)[0], ("host".to_owned(), format!("environment variable {UNSET} is not set")));
}

#[test]
fn a_secret_read_from_a_file_is_validated_like_an_inline_one() {
    let dir = tempfile::tempdir().unwrap();
    let short = secret_file(dir.path(), "short", "too-short\n");
    let mut v = service();
    v["rpc"]["token"] = json!({ "file": short });
    let found = problems(&v);
    assert!(found.iter().any(|(f, r)| f == "rpc.token" && r.contains("16")), "{found:?}");
    assert!(!format!("{found:?}").contains("too-short"), "the value is never shown: {found:?}");
}

#[test]
fn an_oversized_secret_file_is_refused_without_reading_it_whole() {
    let dir = tempfile::tempdir().unwrap();
    let huge = secret_file(dir.path(), "huge", &"x".repeat(64 * 1024 + 1));
    let mut v = service();
    v["rpc"]["token"] = json!({ "file": huge });
    assert!(problems(&v).iter().any(|(f, r)| f == "rpc.token" && r.contains("larger than 65536 bytes")));
}

#[test]
fn the_mongodb_bootstrap_file_reads_its_uri_from_a_file_or_names_the_missing_variable() {
    let dir = tempfile::tempdir().unwrap();
    let uri = secret_file(dir.path(), "uri", "mongodb://espoir:hunter2@db1/?replicaSet=rs0\n");
    let text = format!(r#"{{ name: "service_1", available_way: "mongo", mongo_uri: {{ file: "{uri}" }} }}"#);
    let settings =
        MongoSettings::from_bootstrap_str(&text, Path::new("/etc/espoir/s.json5")).unwrap().unwrap();
    assert_eq!(settings.uri, "mongodb://espoir:hunter2@db1/?replicaSet=rs0");
    assert!(!format!("{settings:?}").contains("hunter2"));

    let text = format!(r#"{{ name: "service_1", available_way: "mongo", mongo_uri: {{ env: "{UNSET}" }} }}"#);
    let err = MongoSettings::from_bootstrap_str(&text, Path::new("/etc/espoir/s.json5")).unwrap_err();
    let problem = &err.problems()[0];
    assert_eq!(problem.field, "mongo_uri");
    assert!(problem.reason.contains(UNSET), "{err}");
}

#[test]
fn a_reload_reads_the_secret_file_again() {
    let dir = tempfile::tempdir().unwrap();
    let rpc = secret_file(dir.path(), "rpc", "first-secret-of-the-cluster-0001");
    let mut v = service();
    v["rpc"]["token"] = json!({ "file": rpc });
    let text = v.to_string();
    let first = NodeConfig::from_json5_str(&text, Path::new("s.json5")).unwrap();
    secret_file(dir.path(), "rpc", "rotated-secret-of-the-cluster-02");
    let second = NodeConfig::from_json5_str(&text, Path::new("s.json5")).unwrap();
    assert_eq!(first.rpc.token, Token::new("first-secret-of-the-cluster-0001"));
    assert_eq!(second.rpc.token, Token::new("rotated-secret-of-the-cluster-02"));
}
