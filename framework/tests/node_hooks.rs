//! Start hooks and setup errors of `NodeBuilder`.

use espoir::{Node, NodeError, NodeType};
use espoir_testkit::*;

#[tokio::test]
async fn start_hooks_get_a_context_of_the_running_node_in_order() {
    let ports = Ports::bind().await;
    let cfg = config("svc", "service", &ports, &[], "", r#""app": {"demo": {"answer": 42}}"#);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let tx2 = tx.clone();
    let builder = Node::builder(cfg).state(7u32);
    assert_eq!(builder.config().app["demo"]["answer"], 42, "groups read their app settings");
    let shutdown = espoir::Shutdown::new();
    let node = builder
        .on_start(move |ctx, shutdown| {
            let _ = tx.send((1, ctx.node_id().clone(), ctx.node_type(), *ctx.state::<u32>().unwrap()));
            assert!(!shutdown.is_triggered());
        })
        .on_start(move |ctx, _| {
            let _ = tx2.send((2, ctx.node_id().clone(), ctx.node_type(), 0));
        })
        .rpc_listener(ports.rpc)
        .http_listener(ports.http)
        .start(&shutdown)
        .await
        .expect("node starts");
    let first = rx.recv().await.unwrap();
    assert_eq!(first, (1, node.id().clone(), NodeType::Service, 7));
    assert_eq!(rx.recv().await.unwrap().0, 2);
    shutdown.finish(WAIT).await;
}

#[tokio::test]
async fn a_recorded_setup_error_stops_the_node_before_it_serves() {
    let ports = Ports::bind().await;
    let cfg = config("svc", "service", &ports, &[], "", "");
    let shutdown = espoir::Shutdown::new();
    let hook_ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = std::sync::Arc::clone(&hook_ran);
    let err = Node::builder(cfg)
        .fail("the store at /nowhere does not open")
        .fail("a second error is ignored")
        .on_start(move |_, _| flag.store(true, std::sync::atomic::Ordering::SeqCst))
        .rpc_listener(ports.rpc)
        .start(&shutdown)
        .await
        .expect_err("setup failed");
    assert!(matches!(err, NodeError::Setup(_)));
    assert_eq!(err.to_string(), "node setup failed: the store at /nowhere does not open");
    assert!(!hook_ran.load(std::sync::atomic::Ordering::SeqCst));
}
