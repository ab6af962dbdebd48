//! The close notice reaches every node a session's requests reached,
//! whether those nodes answered them or failed them.

mod session_support;

use std::sync::Arc;

use espoir_testkit::*;
use serde_json::{Value, json};
use session_support::*;

/// Waits for the service's close notice of the session named in `error`
/// (a [`FAIL`] reply's message ends with the session id).
async fn close_notice_of(events: &Events, session: &str) -> Value {
    wait_until("the close notice", async || {
        events.closes.lock().unwrap().iter().any(|(_, body)| body["session"] == session)
    })
    .await;
    let closes = events.closes.lock().unwrap();
    closes.iter().find(|(_, body)| body["session"] == session).map(|(_, body)| body.clone()).unwrap()
}

/// Every request of the session fails, by the handler's error and by a
/// body it cannot decode: the service still hears that the session closed,
/// through a route and with proxies linked to the service directly.
#[tokio::test]
async fn a_session_whose_every_request_failed_still_gets_its_close_notice() {
    for direct in [false, true] {
        let c = cluster_with(1, 1, "", direct).await;
        let mut client = Client::connect(&c.proxies[0].ws_url()).await;
        let (_, refused) = client.request(FAIL, &json!({})).await;
        assert_eq!(refused["code"], 400, "{refused}");
        let session = refused["msg"].as_str().unwrap().rsplit(' ').next().unwrap().to_owned();
        let (_, undecodable) = client.request(LOGIN, &json!({ "not_uid": 1 })).await;
        assert_eq!(undecodable["code"], 400, "{undecodable}");

        client.close().await;
        let notice = close_notice_of(&c.events[0], &session).await;
        assert_eq!(notice["reason"], "closed", "direct: {direct}: {notice}");
    }
}

/// A request the proxy gave up on (its `rpc.call_timeout` passed) reached
/// the service, which may have run it: the service gets the close notice.
#[tokio::test]
async fn a_session_whose_request_timed_out_still_gets_its_close_notice() {
    let ports = Ports::bind().await;
    let cfg = config("service", "service", &ports, &[], SERVICE_RULES, "");
    let seen = Arc::new(Events::default());
    let state = Arc::clone(&seen);
    let service = TestNode::start_with(cfg, ports, |b| b.events(service_events()).state(state)).await;
    let ports = Ports::bind().await;
    let remotes = [remote(service.node.addresses().rpc.unwrap().port(), "service")];
    let rules = format!(r#", "call_timeout": 0.2 {SERVICE_RULES}"#);
    let proxy = TestNode::start(
        config("proxy", "proxy", &ports, &remotes, &rules, ""),
        ports,
        espoir::EventTable::new(),
    )
    .await;
    proxy.wait_linked(&service).await;

    let mut client = Client::connect(&proxy.ws_url()).await;
    let (_, timed_out) = client.request(HANG, &json!({})).await;
    assert_eq!(timed_out["code"], 408, "{timed_out}");
    seen.release.notify_one();
    client.close().await;
    wait_until("the close notice", async || seen.closes.lock().unwrap().len() == 1).await;
    let (node, notice) = seen.closes.lock().unwrap()[0].clone();
    assert_eq!(node, service.node.id().to_string());
    assert_eq!(notice["reason"], "closed", "{notice}");
}
