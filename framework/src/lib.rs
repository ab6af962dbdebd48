//! # Espoir
//!
//! A distributed game-server node framework. Clients speak obespoir's
//! framing to **proxy** nodes over websockets; **route** nodes relay and keep
//! membership; **service** nodes run the game's handlers. Nodes talk over
//! authenticated, optionally encrypted, length-prefixed RPC links.
//!
//! # Faces
//!
//! * **The crate root** is the application API: configuring and running a
//!   node ([`NodeConfig`], [`Node`], [`NodeBuilder`], [`RunningNode`],
//!   [`Shutdown`]), writing handlers ([`register_event`], [`events!`],
//!   [`Context`], [`EventTable`], [`Status`], [`Code`]), sessions, timers,
//!   node configs in MongoDB, and the client framing a game client speaks
//!   ([`ClientFrame`], [`ClientDecoder`]).
//! * **[`wire`]** is the RPC protocol between nodes: envelopes, their
//!   framing, and the transport that carries them ([`wire::RpcEndpoint`],
//!   [`wire::Link`], [`wire::PeerLink`], their settings, errors and
//!   counters). For tools and tests that speak to nodes directly, and for
//!   advanced uses of [`RunningNode::endpoint`].
//! * **[`secure`]** is link security without I/O: the RPC handshake,
//!   frame sealing, and encrypted client websockets
//!   ([`secure::ClientLinkDialer`]).
//! * **`cli`** (feature `cli`) is a game binary's whole command line:
//!   `cli::run(handler_groups)` gives it `node`, `up`, `check` and
//!   `config push`/`pull`, with logging and signals (`docs/first-game.md`).
//!
//! # Features
//!
//! * `cli` (default): the `cli` module, with clap and tracing-subscriber.
//! * `mongodb` (default): node configs kept in MongoDB (`MongoSource`,
//!   `config push`/`pull`). Without it the MongoDB driver is not compiled
//!   and a bootstrap file is refused, saying why.
//! * `otlp` (default): exporting traces over OTLP/HTTP (`traces.otlp`).
//!   Without it traces still travel between nodes and reach an exporter
//!   given to [`NodeBuilder::span_exporter`].
//!
//! # Layout
//!
//! * `config`: the typed node configuration ([`NodeConfig`]), loaded from
//!   JSON5 files and validated, with errors naming file, field and reason.
//! * `id`: node ids (md5 of `"{host}_{rpc_port}"`) and session ids.
//! * `mongo`: opening a node's config file ([`open_node_config`]), and
//!   (feature `mongodb`) node configs kept in MongoDB: the bootstrap file,
//!   the `MongoSource` with its change stream and last-known-good copy, and
//!   `config push`/`pull`.
//! * `status`: the wire-level outcome of a request ([`Status`], [`Code`]).
//! * `codec`: pure byte ↔ frame codecs, client side (at the root) and RPC
//!   side (in [`wire`]); no I/O.
//! * `proto`: the prost-generated RPC schema (`proto/espoir.proto`); the
//!   envelope and membership messages are in [`wire`].
//! * `secure`: the link token, the authentication handshake and AES-256-GCM
//!   frame sealing, as state machines without I/O; and the same for
//!   encrypted client websockets (`websocket.encode: 1`). Public as
//!   [`secure`].
//! * `transport`: sockets. The RPC listener, outbound links that reconnect,
//!   heartbeats, write coalescing and request/response correlation. Public
//!   through [`wire`].
//! * `handler`: what game developers write: [`EventHandler`]s (usually made
//!   by `#[register_event]`), [`EventTable`]s and the handler [`Context`].
//! * `node`: the builder and the running node; `gateway`: the proxy's
//!   websocket gateway (with encrypted client links); `dispatch`: inbound
//!   envelopes (local handlers, relays, answers); `sessions`: the proxy's
//!   session table and the operations between nodes; `cluster`:
//!   membership through routes, peers and drain; `http`: the HTTP port
//!   (admin endpoints, static files, CORS); `metrics`; `reload`: live
//!   reload from a [`ConfigSource`]; `limits`: rates, per-IP caps, send
//!   budgets and in-flight bounds; `tls`: `wss://` and HTTPS, with the
//!   certificate reloaded when its files change.
//! * `session`: session features as pure data: bounded session data, the
//!   replay buffer and tokens behind resume, user and group indexes
//!   ([`Member`], [`SessionStats`]). See `docs/sessions.md`.
//! * `topic`: topics as pure data: messages, snapshots, the subscriber
//!   index and the conflation map ([`TopicMessage`], [`TopicStats`]). See
//!   `docs/realtime.md`.
//! * `routing`: pure lookup tables from config: command id → handling node
//!   type ([`RouteTable`]) and stateless commands ([`StateTable`]).
//! * `shutdown`: cancellation plus task tracking with a grace period; every
//!   long-running piece takes one as a parameter.
//! * `trace`: traces across nodes: the W3C trace context in envelopes,
//!   one span per hop, a tracer per node exporting over OTLP.
//! * `jobs`: recurring jobs (`every` or cron, in code and config), each
//!   tick claimed at the routes and run once across the cluster
//!   ([`JobSpec`], [`Schedule`], [`JobRun`]); see `docs/handlers.md`.
//! * `rooms`: rooms as pure state: members, lifecycle, bounded input
//!   queue between ticks ([`Room`], [`RoomSettings`]); see
//!   `docs/rooms.md`.
//! * `matchmaking` (public, a namespace): the matchmaking pool as pure
//!   state: tickets, parties, the game's widening criteria, matches formed
//!   oldest first; `docs/rooms.md`.
//! * `schedule`: keyed one-shot jobs at a given time ([`Scheduler`]), tied
//!   to a [`Shutdown`]; timers live in memory.
//!
//! * `cli`: the command line (feature `cli`), over `node`, `config` and
//!   `mongo`.
//!
//! Modules are private except [`secure`], whose own file is its face,
//! `cli`, and [`wire`], a face over `codec`, `proto` and `transport`;
//! everything else public is re-exported here.

