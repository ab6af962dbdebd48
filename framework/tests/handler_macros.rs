//! `#[register_event]` handlers called the way the runtime calls them:
//! looked up in tables built with `events![]` and run through
//! `dyn EventHandler` on raw JSON bodies, with a detached `Context`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use espoir::{
    AppState, Code, Context, EventHandler, EventTable, NodeId, NodeType, SessionId, Status, events,
    register_event,
};
use serde::{Deserialize, Serialize};

/// How many times `auth::login`'s body ran.
#[derive(Debug, Default)]
struct Logins(AtomicUsize);

mod auth {
    use super::*;

    #[derive(Debug, Deserialize)]
    pub(crate) struct Login {
        pub(crate) name: String,
        pub(crate) passwd: String,
    }

    #[derive(Debug, Serialize)]
    pub(crate) struct Welcome {
        pub(crate) name: String,
        pub(crate) session: String,
        pub(crate) command: i32,
    }

    #[register_event(100002)]
    pub(crate) async fn login(ctx: Context, request: Login) -> Result<Welcome, Status> {
        ctx.state::<Logins>()?.0.fetch_add(1, Ordering::SeqCst);
        if request.passwd.is_empty() {
            return Err(Status::new(Code::UNAUTHENTICATED, "empty password"));
        }
        let session = ctx.require_session()?.to_string();
        Ok(Welcome { name: request.name, session, command: ctx.command() })
    }

    /// Obespoir clients send heartbeats with an empty body.
    #[register_event(100001, need_return = false)]
    pub(crate) async fn heartbeat(_ctx: Context) {}

    /// A game error type that knows its status.
    pub(crate) enum GameError {
        Banned(String),
    }

    impl From<GameError> for Status {
        fn from(error: GameError) -> Status {
            match error {
                GameError::Banned(name) => Status::new(Code::FORBIDDEN, format!("{name} is banned")),
            }
        }
    }

    #[register_event(100003)]
    pub(crate) async fn enter(_ctx: Context, name: String) -> Result<(), GameError> {
        Err(GameError::Banned(name))
    }

    /// Every field defaults, so an empty body is a valid request.
    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    pub(crate) struct Page {
        pub(crate) page: u32,
        pub(crate) size: Option<u32>,
    }

    #[register_event(-7)]
    pub(crate) async fn rooms(ctx: Context, request: Page) -> Result<serde_json::Value, Status> {
        // A detached context reaches no node: the call fails as it would
        // with the node's peers down.
        let rank: Result<u32, Status> = ctx.call(NodeType::Route, 1, &()).await;
        Ok(serde_json::json!({
            "page": request.page,
            "size": request.size,
            "rank": rank.map_err(|s| s.code().as_u32()),
        }))
    }

    pub(crate) fn events() -> EventTable {
        events![login, heartbeat, enter, rooms]
    }
}

mod lobby {
    use super::*;

    /// Claims the id of `auth::login`.
    #[register_event(100002)]
    pub(crate) async fn login(_ctx: Context) -> Result<(), Status> {
        Ok(())
    }

    pub(crate) fn events() -> EventTable {
        events![login]
    }
}

fn proxy() -> NodeId {
    NodeId::of("127.0.0.1", 9100)
}

/// A service node's context for `command`, in a client session, and the
/// login counter in its state.
fn context(command: i32) -> (Context, Arc<Logins>) {
    let mut state = AppState::new();
    state.insert(Logins::default());
    let logins = state.get::<Logins>().expect("just inserted");
    let session = Some(SessionId::new(proxy(), 42));
    (Context::detached(NodeId::of("127.0.0.1", 9200), NodeType::Service, state, session, command), logins)
}

async fn call(table: &EventTable, command: i32, body: &'static [u8]) -> Result<Option<Bytes>, Status> {
    let handler = table.get(command).unwrap_or_else(|| panic!("no handler for {command}"));
    handler.call(context(command).0, Bytes::from_static(body)).await
}

fn json(reply: Option<Bytes>) -> serde_json::Value {
    serde_json::from_slice(&reply.expect("a reply body")).expect("a JSON reply")
}

