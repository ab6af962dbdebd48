//! # espoir-client
//!
//! A Rust client for espoir proxies, with the abilities of the browser
//! client (`examples/web/espoir-client.js`, docs/clients.md): requests that
//! return their reply, pushes, heartbeats, automatic reconnection with
//! jittered backoff and events saying so, failover to the cluster's other
//! proxies ([`ClientOptions::with_fallbacks`]), and encrypted links
//! (`websocket.encode: 1`). Tests and load tools use it.
//!
//! # Layout
//!
//! * `client`: the connection ([`Client`], [`ClientOptions`], [`Push`],
//!   [`Event`]).
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
//! Session resume (docs/sessions.md) is not spoken yet: after a
//! [`Event::Connected`] with `reconnected: true`, log in again. The browser
//! client does resume when the proxy offers it.

mod betting;
mod client;
mod error;

pub use betting::{Admin, Audit, Bettor, LoggedIn, Match, MatchOption, Order, Placed, Settlement, commands};
pub use client::{Client, ClientOptions, Event, HEARTBEAT_COMMAND, Push};
pub use error::ClientError;
