//! The proxy's websocket gateway: accepting clients, one task per
//! connection, forwarding their frames to the cluster and writing back
//! replies and pushes.
//!
//! * `conn`: the accept loop and each client connection's loop.
//! * `forward`: a client frame to the node that handles it, with one retry
//!   elsewhere when that node refused without running the handler.
//! * `rates`: rate limits and the writes that can end a connection.
//! * `resume`: a reconnecting client resuming its session.
//! * `cipher`: encrypted client links (`websocket.encode: 1`).

mod cipher;
mod conn;
mod forward;
mod rates;
mod resume;

pub(crate) use conn::accept_loop;
