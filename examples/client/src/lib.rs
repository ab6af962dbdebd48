//! # espoir-client
//!
//! A Rust client for espoir proxies, with the abilities of the browser
//! client (`examples/web/espoir-client.js`, docs/clients.md): requests that
//! return their reply, pushes, heartbeats, automatic reconnection with
//! jittered backoff and events saying so, session resume, failover to the cluster's other
//! proxies ([`ClientOptions::with_fallbacks`]), and encrypted links
//! (`websocket.encode: 1`). Tests and load tools use it.
//!
//! # Layout
//!
//! * `client`: the client ([`Client`]) and the task that (re)connects it.
//! * `options`: [`ClientOptions`].
//! * `event`: what subscribers get: [`Push`], [`Event`].
//! * `connection`: one connection served: requests, replies, pushes,
//!   heartbeats.
//! * `resume`: session resume, as pure state: the token, push numbers,
//!   acknowledgements.
//! * `betting`: the betting app's commands ([`Bettor`]) and its admin API
//!   over HTTP ([`Admin`]).
//! * `error`: [`ClientError`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), espoir_client::ClientError> {
//! use espoir_client::{Bettor, Client, ClientOptions};
//! let client = Client::connect(ClientOptions::new("ws://127.0.0.1:30000")).await?;
//! let bettor = Bettor::new(client);
//! let me = bettor.login("ann", "secret").await?;
//! println!("{} has {} coins", me.name, me.balance);
//! # Ok(()) }
//! ```
//!
//! After a lost connection the client resumes its session when the proxy
//! offers it (docs/sessions.md): [`Event::Connected`] then says `resumed:
//! true`, the login holds, and the pushes missed meanwhile arrive each
//! once and in order. With `resumed: false` the session is new: log in
//! again.

mod betting;
mod client;
mod connection;
mod error;
mod event;
mod options;
mod resume;

pub use betting::{Admin, Audit, Bettor, LoggedIn, Match, MatchOption, Order, Placed, Settlement, commands};
pub use client::Client;
pub use connection::HEARTBEAT_COMMAND;
pub use error::ClientError;
pub use event::{Event, Push};
pub use options::ClientOptions;
pub use resume::{ACK_COMMAND, RESUME_COMMAND};
