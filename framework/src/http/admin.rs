//! The admin endpoints, served on the node's HTTP port next to the
//! application's own routes (admin paths win over same-named user routes).
//!
//! | path | method | auth | answers |
//! |---|---|---|---|
//! | `/health` | GET | open | liveness: 200 while the node serves HTTP |
//! | `/ready` | GET | open | 200 when every configured peer is linked and the node is not draining, else 503 |
//! | `/nodes` | GET | token | this node, its links, its dialed peers, the members it knows |
//! | `/metrics` | GET | token | OpenMetrics or Prometheus text, by `Accept` |
//! | `/update_remote_rpc_config` | POST | token | re-reads the config source and applies it |
//! | `/drain` | POST | token | starts draining (`?grace=SECONDS`, default 10) |
//! | `/publish` | POST | token | publishes a batch of topic messages (`publish.rs`) |
//!
//! Admin calls need `Authorization: Bearer <http.token>`, compared in
//! constant time ([`HttpRequest::bearer_matches`]). A node without
//! `http.token` answers 403 on every admin path but the probes.
//!
//! The probes (`/health`, `/ready`) are open, because an orchestrator's
//! probe carries no token. Without the token they say only up/ready and
//! draining; with it they add the node's identity and which peers
//! readiness waits for.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::{Value, json};
use tracing::Instrument as _;

use super::server::{HttpRequest, HttpResponse, HttpRoutes};
use crate::cluster;
use crate::config::type_name;
use crate::metrics::Exposition;
use crate::node::NodeState;
use crate::proto::MemberState;
use crate::reload::{self, ReloadError};
use crate::transport::Direction;

/// Grace period of `POST /drain` without `?grace=`; the same as `espoir up`'s.
pub(crate) const DEFAULT_DRAIN_GRACE: Duration = Duration::from_secs(10);

/// Longest grace `POST /drain` accepts, so a typo cannot pin a node for days.
const MAX_DRAIN_GRACE: Duration = Duration::from_secs(3600);

type Handler = fn(Arc<NodeState>, HttpRequest) -> BoxFuture<'static, HttpResponse>;

/// The admin paths of a node.
pub(crate) const PATHS: [&str; 7] =
    ["/health", "/ready", "/nodes", "/metrics", "/update_remote_rpc_config", "/drain", "/publish"];

