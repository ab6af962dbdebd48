//! The admin API (the seed's gm) on the service node's HTTP port.
//!
//! Every request needs `Authorization: Bearer <http.token>`; a node without
//! `http.token` refuses them all. Bodies are JSON; errors carry the app's
//! numeric codes (`{"code": 6011, "msg": "..."}`) with an HTTP status.
//!
//! | method and path | body | does |
//! |---|---|---|
//! | `GET /gm/matches` | | every match, unapproved ones too |
//! | `POST /gm/matches` | a new match | creates it (state 0) |
//! | `POST /gm/matches/{id}/approve` | | 0 → 1, listed |
//! | `POST /gm/matches/{id}/open` | | 1 → 2 |
//! | `POST /gm/matches/{id}/stop` | | 2 → 1 |
//! | `POST /gm/matches/{id}/result` | `{"option": "home"}` or `{"no_result": true}` | → 3 or 7 |
//! | `POST /gm/matches/{id}/cancel` | | → 6 |
//! | `POST /gm/users/{name}/credit` | `{"amount": 100}` | adds coins |
//! | `GET /gm/audit` | | where every coin is (read-only) |

use espoir::{HttpRequest, HttpResponse, HttpRoutes, Token};
use percent_encoding::percent_decode_str;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::Betting;
use crate::error::BetError;
use crate::model::{Audit, NewMatch};
use crate::state::Action;
use crate::views::MatchView;

/// Body of `/result`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResultBody {
    #[serde(default)]
    option: Option<String>,
    #[serde(default)]
    no_result: bool,
}

/// Body of `/credit`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreditBody {
    amount: u64,
}

/// The admin routes, guarded by `token` (`None`: every request is refused).
pub fn routes(betting: Betting, token: Option<Token>) -> HttpRoutes {
    let guard = move |betting: Betting, token: Option<Token>| {
        move |req: HttpRequest| {
            let (betting, token) = (betting.clone(), token.clone());
            async move {
                match authorize(&req, token.as_ref()) {
                    Ok(()) => respond(dispatch(&betting, &req).await),
                    Err(err) => respond(Err(err)),
                }
            }
        }
    };
    HttpRoutes::new()
        .route("/gm/matches", guard(betting.clone(), token.clone()))
        .prefix("/gm/matches/", guard(betting.clone(), token.clone()))
        .prefix("/gm/users/", guard(betting.clone(), token.clone()))
        .route("/gm/audit", guard(betting, token))
}

/// Checks the bearer token (constant time, the framework's admin check).
fn authorize(req: &HttpRequest, token: Option<&Token>) -> Result<(), BetError> {
    let token = token.ok_or(BetError::AdminDisabled)?;
    if req.bearer_matches(token) { Ok(()) } else { Err(BetError::Unauthorized) }
}

/// An admin outcome: a JSON value, or an HTTP status with an app error.
enum Failure {
    App(BetError),
    Http(u16, String),
}

impl From<BetError> for Failure {
    fn from(err: BetError) -> Self {
        Failure::App(err)
    }
}

fn respond(result: Result<Value, impl Into<Failure>>) -> HttpResponse {
    match result.map_err(Into::into) {
        Ok(value) => HttpResponse::json(&value),
        Err(Failure::App(err)) => HttpResponse::json_status(
            err.http_status(),
            &json!({ "code": err.code(), "msg": err.to_string() }),
        ),
        Err(Failure::Http(status, msg)) => HttpResponse::error(status, &msg),
    }
}

async fn dispatch(betting: &Betting, req: &HttpRequest) -> Result<Value, Failure> {
    let path = req.path.trim_end_matches('/');
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let method = req.method.as_str();
    match (method, parts.as_slice()) {
        ("GET", ["gm", "matches"]) => {
            let matches = betting.store().matches().await?;
            Ok(json!({ "matches": matches.iter().map(MatchView::from).collect::<Vec<_>>() }))
        }
        ("POST", ["gm", "matches"]) => {
            let spec: NewMatch = body(req)?;
            Ok(json!(MatchView::from(&betting.create_match(&spec).await?)))
        }
        ("POST", ["gm", "matches", id, verb]) => {
            let id: u64 = id.parse().map_err(|_| Failure::Http(404, format!("no match {id:?}")))?;
            let m = match *verb {
                "approve" => betting.apply(id, Action::Approve, None).await?,
                "open" => betting.apply(id, Action::Open, None).await?,
                "stop" => betting.apply(id, Action::Stop, None).await?,
                "cancel" => betting.apply(id, Action::Cancel, None).await?,
                "result" => {
                    let result: ResultBody = body(req)?;
                    match (result.option, result.no_result) {
                        (Some(option), false) => betting.apply(id, Action::SetResult, Some(&option)).await?,
                        (None, true) => betting.apply(id, Action::SetNoResult, None).await?,
                        _ => {
                            return Err(BetError::invalid(
                                "result",
                                "give either {\"option\"} or {\"no_result\": true}",
                            )
                            .into());
                        }
                    }
                }
                other => return Err(Failure::Http(404, format!("no admin action {other:?}"))),
            };
            Ok(json!(MatchView::from(&m)))
        }
        ("GET", ["gm", "audit"]) => Ok(audit_json(&betting.store().audit().await?)),
        ("POST", ["gm", "users", name, "credit"]) => {
            let name = percent_decode_str(name)
                .decode_utf8()
                .map_err(|_| BetError::invalid("name", "not UTF-8 once percent-decoded"))?;
            let CreditBody { amount } = body(req)?;
            let balance = betting.credit(&name, amount).await?;
            Ok(json!({ "name": name, "balance": balance }))
        }
        (_, ["gm", "matches"] | ["gm", "matches", _, _] | ["gm", "users", _, "credit"] | ["gm", "audit"]) => {
            Err(Failure::Http(405, format!("{method} is not allowed on {path}")))
        }
        _ => Err(Failure::Http(404, format!("no admin endpoint {path}"))),
    }
}

/// The audit as JSON. Sums are decimal strings: they are 128-bit and may
/// exceed what JavaScript numbers (and `serde_json` numbers) hold exactly.
fn audit_json(audit: &Audit) -> Value {
    json!({
        "credited": audit.credited.to_string(),
        "balances": audit.balances.to_string(),
        "open_stakes": audit.open_stakes.to_string(),
        "house": audit.house.to_string(),
        "open_orders": audit.open_orders,
        "indexed_open": audit.indexed_open,
        "balanced": audit.balanced(),
    })
}

fn body<T: serde::de::DeserializeOwned>(req: &HttpRequest) -> Result<T, BetError> {
    serde_json::from_slice(&req.body).map_err(|e| BetError::invalid("body", e.to_string()))
}
