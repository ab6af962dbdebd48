//! # Espoir
//!
//! A distributed game-server node framework. Clients speak obespoir's
//! framing to **proxy** nodes over websockets; **route** nodes relay and keep
//! membership; **service** nodes run the game's handlers. Nodes talk over
//! authenticated, optionally encrypted, length-prefixed RPC links.
//!
//! # Layout
//!
//! * `config`: the typed node configuration ([`NodeConfig`]), loaded from
//!   JSON5 files and validated, with errors naming file, field and reason.
//! * `id`: node ids (md5 of `"{host}_{rpc_port}"`) and session ids.
//! * `mongo`: node configs kept in MongoDB: the bootstrap file, the
//!   [`MongoSource`] with its change stream and last-known-good copy, and
//!   `config push`/`pull`.
//! * `status`: the wire-level outcome of a request ([`Status`], [`Code`]).
//! * `codec`: pure byte ↔ frame codecs, client side and RPC side; no I/O.
//! * `proto`: the prost-generated RPC schema (`proto/espoir.proto`).
//! * `secure`: the link token, the authentication handshake and AES-256-GCM
//!   frame sealing, as state machines without I/O; and the same for
//!   encrypted client websockets (`websocket.encode: 1`).
//! * `transport`: sockets. The RPC listener, outbound links that reconnect,
//!   heartbeats, write coalescing and request/response correlation.
//! * `handler`: what game developers write: [`EventHandler`]s (usually made
//!   by `#[register_event]`), [`EventTable`]s and the handler [`Context`].
//! * `node`: running a node: the builder, the router, the proxy's websocket
//!   gateway (with encrypted client links), client sessions and the HTTP
//!   port (endpoints, static files, CORS); and operating it: admin
//!   endpoints, live reload, membership through routes, drain, metrics.
//! * `session`: session features as pure data: bounded session data, the
//!   replay buffer and tokens behind resume, user and group indexes
//!   ([`Member`], [`SessionStats`]); the proxy's session table and the
//!   operations between nodes live in `node`. See `docs/sessions.md`.
//! * `routing`: pure lookup tables from config: command id → handling node
//!   type ([`RouteTable`]) and stateless commands ([`StateTable`]).
//! * `shutdown`: cancellation plus task tracking with a grace period; every
//!   long-running piece takes one as a parameter.
//! * `schedule`: keyed one-shot jobs at a given time ([`Scheduler`]), tied
//!   to a [`Shutdown`]; timers live in memory.
//!
//! Modules are private; what is public is re-exported here.

mod cluster;
mod codec;
mod config;
mod dispatch;
mod gateway;
mod handler;
mod http;
mod id;
mod limits;
mod metrics;
mod mongo;
mod node;
mod proto;
mod reload;
mod routing;
mod schedule;
mod secure;
mod session;
mod sessions;
mod shutdown;
mod status;
mod transport;

pub use codec::{
    CLIENT_HEADER_LEN, ClientDecoder, ClientFrame, ClientFrameError, DEFAULT_MAX_CLIENT_FRAME,
    DEFAULT_MAX_RPC_FRAME, RPC_LENGTH_PREFIX, RpcDecoder, RpcEncoder, RpcFrameError,
};
pub use config::{
    AllowedOrigins, ClientLimits, ConfigError, HandlerLimits, HttpConfig, IdRange, LogLevel, NoStateRules,
    NodeConfig, Problem, RemotePort, RouteRules, RpcConfig, SessionsConfig, Storage, WebsocketConfig,
};
pub use handler::{
    AppState, Context, DuplicateEvent, EventHandler, EventTable, HandlerFuture, IntoReply, decode_body,
    encode_body, error_body,
};
pub use http::{HttpRequest, HttpResponse, HttpRoutes};
pub use id::{InvalidId, NodeId, SessionId, SessionIds};
pub use mongo::{
    DEFAULT_COLLECTION, DEFAULT_DATABASE, MongoSettings, MongoSource, MongoTarget, OpenedConfig,
    TransferError, open_node_config, pull_configs, push_configs, redact_uri,
};
pub use node::{Addresses, HandlerGroups, Node, NodeBuilder, NodeError, RunningNode, UnknownGroup};
pub use proto::{Envelope, Kind, Member as ClusterMember, MemberState, Members as ClusterMembers, NodeType};
pub use reload::{ConfigSource, FileSource, PeerChange, ReloadError, ReloadReport};
pub use routing::{RangeRef, RouteTable, StateTable, TableError, Target};
pub use schedule::{DEFAULT_MAX_TIMERS, ScheduleError, Scheduler};
pub use secure::{
    CLIENT_HELLO_COMMAND, CipherError, ClientLinkCipher, ClientLinkDialer, ClientLinkError, Dialer,
    DialerAwaitingVerdict, Established, HandshakeError, HandshakeParams, Listener, ListenerAwaitingProof,
    NONCE_LEN, Opener, PROTOCOL_VERSION, Sealer, TAG_LEN, Token, accept_client_hello,
};
pub use session::{DataError, Member, SessionStats};
pub use shutdown::Shutdown;
pub use status::{Code, Status};
pub use transport::{
    Backoff, CallError, Direction, EndpointConfig, InboundHandler, Incoming, Link, LinkError, LinkSettings,
    ListenerSettings, PeerLink, PeerSpec, PeerState, RpcEndpoint, SendError, TransportStats,
};

pub use espoir_macros::{events, register_event};

/// Items the macros' generated code refers to. Not a public API: it may
/// change in any release.
#[doc(hidden)]
pub mod __private {
    pub use bytes::Bytes;

    pub use crate::handler::{Context, EventHandler, EventTable, HandlerFuture, IntoReply, decode_body};
    pub use crate::status::Status;
}
