//! Running a node: wiring the transport, the router, the handlers and the
//! listeners a role needs.
//!
//! * a **proxy** opens its websocket port (and HTTP), holds client sessions
//!   and forwards their frames;
//! * a **route** relays messages between nodes that have no direct link and
//!   runs the handlers mapped to it;
//! * a **service** runs handlers and answers the session's proxy, directly
//!   when linked, else through a route.
//!
//! Every node opens its RPC port and dials its `remote_ports`.

mod groups;
mod http;
mod inbound;
mod proxy;
mod sessions;
mod shared;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

pub use self::groups::{HandlerGroups, UnknownGroup};
pub use self::http::{HttpRequest, HttpResponse, HttpRoutes};
use self::sessions::Sessions;
use self::shared::NodeShared;
use crate::config::NodeConfig;
use crate::handler::{AppState, Context, DuplicateEvent, EventTable, NodeApi};
use crate::proto::NodeType;
use crate::routing::{RouteTable, StateTable, TableError};
use crate::shutdown::Shutdown;
use crate::transport::{PeerLink, RpcEndpoint};

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Two handler tables serve the same command id.
    #[error(transparent)]
    DuplicateEvent(#[from] DuplicateEvent),
    /// The routing rules are inconsistent (overlapping ranges, …).
    #[error("invalid routing rules: {0}")]
    Routing(#[from] TableError),
    /// A handler group could not prepare the node (its settings are
    /// invalid, its store does not open, …); see [`NodeBuilder::fail`].
    #[error("node setup failed: {0}")]
    Setup(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A port could not be opened.
    #[error("cannot open the {what} port on {addr}: {source}")]
    Bind {
        /// Which listener.
        what: &'static str,
        /// The address.
        addr: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// Runs once the node has started; see [`NodeBuilder::on_start`].
type StartHook = Box<dyn FnOnce(Context, Shutdown) + Send>;

/// A node ready to start: config, handlers, state, HTTP routes.
pub struct NodeBuilder {
    config: NodeConfig,
    events: EventTable,
    duplicate: Option<DuplicateEvent>,
    setup_error: Option<Box<dyn std::error::Error + Send + Sync>>,
    on_start: Vec<StartHook>,
    state: AppState,
    http: HttpRoutes,
    rpc_listener: Option<TcpListener>,
    ws_listener: Option<TcpListener>,
    http_listener: Option<TcpListener>,
}

impl std::fmt::Debug for NodeBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeBuilder")
            .field("config", &self.config)
            .field("events", &self.events)
            .field("duplicate", &self.duplicate)
            .field("setup_error", &self.setup_error)
            .field("on_start", &self.on_start.len())
            .field("state", &self.state)
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

/// Entry point for running a node.
#[derive(Debug)]
pub struct Node;

impl Node {
    /// Starts describing a node from its (validated) config.
    pub fn builder(config: NodeConfig) -> NodeBuilder {
        NodeBuilder {
            config,
            events: EventTable::new(),
            duplicate: None,
            setup_error: None,
            on_start: Vec::new(),
            state: AppState::new(),
            http: HttpRoutes::new(),
            rpc_listener: None,
            ws_listener: None,
            http_listener: None,
        }
    }
}

impl NodeBuilder {
    /// The node's config, for handler groups that read their settings
    /// (`app.<name>`) while wiring the node.
    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    /// Records why the node cannot be prepared (a handler group's settings
    /// are invalid, its store does not open): [`NodeBuilder::start`] then
    /// fails with [`NodeError::Setup`] before opening any port. The first
    /// error recorded wins.
    pub fn fail(mut self, error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        self.setup_error.get_or_insert(error.into());
        self
    }

    /// Runs `hook` once the node is serving, with a session-less
    /// [`Context`] of the node (to push to clients, call other nodes and
    /// read shared state from outside a handler: background jobs, HTTP
    /// endpoints) and the node's [`Shutdown`] (to spawn tracked tasks).
    /// Hooks run in the order they were added, inside
    /// [`NodeBuilder::start`], so they must not block.
    pub fn on_start(mut self, hook: impl FnOnce(Context, Shutdown) + Send + 'static) -> Self {
        self.on_start.push(Box::new(hook));
        self
    }

    /// Adds a table of handlers (one per module, from `events![…]`). A
    /// command id served twice fails [`NodeBuilder::start`], naming both.
    pub fn events(mut self, table: EventTable) -> Self {
        let current = std::mem::take(&mut self.events);
        match current.clone().merge(table) {
            Ok(merged) => self.events = merged,
            Err(dup) => {
                self.events = current;
                self.duplicate.get_or_insert(dup);
            }
        }
        self
    }

    /// Shares `value` with every handler (`ctx.state::<T>()`).
    pub fn state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.state.insert(value);
        self
    }

    /// Adds user HTTP endpoints, served on `http.port`.
    pub fn http(mut self, routes: HttpRoutes) -> Self {
        self.http = self.http.merge(routes);
        self
    }

    /// Uses an already bound RPC listener (tests bind `127.0.0.1:0`; the
    /// config's `rpc.port` must name the bound port, since it is the node's
    /// identity).
    pub fn rpc_listener(mut self, listener: TcpListener) -> Self {
        self.rpc_listener = Some(listener);
        self
    }

    /// Uses an already bound websocket listener.
    pub fn websocket_listener(mut self, listener: TcpListener) -> Self {
        self.ws_listener = Some(listener);
        self
    }

    /// Uses an already bound HTTP listener.
    pub fn http_listener(mut self, listener: TcpListener) -> Self {
        self.http_listener = Some(listener);
        self
    }

    /// Opens the node's ports, dials its peers and starts serving. Tasks
    /// stop when `shutdown` triggers.
    ///
    /// # Errors
    /// [`NodeError::DuplicateEvent`] or [`NodeError::Bind`].
    pub async fn start(self, shutdown: &Shutdown) -> Result<RunningNode, NodeError> {
        if let Some(dup) = self.duplicate {
            return Err(dup.into());
        }
        if let Some(err) = self.setup_error {
            return Err(NodeError::Setup(err));
        }
        let config = Arc::new(self.config);
        let routes = RouteTable::new(config.role, &config.rpc.route)?;
        let stateless = match &config.websocket {
            Some(ws) => StateTable::new(&ws.no_state)?,
            None => StateTable::empty(),
        };
        let host = config.host.clone();
        let rpc_listener = bind(self.rpc_listener, &host, config.rpc.port, "rpc").await?;
        let ws_listener = match (&config.websocket, config.role) {
            (Some(ws), NodeType::Proxy) => Some(bind(self.ws_listener, &host, ws.port, "websocket").await?),
            _ => None,
        };
        let http_listener = match &config.http {
            Some(http) if http.port != 0 || self.http_listener.is_some() => {
                Some(bind(self.http_listener, &host, http.port, "http").await?)
            }
            _ => None,
        };

        let endpoint_config = config.endpoint_config();
        let inbound = Arc::new(inbound::NodeInbound::default());
        let endpoint = RpcEndpoint::with_handler(endpoint_config, shutdown, Arc::clone(&inbound) as _);
        let addrs = Addresses {
            rpc: rpc_listener.local_addr().ok(),
            websocket: ws_listener.as_ref().and_then(|l| l.local_addr().ok()),
            http: http_listener.as_ref().and_then(|l| l.local_addr().ok()),
        };
        let sessions = config
            .websocket
            .as_ref()
            .filter(|_| config.role == NodeType::Proxy)
            .map(|ws| Arc::new(Sessions::new(config.node_id(), ws.send_queue, ws.max_frame)));
        let shared = Arc::new(NodeShared::new(
            Arc::clone(&config),
            endpoint.clone(),
            routes,
            stateless,
            self.events,
            self.state,
            sessions,
            shutdown.clone(),
        ));
        // Bind before any link can come up, so no envelope finds it unset.
        inbound.bind(&shared);
        endpoint.serve(rpc_listener);
        let peers: Vec<PeerLink> =
            config.peer_specs().into_iter().map(|spec| endpoint.connect(spec)).collect();
        if let (Some(listener), Some(ws)) = (ws_listener, &config.websocket) {
            shutdown.spawn(proxy::accept_loop(Arc::clone(&shared), listener, ws.max_connections));
        }
        if let Some(listener) = http_listener {
            shutdown.spawn(http::serve(listener, self.http, shutdown.clone()));
        }
        tracing::info!(name = %config.name, id = %shared.id, role = ?config.role, rpc = ?addrs.rpc,
            websocket = ?addrs.websocket, http = ?addrs.http, handlers = shared.events.len(), "node started");
        for hook in self.on_start {
            hook(Context::new(Arc::clone(&shared) as Arc<dyn NodeApi>, None, 0), shutdown.clone());
        }
        Ok(RunningNode { shared, peers, addrs })
    }
}

async fn bind(
    given: Option<TcpListener>,
    host: &str,
    port: u16,
    what: &'static str,
) -> Result<TcpListener, NodeError> {
    if let Some(listener) = given {
        return Ok(listener);
    }
    TcpListener::bind((host, port)).await.map_err(|source| NodeError::Bind {
        what,
        addr: format!("{host}:{port}"),
        source,
    })
}

/// The addresses a running node listens on.
#[derive(Debug, Clone, Copy)]
pub struct Addresses {
    /// RPC listener.
    pub rpc: Option<SocketAddr>,
    /// Websocket listener (proxies).
    pub websocket: Option<SocketAddr>,
    /// HTTP listener.
    pub http: Option<SocketAddr>,
}

/// A started node.
pub struct RunningNode {
    shared: Arc<NodeShared>,
    peers: Vec<PeerLink>,
    addrs: Addresses,
}

impl std::fmt::Debug for RunningNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningNode")
            .field("id", &self.shared.id)
            .field("addrs", &self.addrs)
            .finish_non_exhaustive()
    }
}

impl RunningNode {
    /// The node's id.
    pub fn id(&self) -> &crate::NodeId {
        &self.shared.id
    }

    /// Where it listens.
    pub fn addresses(&self) -> Addresses {
        self.addrs
    }

    /// Its RPC endpoint (links, stats).
    pub fn endpoint(&self) -> &RpcEndpoint {
        &self.shared.endpoint
    }

    /// Its outbound peer links.
    pub fn peers(&self) -> &[PeerLink] {
        &self.peers
    }

    /// Connected clients (proxies; 0 elsewhere).
    pub fn sessions(&self) -> usize {
        self.shared.sessions.as_ref().map_or(0, |s| s.len())
    }
}
