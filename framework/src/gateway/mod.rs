//! The proxy's websocket gateway: accepting clients, one task per
//! connection, forwarding their frames to the cluster and writing back
//! replies and pushes.
//!
//! A client's path through the files, in order:
//!
//! * `accept`: the accept loop with its connection limits (total and per
//!   IP), then per connection the websocket handshake and origin check.
//! * `cipher`: on encrypted links (`websocket.encode: 1`), the hello before
//!   the session exists, then sealing and opening frames.
//! * `conn`: [`ClientConn`](conn::ClientConn), one connection's state and
//!   its loop, one method per event (client message, answer, push, kick,
//!   drain, idle timeout), with one `send` for every write.
//! * `request`: one client frame handled: the heartbeat and the topic
//!   commands (`topics`) answered on the spot, reserved notices refused, else this node's handler or `forward`.
//! * `forward`: a frame sent to a node of the type that handles it, with one
//!   retry elsewhere when that node refused without running the handler.
//! * `reply`: what handling gives back ([`Answer`](reply::Answer)), and
//!   error frames.
//! * `resume`: a reconnecting client resuming its session.
//! * `close`: how a connection ends ([`ConnEnd`](close::ConnEnd)): every
//!   close code and close-notice reason, the goodbye and the linger.
//!
//! Imports between these files run one way (no cycles): `accept` → `conn` →
//! `request` → `forward` → `reply`, `request` → `topics` → `reply`; `accept` and `conn` also use `cipher`
//! (→ `close`), and `conn` uses `resume` (→ `reply`) and `close`, which
//! imports no gateway file.

mod accept;
mod cipher;
mod close;
mod conn;
mod forward;
mod reply;
mod request;
mod resume;
mod topics;

pub(crate) use accept::accept_loop;