#[tokio::test]
async fn a_typed_request_decodes_and_its_reply_encodes() {
    let reply = call(&auth::events(), 100002, br#"{"name":"jamon","passwd":"test"}"#).await.unwrap();
    let session = SessionId::new(proxy(), 42).to_string();
    assert_eq!(json(reply), serde_json::json!({"name": "jamon", "session": session, "command": 100002}));
}

#[tokio::test]
async fn an_undecodable_body_is_a_bad_request_naming_the_field_and_skips_the_handler() {
    let table = auth::events();
    let login = table.get(100002).unwrap();
    let (ctx, logins) = context(100002);
    let err = login.call(ctx, Bytes::from_static(br#"{"name":"jamon"}"#)).await.unwrap_err();
    assert_eq!(err.code(), Code::BAD_REQUEST);
    assert!(err.message().contains("missing field `passwd`"), "{}", err.message());
    assert_eq!(logins.0.load(Ordering::SeqCst), 0, "the handler must not run");

    let (ctx, logins) = context(100002);
    login.call(ctx, Bytes::from_static(br#"{"name":"jamon","passwd":"x"}"#)).await.unwrap();
    assert_eq!(logins.0.load(Ordering::SeqCst), 1);

    let err = call(&table, 100002, b"not json").await.unwrap_err();
    assert_eq!(err.code(), Code::BAD_REQUEST);
    let err = call(&table, 100003, br#"{"name":"jamon"}"#).await.unwrap_err();
    assert_eq!(err.code(), Code::BAD_REQUEST, "a map is not a String: {}", err.message());
}

#[tokio::test]
async fn an_empty_body_reads_as_an_empty_object() {
    let reply = call(&auth::events(), -7, b"").await.unwrap();
    assert_eq!(json(reply), serde_json::json!({"page": 0, "size": null, "rank": {"Err": 503}}));
}

#[tokio::test]
async fn need_return_false_sends_nothing_back() {
    let table = auth::events();
    assert!(!table.get(100001).unwrap().need_return());
    assert_eq!(call(&table, 100001, b"").await, Ok(None));
    // The body is not looked at in the one-parameter form.
    assert_eq!(call(&table, 100001, b"\xff garbage").await, Ok(None));
}

#[tokio::test]
async fn a_handler_error_reaches_the_caller_with_its_code() {
    let table = auth::events();
    let err = call(&table, 100003, br#""jamon""#).await.unwrap_err();
    assert_eq!((err.code(), err.message()), (Code::FORBIDDEN, "jamon is banned"));
    let err = call(&table, 100002, br#"{"name":"jamon","passwd":""}"#).await.unwrap_err();
    assert_eq!((err.code(), err.message()), (Code::UNAUTHENTICATED, "empty password"));
}

#[tokio::test]
async fn the_function_stays_callable_directly() {
    let request = auth::Login { name: "jamon".into(), passwd: "test".into() };
    let welcome = auth::login(context(100002).0, request).await.unwrap();
    assert_eq!((welcome.name.as_str(), welcome.command), ("jamon", 100002));
}

#[test]
fn handlers_carry_their_id_name_and_need_return() {
    assert_eq!((auth::login::ID, auth::heartbeat::ID, auth::rooms::ID), (100002, 100001, -7));
    let login: &dyn EventHandler = &auth::login {};
    assert_eq!(login.id(), 100002);
    assert_eq!(login.name(), "handler_macros::auth::login");
    assert!(login.need_return());
    assert_eq!(auth::events().ids(), [-7, 100001, 100002, 100003]);
    assert!(events![].is_empty());
}

#[test]
fn merging_tables_that_share_an_id_names_both_handlers() {
    let err = auth::events().merge(lobby::events()).unwrap_err();
    assert_eq!(
        (err.id, err.first, err.second),
        (100002, "handler_macros::auth::login", "handler_macros::lobby::login")
    );
    assert_eq!(
        err.to_string(),
        "command id 100002 is registered twice: by `handler_macros::auth::login` and by `handler_macros::lobby::login`"
    );
    // Disjoint tables merge.
    let merged = lobby::events().merge(events![auth::heartbeat, auth::enter]).unwrap();
    assert_eq!(merged.ids(), [100001, 100002, 100003]);
}
