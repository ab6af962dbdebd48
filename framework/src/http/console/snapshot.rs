//! `GET /console/api/snapshot`: what the console draws, in one answer, so
//! that its numbers agree with each other: the node and its links, the
//! cluster's members with their states, the node's running totals (the
//! page turns two snapshots into rates), session counts and the last
//! reloads. Counters come from the metrics' own totals, not from parsing
//! the Prometheus text.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::http::admin::{authorize, nodes_view};
use crate::http::server::{HttpRequest, HttpResponse, HttpRoutes};
use crate::node::NodeState;

/// Where the snapshot is served.
pub(crate) const SNAPSHOT_PATH: &str = "/console/api/snapshot";

pub(super) fn routes(shared: &Arc<NodeState>) -> HttpRoutes {
    let node = Arc::downgrade(shared);
    HttpRoutes::new().route(SNAPSHOT_PATH, move |req: HttpRequest| {
        let node = node.clone();
        async move {
            let Some(shared) = node.upgrade() else { return HttpResponse::error(503, "node is stopping") };
            if let Some(refusal) = authorize(&shared, &req) {
                return refusal;
            }
            if req.method != "GET" && req.method != "HEAD" {
                return HttpResponse::error(405, "use GET");
            }
            HttpResponse::json(&snapshot(&shared))
        }
    })
}

/// The snapshot of `shared` now.
pub(crate) fn snapshot(shared: &NodeState) -> Value {
    let mut view = nodes_view(shared);
    let (sessions, users, groups) = shared.sessions.as_ref().map_or((0, 0, 0), |s| s.counts());
    view["node"]["sessions"] = json!(sessions);
    view["node"]["users"] = json!(users);
    view["node"]["groups"] = json!(groups);
    // Members a route's reload evicted: shown as such (still linked, or
    // only remembered), as the route gives them no new work.
    let evicted = shared.cluster.members.evicted();
    if let Some(members) = view["members"].as_array_mut() {
        for member in members.iter_mut() {
            if evicted.iter().any(|id| member["id"] == id.as_str()) {
                member["state"] = json!("evicted");
            }
        }
        let unlisted: Vec<_> =
            evicted.iter().filter(|id| !members.iter().any(|m| m["id"] == id.as_str())).collect();
        for id in unlisted {
            let peer = shared.router.endpoint.links().into_iter().find(|l| l.peer_id() == id);
            // Its type is known only while a link to it remains.
            let node_type = peer.as_ref().map_or("unknown", |l| crate::config::type_name(l.peer_type()));
            members.push(json!({ "id": id.to_string(), "name": "", "type": node_type, "state": "evicted" }));
        }
    }
    let at_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    view["at_ms"] = json!(u64::try_from(at_ms).unwrap_or(u64::MAX));
    view["totals"] = serde_json::to_value(shared.metrics.totals()).unwrap_or(Value::Null);
    view["reloads"] = serde_json::to_value(shared.reload.history.recent()).unwrap_or(Value::Null);
    view["reload_source"] = json!(shared.reload.source().map(|s| s.describe()));
    view
}