#[cfg(feature = "cli")]
pub mod cli;
mod cluster;
mod codec;
mod config;
mod dispatch;
mod gateway;
mod handler;
mod http;
mod id;
mod jobs;
mod limits;
pub mod matchmaking;
mod metrics;
mod mongo;
mod node;
mod proto;
mod reload;
mod rooms;
mod routing;
mod schedule;
pub mod secure;
mod session;
mod sessions;
mod shutdown;
mod status;
mod tls;
mod topic;
mod trace;
mod transport;

pub use codec::{CLIENT_HEADER_LEN, ClientDecoder, ClientFrame, ClientFrameError, DEFAULT_MAX_CLIENT_FRAME};
pub use config::{
    AllowedOrigins, CatchUpName, ClientLimits, ConfigError, HandlerLimits, HttpConfig, IdRange, JobConfig,
    LogFormat, LogLevel, LogRotation, LogsConfig, NoStateRules, NodeConfig, OtlpConfig, Problem, RemotePort,
    RouteRules, RpcConfig, SessionsConfig, Storage, TlsConfig, TopicPolicy, TopicsConfig, TracesConfig,
    WebsocketConfig, deserialize_opt_secret, deserialize_secret,
};
pub use handler::{
    AppState, Context, DrainHold, DuplicateEvent, EventHandler, EventTable, HandlerFuture, IntoReply,
    ROOM_KEY, decode_body, encode_body, error_body,
};
pub use http::{HttpRequest, HttpResponse, HttpRoutes};
pub use id::{InvalidId, NodeId, SessionId, SessionIds};
pub use jobs::{
    CatchUp, DEFAULT_CATCH_UP_MAX, JobFuture, JobResult, JobRun, JobSpec, MIN_INTERVAL, Schedule,
    ScheduleSpecError,
};
#[cfg(feature = "mongodb")]
pub use mongo::{
    DEFAULT_COLLECTION, DEFAULT_DATABASE, MongoSettings, MongoSource, MongoTarget, TransferError,
    pull_configs, push_configs, redact_uri,
};
pub use mongo::{OpenedConfig, open_node_config};
pub use node::{Addresses, HandlerGroups, Node, NodeBuilder, NodeError, RunningNode, UnknownGroup};
pub use proto::NodeType;
pub use reload::{ConfigSource, FileSource, PeerChange, ReloadError, ReloadReport};
pub use rooms::{
    Claimed, DisposeReason, DrainPolicy, Drained, Ended, EndedRoom, Input, Joined, Left, MAX_INPUT_CAPACITY,
    MAX_ROOM_ID_LEN, MAX_ROOM_MEMBERS, MAX_ROOMS_PER_NODE, PushMode, Room, RoomError, RoomId, RoomMember,
    RoomPhase, RoomSettings, RoomSettingsError, RoomStats, Rooms, Seat, SeatLapse, Seats, Tick, TickRate,
};
pub use rooms::{RoomGame, TickLoopEnd, run_tick_loop};
pub use routing::{Lane, LaneKey, RangeRef, RouteTable, StateTable, TableError, Target};
pub use schedule::{DEFAULT_MAX_TIMERS, ScheduleError, Scheduler};
pub use secure::Token;
pub use session::{DataError, Member, SessionStats};
pub use sessions::TopicGauges;
pub use shutdown::Shutdown;
pub use status::{Code, Status};
pub use tls::TlsError;
pub use topic::{TopicMessage, TopicStats};