/// The admin routes of `shared`.
pub(crate) fn routes(shared: &Arc<NodeState>) -> HttpRoutes {
    let table: [(&str, &'static str, bool, Handler); 7] = [
        ("/health", "GET", true, |s, req| Box::pin(async move { health(&s, &req) })),
        ("/ready", "GET", true, |s, req| Box::pin(async move { ready(&s, &req) })),
        ("/nodes", "GET", false, |s, _| Box::pin(async move { nodes(&s) })),
        ("/metrics", "GET", false, |s, req| Box::pin(async move { metrics(&s, &req) })),
        ("/update_remote_rpc_config", "POST", false, |s, _| Box::pin(async move { update(&s).await })),
        ("/drain", "POST", false, |s, req| Box::pin(async move { start_drain(&s, &req) })),
        ("/publish", "POST", false, |s, req| {
            Box::pin(async move { super::publish::publish_batch(&s, &req) })
        }),
    ];
    let mut routes = HttpRoutes::new();
    for (path, method, open, handler) in table {
        let shared = Arc::clone(shared);
        routes = routes.route(path, move |req: HttpRequest| {
            let shared = Arc::clone(&shared);
            async move {
                if req.method != method && !(method == "GET" && req.method == "HEAD") {
                    return HttpResponse::error(405, &format!("use {method}"));
                }
                if !open && let Some(refusal) = authorize(&shared, &req) {
                    return refusal;
                }
                handler(shared, req).await
            }
        });
    }
    routes
}

/// `None` when the request carries the node's admin token.
pub(super) fn authorize(shared: &NodeState, req: &HttpRequest) -> Option<HttpResponse> {
    let Some(token) = shared.config.http.as_ref().and_then(|h| h.token.as_ref()) else {
        return Some(HttpResponse::error(403, "admin API disabled: this node has no http.token"));
    };
    if req.bearer_matches(token) {
        return None;
    }
    shared.metrics.admin_auth_failure();
    // Never log the presented value: it may be a near-miss of the secret.
    tracing::warn!(path = %req.path, presented = req.header("authorization").is_some(),
        "admin request refused: missing or wrong bearer token");
    Some(HttpResponse::error(401, "missing or wrong bearer token (Authorization: Bearer <http.token>)"))
}

/// Whether an open endpoint may add details: the request carries the
/// token. A probe without one is normal, so nothing is counted or logged.
fn detailed(shared: &NodeState, req: &HttpRequest) -> bool {
    shared.config.http.as_ref().and_then(|h| h.token.as_ref()).is_some_and(|token| req.bearer_matches(token))
}

fn identity(shared: &NodeState) -> Value {
    json!({
        "id": shared.id().to_string(),
        "name": shared.config.name,
        "type": type_name(shared.node_type()),
        "draining": shared.cluster.drain.is_draining(),
    })
}

fn health(shared: &NodeState, req: &HttpRequest) -> HttpResponse {
    let mut body = if detailed(shared, req) {
        identity(shared)
    } else {
        json!({ "draining": shared.cluster.drain.is_draining() })
    };
    body["status"] = json!("ok");
    HttpResponse::json(&body)
}

fn ready(shared: &NodeState, req: &HttpRequest) -> HttpResponse {
    let waiting: Vec<Value> = shared
        .cluster
        .peers
        .all()
        .into_iter()
        .filter(|p| p.origin == crate::cluster::PeerOrigin::Config && !p.is_up())
        .map(|p| json!({ "id": p.id.to_string(), "type": type_name(p.node_type), "state": p.state_name() }))
        .collect();
    let draining = shared.cluster.drain.is_draining();
    let ready = waiting.is_empty() && !draining;
    let mut body = json!({ "ready": ready, "draining": draining });
    if detailed(shared, req) {
        body["waiting_for"] = json!(waiting);
    }
    HttpResponse::json_status(if ready { 200 } else { 503 }, &body)
}

fn nodes(shared: &NodeState) -> HttpResponse {
    HttpResponse::json(&nodes_view(shared))
}

/// What `GET /nodes` answers: this node, its links, dialed peers, members.
pub(super) fn nodes_view(shared: &NodeState) -> Value {
    let links: Vec<Value> = shared
        .router
        .endpoint
        .links()
        .into_iter()
        .map(|l| {
            json!({
                "peer": l.peer_id().to_string(),
                "type": type_name(l.peer_type()),
                "direction": if l.direction() == Direction::Outbound { "outbound" } else { "inbound" },
                "remote": l.remote_addr().to_string(),
                "lane": l.lane().index,
                "lanes": l.lane().count,
                "messages_sent": l.messages_sent(),
                "messages_received": l.messages_received(),
                "encrypted": l.encrypted(),
                "draining": shared.cluster.members.is_draining(l.peer_id()),
            })
        })
        .collect();
    let peers: Vec<Value> = shared
        .cluster
        .peers
        .all()
        .into_iter()
        .map(|p| {
            let spec = p.link.spec();
            let mut v = json!({
                "id": p.id.to_string(), "host": spec.host, "port": spec.port, "type": type_name(p.node_type),
                "origin": p.origin.as_str(), "state": p.state_name(),
            });
            if let crate::transport::PeerState::Down { error, failures } = p.link.state() {
                v["error"] = json!(error);
                v["failures"] = json!(failures);
            }
            v
        })
        .collect();
    let members: Vec<Value> = shared
        .cluster.members
        .known()
        .into_iter()
        .map(|m| {
            json!({
                "id": m.node_id, "name": m.name, "type": type_name(m.node_type()), "host": m.host, "port": m.port,
                "state": if m.state() == MemberState::Draining { "draining" } else { "active" },
            })
        })
        .collect();
    let mut body = json!({ "node": identity(shared), "links": links, "peers": peers, "members": members });
    body["node"]["sessions"] = json!(shared.sessions.as_ref().map_or(0, |s| s.len()));
    body["node"]["in_flight"] = json!(shared.cluster.drain.in_flight());
    body
}

/// The metrics in the format the scraper's `Accept` prefers.
fn metrics(shared: &NodeState, req: &HttpRequest) -> HttpResponse {
    let format = Exposition::negotiate(req.header("accept"));
    HttpResponse {
        status: 200,
        content_type: format.content_type().into(),
        body: shared.metrics.encode_as(format).into(),
    }
}

async fn update(shared: &Arc<NodeState>) -> HttpResponse {
    match reload::reload(shared).await {
        Ok(report) => HttpResponse::json(&serde_json::to_value(&report).unwrap_or(Value::Null)),
        Err(err @ ReloadError::NoSource) => HttpResponse::error(409, &err.to_string()),
        Err(err) => {
            let status = if err.is_invalid_config() { 400 } else { 503 };
            let problems: Vec<Value> = match &err {
                ReloadError::Config(config) => config
                    .problems()
                    .into_iter()
                    .map(|p| json!({ "file": p.file.display().to_string(), "field": p.field, "reason": p.reason }))
                    .collect(),
                ReloadError::NoSource => Vec::new(),
            };
            let msg = format!("config not applied; the running config is kept: {err}");
            HttpResponse::json_status(status, &json!({ "code": status, "msg": msg, "problems": problems }))
        }
    }
}

/// `?grace=SECONDS` from the query string.
fn grace(req: &HttpRequest) -> Result<Duration, String> {
    let Some(query) = req.query.as_deref() else { return Ok(DEFAULT_DRAIN_GRACE) };
    let Some(value) = query.split('&').find_map(|kv| kv.strip_prefix("grace=")) else {
        return Ok(DEFAULT_DRAIN_GRACE);
    };
    let secs: f64 = value.parse().map_err(|_| format!("grace={value} is not a number of seconds"))?;
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| *d <= MAX_DRAIN_GRACE)
        .ok_or_else(|| format!("grace must be between 0 and {} seconds", MAX_DRAIN_GRACE.as_secs()))
}

