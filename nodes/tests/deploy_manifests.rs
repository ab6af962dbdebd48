//! The deployment files of docs/deploy agree with the node configs and the
//! code: the Kubernetes manifests (parsed with PyYAML) run every config
//! with the probes on its admin port, its ports, the variables it reads and
//! a pod grace period longer than the drain's; the systemd unit passes
//! `systemd-analyze verify` and waits longer than its drain; the Dockerfile
//! builds this workspace's binary with its toolchain.
//!
//! Nothing here talks to a Kubernetes API server or a Docker daemon:
//! neither exists on the machines that run the tests (docs/deployment.md
//! says what is and is not tested).

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use espoir_testkit::test_dependency;
use serde_json::Value;

/// Seconds a node may take to stop beyond `--grace`: the links and
/// listeners close within a second after the drain (`cluster::drain`), the
/// rest is margin for a loaded machine.
const STOP_MARGIN: u64 = 5;

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("docs/deploy")
}

/// Every YAML document of `file`, as JSON.
fn yaml(python: &str, file: &Path) -> Vec<Value> {
    let script = "import sys, json, yaml\nprint(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))";
    let out = Command::new(python).arg("-c").arg(script).arg(file).output().unwrap();
    assert!(out.status.success(), "{}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn json5(file: &Path) -> Value {
    serde_json5::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
}

/// The `--grace` seconds of a command line.
fn grace(args: &[&str]) -> u64 {
    let at = args.iter().position(|a| *a == "--grace").expect("--grace is given, not left to its default");
    args[at + 1].parse().unwrap()
}

fn strs(v: &Value) -> Vec<&str> {
    v.as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect()
}

/// The variables a config reads (`{"env": …}` anywhere in it).
fn variables(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            if let (1, Some(Value::String(name))) = (map.len(), map.get("env")) {
                out.insert(name.clone());
            }
            map.values().for_each(|v| variables(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| variables(v, out)),
        _ => {}
    }
}

/// Checks one Deployment against the config it runs; returns the role.
fn check_deployment(deployment: &Value, configs: &Path) -> String {
    let name = deployment["metadata"]["name"].as_str().unwrap();
    let pod = &deployment["spec"]["template"]["spec"];
    let containers = pod["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1, "{name}: one node per pod");
    let c = &containers[0];
    let args = strs(&c["args"]);
    assert_eq!(args[0], "node", "{name}: {args:?}");
    let file = args[1].strip_prefix("/etc/espoir/").expect("the config from the mounted ConfigMap");
    let config = json5(&configs.join(file));
    let role = config["type"].as_str().unwrap().to_owned();
    assert_eq!(name, format!("espoir-{role}"), "one Deployment per role, named after it");

    // The kubelet's SIGKILL comes after the drain could have ended.
    let period = pod["terminationGracePeriodSeconds"].as_u64().expect("a grace period");
    assert!(period >= grace(&args) + STOP_MARGIN, "{name}: {period} s for --grace {}", grace(&args));

    // Ports: the container's are the config's, and the probes use the
    // admin port without a token (they are open).
    let port = |named: &str| {
        let ports = c["ports"].as_array().unwrap();
        ports.iter().find(|p| p["name"] == named).map(|p| p["containerPort"].as_u64().unwrap())
    };
    for (section, named) in [("websocket", "websocket"), ("http", "http"), ("rpc", "rpc")] {
        assert_eq!(port(named), config[section]["port"].as_u64(), "{name}: {section} port");
    }
    for (probe, path) in [("readinessProbe", "/ready"), ("livenessProbe", "/health")] {
        let get = &c[probe]["httpGet"];
        assert_eq!(
            (get["path"].as_str(), get["port"].as_str()),
            (Some(path), Some("http")),
            "{name}: {probe}"
        );
        assert!(get.get("httpHeaders").is_none(), "{name}: probes carry no token");
    }

    // Every variable the config reads is set, POD_IP from the pod's own
    // address (what peers reach it at).
    let mut wanted = BTreeSet::new();
    variables(&config, &mut wanted);
    let env = c["env"].as_array().unwrap();
    let given: BTreeSet<String> = env.iter().map(|e| e["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(given, wanted, "{name}: the variables its config reads");
    for e in env {
        let from = &e["valueFrom"];
        match e["name"].as_str().unwrap() {
            "POD_IP" => assert_eq!(from["fieldRef"]["fieldPath"], "status.podIP"),
            other => assert!(from["secretKeyRef"]["name"].is_string(), "{name}: {other} from a Secret"),
        }
    }
    assert_eq!(config["bind"], "0.0.0.0", "{name}: listens on the pod's interfaces");

    let mounts = c["volumeMounts"].as_array().unwrap();
    let mount = mounts.iter().find(|m| m["mountPath"] == "/etc/espoir").expect("the config mounted");
    let volume = pod["volumes"].as_array().unwrap().iter().find(|v| v["name"] == mount["name"]).unwrap();
    assert_eq!(volume["configMap"]["name"], "espoir-config", "{name}");
    role
}

#[test]
fn the_kubernetes_manifests_run_every_config_with_open_probes_and_a_grace_period_longer_than_the_drain() {
    let Some(python) = test_dependency("ESPOIR_YAML_PYTHON", "a python3 with PyYAML") else { return };
    let dir = deploy().join("kubernetes");
    let configs = dir.join("config");
    let kustomization = &yaml(&python, &dir.join("kustomization.yaml"))[0];

    // The ConfigMap is made of exactly the config files.
    let generator = &kustomization["configMapGenerator"][0];
    assert_eq!(generator["name"], "espoir-config");
    let listed: BTreeSet<&str> = strs(&generator["files"]).into_iter().collect();
    let on_disk: BTreeSet<String> = std::fs::read_dir(&configs)
        .unwrap()
        .map(|e| format!("config/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    assert_eq!(listed, on_disk.iter().map(String::as_str).collect(), "every config, and only those");

    let mut roles = Vec::new();
    let mut services = Vec::new();
    for resource in strs(&kustomization["resources"]) {
        for doc in yaml(&python, &dir.join(resource)) {
            match doc["kind"].as_str().unwrap() {
                "Deployment" => roles.push(check_deployment(&doc, &configs)),
                "Service" => services.push(doc),
                other => panic!("{resource}: unexpected {other}"),
            }
        }
    }
    roles.sort();
    assert_eq!(roles, ["proxy", "route", "service"], "one Deployment per role");

    // Clients reach the proxies' websockets through a load balancer.
    let service = |name: &str| services.iter().find(|s| s["metadata"]["name"] == name).unwrap();
    let proxy = json5(&configs.join("proxy.json5"));
    let lb = &service("espoir-proxy")["spec"];
    assert_eq!(lb["type"], "LoadBalancer");
    assert_eq!(lb["selector"]["app.kubernetes.io/name"], "espoir-proxy");
    assert_eq!(
        (lb["ports"][0]["port"].as_u64(), lb["ports"][0]["targetPort"].as_str()),
        (proxy["websocket"]["port"].as_u64(), Some("websocket"))
    );

    // The route's Service name is its `host` (its id) and what every other
    // node lists; it forwards the route's RPC port.
    let route = json5(&configs.join("route.json5"));
    let host = route["host"].as_str().unwrap();
    let rpc = &service(host)["spec"];
    assert_eq!(rpc["selector"]["app.kubernetes.io/name"], "espoir-route");
    assert_eq!(rpc["ports"][0]["port"], route["rpc"]["port"]);
    for file in ["proxy.json5", "service.json5"] {
        let remote = &json5(&configs.join(file))["remote_ports"][0];
        assert_eq!((remote["host"].as_str(), &remote["port"]), (Some(host), &route["rpc"]["port"]), "{file}");
    }
}

/// `systemd-analyze verify` of `unit` in a scratch root that has the
/// system's units and an executable where the unit runs `espoir`; what it
/// printed (nothing when the unit is sound).
fn verify(analyze: &str, unit: &str) -> String {
    let root = tempfile::tempdir().unwrap();
    let units = ["/usr/lib/systemd/system", "/lib/systemd/system"]
        .into_iter()
        .find(|d| Path::new(d).join("multi-user.target").exists())
        .expect("the system's units");
    let copy = root.path().join("usr/lib/systemd/system");
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(units).unwrap() {
        let entry = entry.unwrap();
        // Aliases are links: copied as the file they name.
        if entry.path().is_file() {
            std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
        }
    }
    let bin = root.path().join("usr/local/bin");
    std::fs::create_dir_all(&bin).unwrap();
    // Only its being executable is checked.
    std::fs::write(bin.join("espoir"), "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(bin.join("espoir"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = root.path().join("etc/systemd/system/espoir@.service");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, unit).unwrap();
    let out = Command::new(analyze)
        .arg(format!("--root={}", root.path().display()))
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.success() { printed } else { format!("exit {}: {printed}", out.status) }
}

#[test]
fn the_systemd_unit_verifies_and_waits_longer_than_its_drain() {
    let Some(analyze) = test_dependency("ESPOIR_SYSTEMD_ANALYZE", "systemd-analyze (Debian package systemd)")
    else {
        return;
    };
    let unit = std::fs::read_to_string(deploy().join("systemd/espoir@.service")).unwrap();
    assert_eq!(verify(&analyze, &unit), "", "systemd-analyze verify finds nothing to say");
    // The check can fail: a mistyped value is reported.
    let broken = verify(&analyze, &unit.replace("KillMode=mixed", "KillMode=gently"));
    assert!(broken.contains("kill mode") && broken.contains("gently"), "{broken}");

    let line = |key: &str| unit.lines().find_map(|l| l.strip_prefix(key)).unwrap_or_else(|| panic!("{key}"));
    let start: Vec<&str> = line("ExecStart=").split_whitespace().collect();
    assert_eq!(&start[..2], ["/usr/local/bin/espoir", "node"]);
    let stop: u64 = line("TimeoutStopSec=").parse().unwrap();
    assert!(stop >= grace(&start) + STOP_MARGIN, "TimeoutStopSec={stop} for --grace {}", grace(&start));
    assert_eq!(line("KillSignal="), "SIGTERM", "SIGTERM drains");
}

#[test]
fn the_dockerfile_builds_this_workspaces_binary_with_its_toolchain() {
    let text = std::fs::read_to_string(deploy().join("Dockerfile")).unwrap();
    let arg = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("ARG {name}=")))
            .unwrap_or_else(|| panic!("ARG {name}"))
    };
    let manifest = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    assert!(manifest.contains(&format!("name = \"{}\"", arg("PACKAGE"))), "PACKAGE is this package");
    assert!(manifest.contains(&format!("name = \"{}\"", arg("BIN"))), "BIN is its binary");
    let workspace = std::fs::read_to_string(deploy().join("../../Cargo.toml")).unwrap();
    assert!(
        workspace.contains(&format!("rust-version = \"{}\"", arg("RUST_VERSION"))),
        "the workspace's rust-version"
    );
    // The node handles SIGTERM itself as PID 1, and runs as a user.
    assert!(text.contains("ENTRYPOINT [\"/usr/local/bin/espoir\"]") && text.contains("STOPSIGNAL SIGTERM"));
    assert!(text.contains("USER 10001"), "not root");
    let cmd = text.lines().find_map(|l| l.strip_prefix("CMD ")).unwrap();
    let cmd: Vec<String> = serde_json::from_str(cmd).unwrap();
    assert_eq!(cmd[0], "node");
    grace(&cmd.iter().map(String::as_str).collect::<Vec<_>>());
}