/// The RPC protocol between nodes: envelopes, their framing, and the
/// transport that carries them.
///
/// A node runs all of this for its handlers; this face is for tools and
/// tests that speak to nodes directly (as tonic's `transport` and `codec`
/// are to its services), and for what [`RunningNode::endpoint`] and
/// [`RunningNode::peers`] return.
///
/// * Messages: [`Envelope`](wire::Envelope) and its [`Kind`](wire::Kind),
///   stamped with [`PROTOCOL_VERSION`](wire::PROTOCOL_VERSION); the
///   membership messages routes exchange ([`ClusterMembers`](wire::ClusterMembers)).
/// * Framing: a 4-byte length prefix ([`RpcDecoder`](wire::RpcDecoder),
///   [`RpcEncoder`](wire::RpcEncoder)); sealing and authentication are in
///   [`secure`].
/// * Transport: [`RpcEndpoint`](wire::RpcEndpoint) (listener, peers and
///   calls), [`Link`](wire::Link) (one authenticated connection),
///   [`PeerLink`](wire::PeerLink) (an outbound link that redials, one
///   connection per [`Lane`]), their
///   settings, errors and [`TransportStats`](wire::TransportStats).
pub mod wire {
    pub use crate::codec::{
        DEFAULT_MAX_RPC_FRAME, PROTOCOL_VERSION, RPC_LENGTH_PREFIX, RpcDecoder, RpcEncoder, RpcFrameError,
    };
    pub use crate::proto::{Envelope, Kind, Member as ClusterMember, MemberState, Members as ClusterMembers};
    pub use crate::sessions::publish_envelope;
    pub use crate::transport::{
        Backoff, CallError, Direction, EndpointConfig, InboundHandler, Incoming, Link, LinkError, LinkId,
        LinkSettings, ListenerSettings, PeerLink, PeerSpec, PeerState, RpcEndpoint, SendError,
        TransportStats, default_lanes,
    };
}

pub use espoir_macros::{events, register_event};

/// Items the macros' generated code refers to. Not a public API: it may
/// change in any release.
#[doc(hidden)]
pub mod __private {
    pub use bytes::Bytes;

    pub use crate::handler::{
        Context, DuplicateIdMessage, EventHandler, EventTable, HandlerFuture, IntoReply, decode_body,
        duplicate_id,
    };
    pub use crate::status::Status;
}