fn start_drain(shared: &Arc<NodeState>, req: &HttpRequest) -> HttpResponse {
    let grace = match grace(req) {
        Ok(g) => g,
        Err(msg) => return HttpResponse::error(400, &msg),
    };
    let already = shared.cluster.drain.is_draining();
    if !already {
        // Not a task of the node: draining ends by stopping the node, which
        // waits for the node's tasks.
        let node = Arc::clone(shared);
        tokio::spawn(async move { cluster::drain(&node, grace).await }.in_current_span());
    }
    let body = json!({
        "draining": true, "already_draining": already, "grace_secs": grace.as_secs_f64(),
        "in_flight": shared.cluster.drain.in_flight(),
    });
    HttpResponse::json_status(202, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(query: Option<&str>) -> HttpRequest {
        HttpRequest {
            method: "POST".into(),
            path: "/drain".into(),
            query: query.map(str::to_owned),
            headers: Vec::new(),
            body: bytes::Bytes::new(),
        }
    }

    #[test]
    fn drain_grace_comes_from_the_query_and_is_bounded() {
        assert_eq!(grace(&req(None)), Ok(DEFAULT_DRAIN_GRACE));
        assert_eq!(grace(&req(Some("x=1&grace=2.5"))), Ok(Duration::from_millis(2500)));
        assert!(grace(&req(Some("grace=soon"))).is_err());
        assert!(grace(&req(Some("grace=-1"))).is_err());
        assert!(grace(&req(Some("grace=99999"))).is_err());
    }
}
