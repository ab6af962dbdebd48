//! The client commands, as espoir handlers. Each is a thin shell: decode,
//! find the caller (the uid login bound the session to), call [`Betting`],
//! encode.

use espoir::{Context, EventTable, Status, events, register_event};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::app::{BetReply, Betting, ListStatus, LoginReply};
use crate::error::BetError;
use crate::views::{MatchView, OrderView};

/// 100002 request.
#[derive(Debug, Deserialize)]
pub struct LoginRequest {
    /// User name; a new name creates the user.
    pub name: String,
    /// Password (`passwd` is accepted too, as obespoir's demo client sends).
    #[serde(alias = "passwd")]
    pub password: String,
}

/// 100010 request; every field is optional.
#[derive(Debug, Default, Deserialize)]
pub struct ListRequest {
    /// Only matches of this type.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// `"doing"`, `"finished"` or `"all"` (the default).
    #[serde(default)]
    pub status: ListStatus,
}

/// 100011 request.
#[derive(Debug, Deserialize)]
pub struct DetailRequest {
    /// The match.
    pub match_id: u64,
}

/// 100020 request.
#[derive(Debug, Deserialize)]
pub struct BetRequest {
    /// The match.
    pub match_id: u64,
    /// The option's name.
    pub option: String,
    /// The stake, in coins.
    pub amount: u64,
}

/// 100010 reply.
#[derive(Debug, Serialize)]
pub struct ListReply {
    /// The matches, by id.
    pub matches: Vec<MatchView>,
}

/// 100021 reply.
#[derive(Debug, Serialize)]
pub struct MyBetsReply {
    /// The newest orders first.
    pub orders: Vec<OrderView>,
}

fn betting(ctx: &Context) -> Result<std::sync::Arc<Betting>, Status> {
    ctx.state::<Betting>()
}

/// The logged-in user: the uid login bound the session to. The proxy
/// sends it with every request, so it holds on any service node, also
/// after the one that handled the login is gone.
fn caller(ctx: &Context) -> Result<u64, BetError> {
    ctx.uid().and_then(|uid| uid.parse().ok()).ok_or(BetError::NotLoggedIn)
}

/// 100002: log in (or sign up).
#[register_event(100002)]
pub async fn login(ctx: Context, req: LoginRequest) -> Result<LoginReply, Status> {
    let session = ctx.require_session()?.clone();
    let reply = betting(&ctx)?.login(&req.name, &req.password).await?;
    // Bound before the reply leaves: the client's next request carries it.
    ctx.bind(reply.uid.to_string()).await?;
    tracing::info!(%session, uid = reply.uid, created = reply.created, "logged in");
    Ok(reply)
}

/// 100010: list matches.
#[register_event(100010)]
pub async fn list_matches(ctx: Context, req: ListRequest) -> Result<ListReply, Status> {
    caller(&ctx)?;
    let matches = betting(&ctx)?.list(req.kind.as_deref(), req.status).await?;
    Ok(ListReply { matches })
}

/// 100011: one match.
#[register_event(100011)]
pub async fn match_detail(ctx: Context, req: DetailRequest) -> Result<MatchView, Status> {
    caller(&ctx)?;
    Ok(betting(&ctx)?.detail(req.match_id).await?)
}

/// 100020: place a bet.
#[register_event(100020)]
pub async fn place_bet(ctx: Context, req: BetRequest) -> Result<BetReply, Status> {
    let uid = caller(&ctx)?;
    Ok(betting(&ctx)?.place_bet(uid, req.match_id, &req.option, req.amount).await?)
}

/// 100021: my bets.
#[register_event(100021)]
pub async fn my_bets(ctx: Context) -> Result<MyBetsReply, Status> {
    let uid = caller(&ctx)?;
    Ok(MyBetsReply { orders: betting(&ctx)?.my_bets(uid).await? })
}

/// 100030: my balance.
#[register_event(100030)]
pub async fn balance(ctx: Context) -> Result<Value, Status> {
    let uid = caller(&ctx)?;
    Ok(json!({ "balance": betting(&ctx)?.balance(uid).await? }))
}

/// 10000: heartbeat. Proxies answer it themselves; this one serves
/// clusters whose proxy forwards it.
#[register_event(10000)]
pub async fn heartbeat(_ctx: Context) -> Result<Value, Status> {
    Ok(json!({ "code": 200 }))
}

/// Every client command of the betting service.
pub fn events() -> EventTable {
    events![login, list_matches, match_detail, place_bet, my_bets, balance, heartbeat]
}
