//! `host` and `bind`: the announced address (part of the id) and the
//! address the listeners bind.

use serde_json::json;

use crate::config::test_support::{assert_problem, config, problems, service};
use crate::id::NodeId;

#[test]
fn without_bind_the_listeners_bind_host_as_in_obespoir() {
    let cfg = config(&service());
    assert_eq!((cfg.bind, cfg.bind_host()), (None, "127.0.0.1".to_owned()));
    assert_eq!(cfg.node_id(), NodeId::of("127.0.0.1", 22002));
}

#[test]
fn bind_moves_the_listeners_but_not_the_id() {
    let mut v = service();
    v["host"] = json!("10.1.2.3");
    v["bind"] = json!("0.0.0.0");
    let cfg = config(&v);
    assert_eq!(cfg.bind_host(), "0.0.0.0");
    assert_eq!(cfg.node_id(), NodeId::of("10.1.2.3", 22002), "the id follows the announced host");
    v["bind"] = json!("::");
    assert_eq!(config(&v).bind_host(), "::");
    // Two containers that both bind 0.0.0.0 keep distinct ids.
    v["host"] = json!("10.1.2.4");
    assert_ne!(config(&v).node_id(), cfg.node_id());
}

#[test]
fn bind_must_be_an_ip_address() {
    for bad in [json!("example.com"), json!("0.0.0.0:80"), json!(""), json!(1)] {
        let mut v = service();
        v["bind"] = bad.clone();
        let found = problems(&v);
        assert_eq!(found[0].0, "bind", "{bad}: {found:?}");
    }
}

#[test]
fn an_unspecified_host_is_refused_and_the_message_points_to_bind() {
    for host in ["0.0.0.0", "::"] {
        let mut v = service();
        v["host"] = json!(host);
        v["bind"] = json!(host);
        assert_problem(&v, "host", "cannot be dialed");
        assert_problem(&v, "host", &format!(r#"set "bind": "{host}""#));
    }
}
