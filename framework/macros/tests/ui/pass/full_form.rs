//! The two-parameter form: typed request, typed reply, any visibility.

use espoir::{Context, EventHandler, Status, events, register_event};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
pub struct Login {
    pub name: String,
    pub passwd: String,
}

#[derive(Serialize)]
pub struct Welcome {
    pub name: String,
}

/// A public handler.
#[register_event(100002)]
pub async fn login(ctx: Context, request: Login) -> Result<Welcome, Status> {
    let _ = (ctx.command(), request.passwd);
    Ok(Welcome { name: request.name })
}

/// A private one, with a destructuring pattern and an unused context.
#[register_event(100003)]
async fn rename(_ctx: Context, Login { name, .. }: Login) -> Result<String, Status> {
    Ok(name)
}

/// An error type of the game's own, convertible into a status.
pub enum GameError {
    NoSuchItem(u32),
}

impl From<GameError> for Status {
    fn from(error: GameError) -> Status {
        match error {
            GameError::NoSuchItem(item) => Status::not_found(format!("no item {item}")),
        }
    }
}

#[register_event(100004)]
pub(crate) async fn inspect(_ctx: Context, item: u32) -> Result<serde_json::Value, GameError> {
    Err(GameError::NoSuchItem(item))
}

fn main() {
    // The functions are untouched: still callable values.
    let _login = login;
    let _rename = rename;

    assert_eq!((login::ID, rename::ID, inspect::ID), (100002, 100003, 100004));
    assert_eq!(login {}.id(), 100002);
    assert_eq!(login {}.name(), concat!(module_path!(), "::login"));
    assert!(login {}.need_return());

    let table = events![login, rename, inspect];
    assert_eq!(table.ids(), [100002, 100003, 100004]);
    assert_eq!(table.get(100003).unwrap().name(), concat!(module_path!(), "::rename"));
}
