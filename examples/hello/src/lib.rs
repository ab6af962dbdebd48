//! obespoir's demo application on espoir.
//!
//! The same three nodes and the same behaviour as obespoir's `test/` demo:
//! command 1000 (login) is answered by the route node, 20000 (enter the
//! ranked room) by the service node, 10000 is a heartbeat on both, 100130
//! is the offline notice, and `POST /` on any node's HTTP port answers
//! `hello`. obespoir's own client, `test_frame.py`, runs against it
//! unchanged (`espoir up configs/hello`).

use espoir::{Context, EventTable, HttpResponse, HttpRoutes, NodeBuilder, Status, events, register_event};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Login request: both fields are required, as in obespoir's demo.
#[derive(Debug, Deserialize)]
pub struct LoginRequest {
    /// User name.
    pub name: String,
    /// Password (the demo accepts any).
    pub passwd: String,
}

/// Enter-rank request.
#[derive(Debug, Deserialize)]
pub struct EnterRankRequest {
    /// The user entering.
    pub user_id: i64,
}

/// obespoir's reply shape: `{"code": 200, "data": {...}}`.
#[derive(Debug, Serialize)]
pub struct Reply {
    /// 200 on success.
    pub code: u32,
    /// The payload.
    pub data: Value,
}

/// 1000: login, answered by the route node.
#[register_event(1000)]
pub async fn login(_ctx: Context, req: LoginRequest) -> Result<Reply, Status> {
    let _ = (req.name, req.passwd);
    Ok(Reply { code: 200, data: json!({ "user_id": 10, "desc": "恭喜，登录接口测试通过~" }) })
}

/// 20000: enter the ranked room, answered by the service node.
#[register_event(20000)]
pub async fn enter_rank(_ctx: Context, req: EnterRankRequest) -> Result<Reply, Status> {
    let _ = req.user_id;
    Ok(Reply { code: 200, data: json!({ "desc": "恭喜，进入排位场房间接口测试通过~" }) })
}

/// 10000: heartbeat.
#[register_event(10000)]
pub async fn heartbeat(_ctx: Context) -> Result<Value, Status> {
    Ok(json!({ "code": 200 }))
}

/// 100130: the client went offline. Nothing is sent back.
#[register_event(100130, need_return = false)]
pub async fn offline(ctx: Context) -> Result<(), Status> {
    if let Some(session) = ctx.session_id() {
        // Where a game would release the player's seat.
        tracing::info!(%session, node = %ctx.node_id(), "client offline");
    }
    Ok(())
}

/// The route node's handlers.
pub fn route_events() -> EventTable {
    events![login, heartbeat, offline]
}

/// The service node's handlers.
pub fn service_events() -> EventTable {
    events![enter_rank, heartbeat, offline]
}

/// `POST /` → `hello`, on every node (obespoir's default HTTP handler).
pub fn http_routes() -> HttpRoutes {
    HttpRoutes::new().route("/", |_req| async { HttpResponse::text("hello") })
}

/// Wires the route role.
pub fn route(builder: NodeBuilder) -> NodeBuilder {
    builder.events(route_events()).http(http_routes())
}

/// Wires the service role.
pub fn service(builder: NodeBuilder) -> NodeBuilder {
    builder.events(service_events()).http(http_routes())
}

/// Wires the proxy role (it forwards everything; only HTTP is its own).
pub fn proxy(builder: NodeBuilder) -> NodeBuilder {
    builder.http(http_routes())
}
