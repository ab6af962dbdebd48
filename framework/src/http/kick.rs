//! `POST /sessions/kick` on a node's HTTP port: operators kick a session or
//! every session of a user, from any node of the cluster.
//!
//! Guarded by `Authorization: Bearer <http.token>`, compared in constant
//! time. Without an `http.token` the endpoint answers 403: an admin action
//! is never open by default.

use std::sync::{Arc, Weak};

use serde::Deserialize;
use serde_json::json;

use super::admin::authorize;
use super::server::{HttpRequest, HttpResponse, HttpRoutes};
use crate::id::SessionId;
use crate::node::NodeState;
use crate::session::{Member, SessionRequest};
use crate::sessions;

/// Where the kick endpoint is served.
pub(crate) const KICK_PATH: &str = "/sessions/kick";

/// The admin session routes of a node.
pub(crate) fn routes(shared: &Arc<NodeState>) -> HttpRoutes {
    let node = Arc::downgrade(shared);
    HttpRoutes::new().route(KICK_PATH, move |req| kick(node.clone(), req))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KickRequest {
    #[serde(default)]
    session: Option<String>,
    #[serde(default)]
    uid: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

async fn kick(node: Weak<NodeState>, req: HttpRequest) -> HttpResponse {
    let Some(shared) = node.upgrade() else { return HttpResponse::error(503, "node is stopping") };
    if let Some(refusal) = authorize(&shared, &req) {
        return refusal;
    }
    if req.method != "POST" {
        return HttpResponse::error(405, "use POST");
    }
    let body: KickRequest = match serde_json::from_slice(&req.body) {
        Ok(body) => body,
        Err(err) => {
            return HttpResponse::error(
                400,
                &format!("body must be {{\"session\"|\"uid\", \"reason\"}}: {err}"),
            );
        }
    };
    let reason = body.reason.unwrap_or_else(|| "kicked by an operator".to_owned());
    match (body.session, body.uid) {
        (Some(session), None) => {
            let session = match SessionId::parse(&session) {
                Ok(session) => session,
                Err(err) => return HttpResponse::error(400, &err.to_string()),
            };
            tracing::info!(%session, %reason, "operator kick");
            let request = SessionRequest::Kick { target: Member::Session(session.clone()), reason };
            match sessions::session_call(&shared, request).await {
                Ok(()) => HttpResponse::json(&json!({ "code": 200, "kicked": session.to_string() })),
                Err(status) => {
                    let code = u16::try_from(status.code().as_u32()).ok().filter(|c| (400..600).contains(c));
                    HttpResponse::error(code.unwrap_or(500), status.message())
                }
            }
        }
        (None, Some(uid)) => {
            tracing::info!(%uid, %reason, "operator kick of a user");
            match sessions::session_send(
                &shared,
                SessionRequest::Kick { target: Member::User(uid.clone()), reason },
                None,
            ) {
                // Every proxy is told; none answers, so this is "accepted".
                Ok(()) => HttpResponse::json_status(202, &json!({ "code": 202, "uid": uid })),
                Err(status) => HttpResponse::error(503, status.message()),
            }
        }
        _ => HttpResponse::error(400, "give exactly one of \"session\" and \"uid\""),
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::secure::Token;

    fn request(auth: Option<&str>) -> HttpRequest {
        HttpRequest {
            method: "POST".into(),
            path: KICK_PATH.into(),
            query: None,
            headers: auth.map(|a| ("authorization".to_owned(), a.to_owned())).into_iter().collect(),
            body: Bytes::new(),
        }
    }

    #[test]
    fn only_the_exact_bearer_token_is_accepted() {
        let token = Token::from("helloworldiloveyou~1234567890123");
        assert!(request(Some("Bearer helloworldiloveyou~1234567890123")).bearer_matches(&token));
        assert!(request(Some("bearer helloworldiloveyou~1234567890123")).bearer_matches(&token));
        for bad in
            [None, Some("Bearer"), Some("Bearer wrong"), Some("Basic helloworldiloveyou~1234567890123")]
        {
            assert!(!request(bad).bearer_matches(&token), "{bad:?}");
        }
        assert!(!request(Some("Bearer helloworldiloveyou~123456789012")).bearer_matches(&token));
    }
}
