//! `GET /jobs` on a node's HTTP port: the node's recurring jobs (schedule,
//! next tick, last run, missed ticks, counts) and, on a route, the claim
//! ledger it keeps for the cluster. Guarded by the admin token.

use std::sync::{Arc, Weak};

use serde_json::json;

use super::admin::authorize;
use super::server::{HttpRequest, HttpResponse, HttpRoutes};
use crate::node::NodeState;

/// Where the jobs endpoint is served.
pub(crate) const JOBS_PATH: &str = "/jobs";

/// The jobs route of a node.
pub(crate) fn routes(shared: &Arc<NodeState>) -> HttpRoutes {
    let node = Arc::downgrade(shared);
    HttpRoutes::new().route(JOBS_PATH, move |req| jobs(node.clone(), req))
}

async fn jobs(node: Weak<NodeState>, req: HttpRequest) -> HttpResponse {
    let Some(shared) = node.upgrade() else { return HttpResponse::error(503, "node is stopping") };
    if let Some(refusal) = authorize(&shared, &req) {
        return refusal;
    }
    if req.method != "GET" && req.method != "HEAD" {
        return HttpResponse::error(405, "use GET");
    }
    let ledger: Vec<serde_json::Value> = shared
        .jobs
        .ledger
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .records()
        .into_iter()
        .map(|(name, r)| {
            json!({
                "job": name,
                "last_tick_ms": r.last_tick,
                "holder": r.holder.map(|h| h.to_string()),
                "running_tick_ms": r.running,
                "granted": r.granted,
                "abandoned": r.abandoned,
            })
        })
        .collect();
    HttpResponse::json(&json!({
        "node": shared.id().to_string(),
        "jobs": shared.jobs.board.snapshot(),
        "ledger": ledger,
    }))
}
