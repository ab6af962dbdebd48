//! Recurring jobs across a cluster: three services of one type declare the
//! same job (in config) behind one route; each tick runs on one of them,
//! and when the node running the ticks dies the survivors carry on. Counts
//! are asserted, never times: a tick a loaded machine fails to claim in
//! time is not run (and counted as unclaimed), but no tick ever runs twice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use espoir::{JobSpec, Node, NodeError, Schedule};
use espoir_testkit::*;

/// Every run: (tick in Unix ms, the node's name).
type Runs = Arc<Mutex<Vec<(i64, String)>>>;

const JOB: &str = r#""jobs": [{"name": "beat", "every": 0.2, "handler": "beat"}],"#;

fn tick_ms(run: &espoir::JobRun) -> i64 {
    i64::try_from(run.scheduled.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()).unwrap()
}

async fn service(name: &str, route_rpc: u16, runs: &Runs) -> TestNode {
    let ports = Ports::bind().await;
    let cfg = config(name, "service", &ports, &[remote(route_rpc, "route")], SERVICE_RULES, JOB);
    let (runs, me) = (Arc::clone(runs), name.to_owned());
    TestNode::start_with(cfg, ports, move |b| {
        b.job_handler("beat", move |run| {
            let (runs, me) = (Arc::clone(&runs), me.clone());
            async move {
                runs.lock().unwrap().push((tick_ms(&run), me));
                Ok(())
            }
        })
    })
    .await
}

fn no_tick_twice(runs: &[(i64, String)]) {
    let mut seen: HashMap<i64, &str> = HashMap::new();
    for (tick, node) in runs {
        if let Some(first) = seen.insert(*tick, node) {
            panic!("tick {tick} ran on {first} and on {node}: {runs:?}");
        }
    }
}

#[tokio::test]
async fn a_job_on_three_nodes_runs_once_per_tick_and_moves_when_its_node_dies() {
    let route_ports = Ports::bind().await;
    let route_rpc = route_ports.rpc_port();
    let route = TestNode::start(
        config("route", "route", &route_ports, &[], ROUTE_RULES, ""),
        route_ports,
        handlers::route_events(),
    )
    .await;
    let runs: Runs = Arc::default();
    let mut nodes = Vec::new();
    for name in ["svc_a", "svc_b", "svc_c"] {
        nodes.push((name.to_owned(), service(name, route_rpc, &runs).await));
    }
    for (_, node) in &nodes {
        route.wait_linked(node).await;
    }
    wait_until("ten ticks ran", async || runs.lock().unwrap().len() >= 10).await;
    no_tick_twice(&runs.lock().unwrap());

    // Kill the node that ran the latest tick; the ticks move to the others.
    let (last_tick, victim) = runs.lock().unwrap().last().cloned().unwrap();
    let (_, dead) = nodes.iter().find(|(name, _)| *name == victim).unwrap();
    dead.stop().await;
    let after_stop = runs.lock().unwrap().len();
    wait_until("ten more ticks ran on the survivors", async || {
        runs.lock().unwrap()[after_stop..].iter().filter(|(_, n)| *n != victim).count() >= 10
    })
    .await;
    let all = runs.lock().unwrap().clone();
    no_tick_twice(&all);
    assert!(
        all[after_stop..].iter().all(|(tick, n)| *n != victim || *tick <= last_tick + 1000),
        "the dead node ran nothing after its death: {all:?}"
    );

    // Observed from outside: the route's ledger and the survivors' counts.
    let (status, body) = admin(&route, "GET", "/jobs").await;
    assert_eq!(status, 200, "{body}");
    let ledger = &body["ledger"][0];
    assert_eq!(ledger["job"], "beat");
    assert!(ledger["granted"].as_u64().unwrap() >= 20, "{body}");
    let (_, survivor) = nodes.iter().find(|(name, _)| *name != victim).unwrap();
    let (status, body) = admin(survivor, "GET", "/jobs").await;
    assert_eq!(status, 200);
    let job = &body["jobs"][0];
    assert_eq!((job["name"].as_str(), job["schedule"].as_str()), (Some("beat"), Some("every 200ms")));
    let ran = job["ticks"]["ran"].as_u64().unwrap_or(0);
    let elsewhere = job["ticks"]["elsewhere"].as_u64().unwrap();
    assert!(elsewhere > 0, "the other nodes took ticks: {body}");
    assert_eq!(survivor.metric(r#"espoir_job_ticks_total{job="beat",outcome="ran"}"#) as u64, ran);
    let (status, _) = http(route.http_addr(), "GET", "/jobs", None).await;
    assert_eq!(status, 401, "the endpoint needs the admin token");
}

#[tokio::test]
async fn a_node_refuses_to_start_when_a_job_names_a_missing_handler() {
    let ports = Ports::bind().await;
    let cfg = config("lonely", "service", &ports, &[], SERVICE_RULES, JOB);
    let shutdown = espoir::Shutdown::new();
    let err = Node::builder(cfg)
        .rpc_listener(ports.rpc)
        .http_listener(ports.http)
        .start(&shutdown)
        .await
        .unwrap_err();
    let NodeError::Setup(err) = err else { panic!("{err}") };
    assert!(
        err.to_string().contains(r#"job "beat" names job handler "beat", which this node does not have"#),
        "{err}"
    );
    // Declared in code, a job needs its handler just the same.
    let ports = Ports::bind().await;
    let cfg = config("lonely", "service", &ports, &[], SERVICE_RULES, "");
    let spec = JobSpec::new("x", Schedule::every(std::time::Duration::from_secs(1)).unwrap(), "nope");
    let err =
        Node::builder(cfg).job(spec).rpc_listener(ports.rpc).http_listener(ports.http).start(&shutdown).await;
    assert!(matches!(err, Err(NodeError::Setup(_))));
}

#[tokio::test]
async fn a_lone_node_runs_its_jobs_and_a_reload_replaces_them_or_keeps_them_saying_why() {
    let dir = temp_dir();
    let path = dir.join("lone.json5");
    let ports = Ports::bind().await;
    let base = config_text("lone", "service", &ports, &[], SERVICE_RULES);
    let with_jobs = |jobs: &str| base.replacen('{', &format!("{{ \"jobs\": [{jobs}],"), 1);
    write_config(&path, &with_jobs(r#"{"name": "beat", "every": 0.2, "handler": "beat"}"#));
    let runs: Runs = Arc::default();
    let recorded = Arc::clone(&runs);
    let node = TestNode::start_file(&path, ports, move |b| {
        let (beat, other) = (Arc::clone(&recorded), Arc::clone(&recorded));
        b.job_handler("beat", move |run| {
            let runs = Arc::clone(&beat);
            async move {
                runs.lock().unwrap().push((tick_ms(&run), "beat".into()));
                Ok(())
            }
        })
        .job_handler("other", move |run| {
            let runs = Arc::clone(&other);
            async move {
                runs.lock().unwrap().push((tick_ms(&run), "other".into()));
                Ok(())
            }
        })
    })
    .await;
    wait_until("the lone node ran ticks (its own ledger)", async || runs.lock().unwrap().len() >= 3).await;

    // A job set naming an unknown handler is refused as a whole.
    write_config(&path, &with_jobs(r#"{"name": "beat", "every": 0.2, "handler": "missing"}"#));
    let report = node.node.reload().await.unwrap();
    let said = report.jobs.unwrap();
    assert!(said.contains("jobs kept unchanged") && said.contains("\"missing\""), "{said}");

    // A valid new set replaces it.
    write_config(&path, &with_jobs(r#"{"name": "other", "every": 0.2, "handler": "other"}"#));
    let report = node.node.reload().await.unwrap();
    assert!(report.changed && report.jobs.unwrap().contains("jobs replaced: now other"));
    let before = runs.lock().unwrap().len();
    wait_until("the new job runs", async || runs.lock().unwrap()[before..].iter().any(|r| r.1 == "other"))
        .await;
    let (status, body) = admin(&node, "GET", "/jobs").await;
    assert_eq!(status, 200);
    let names: Vec<&str> =
        body["jobs"].as_array().unwrap().iter().map(|j| j["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["other"]);
    // An unchanged reload leaves the jobs alone.
    assert_eq!(node.node.reload().await.unwrap().jobs, None);
}

/// A run that never ends holds its job: the other node's claims are
/// refused (the ticks are consumed, not run twice or queued). When the
/// holder dies mid-run, the route releases its grant as abandoned and the
/// survivor gets the next tick.
#[tokio::test]
async fn a_run_in_progress_holds_the_job_until_its_node_dies_then_the_survivor_takes_it() {
    let route_ports = Ports::bind().await;
    let route_rpc = route_ports.rpc_port();
    let route = TestNode::start(
        config("route", "route", &route_ports, &[], ROUTE_RULES, ""),
        route_ports,
        handlers::route_events(),
    )
    .await;
    let runs: Runs = Arc::default();
    let mut nodes = Vec::new();
    for name in ["hold_a", "hold_b"] {
        let ports = Ports::bind().await;
        let job = r#""jobs": [{"name": "hold", "every": 0.2, "handler": "hold"}],"#;
        let cfg = config(name, "service", &ports, &[remote(route_rpc, "route")], SERVICE_RULES, job);
        let (runs, me) = (Arc::clone(&runs), name.to_owned());
        let node = TestNode::start_with(cfg, ports, move |b| {
            b.job_handler("hold", move |run| {
                let (runs, me) = (Arc::clone(&runs), me.clone());
                async move {
                    runs.lock().unwrap().push((tick_ms(&run), me));
                    // Never ends by itself: the node's death ends it.
                    std::future::pending::<()>().await;
                    Ok(())
                }
            })
        })
        .await;
        route.wait_linked(&node).await;
        nodes.push((name, node));
    }
    let ledger = async || admin(&route, "GET", "/jobs").await.1["ledger"][0].clone();
    wait_until("a node holds the job", async || ledger().await["running_tick_ms"].is_i64()).await;
    let holder_id = ledger().await["holder"].as_str().unwrap().to_owned();
    let (holder, other) = if nodes[0].1.node.id().to_string() == holder_id { (0, 1) } else { (1, 0) };
    let (_, status) = admin(&nodes[other].1, "GET", "/jobs").await;
    wait_until("the other node's claims are refused", async || {
        admin(&nodes[other].1, "GET", "/jobs").await.1["jobs"][0]["ticks"]["elsewhere"].as_u64().unwrap_or(0)
            >= 3
    })
    .await;
    assert_eq!(runs.lock().unwrap().len(), 1, "one run holds the job: {:?} {status}", runs.lock().unwrap());

    nodes[holder].1.stop().await;
    wait_until("the survivor takes the job", async || runs.lock().unwrap().len() == 2).await;
    let after = ledger().await;
    assert_eq!(after["holder"].as_str(), Some(nodes[other].1.node.id().to_string().as_str()));
    assert_eq!(after["abandoned"], 1, "{after}");
    let all = runs.lock().unwrap().clone();
    assert_eq!(all[1].1, nodes[other].0);
    assert!(all[1].0 > all[0].0, "a later tick: {all:?}");
}
