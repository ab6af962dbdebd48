//! Assembling a node: [`Node::builder`], the [`NodeBuilder`] and its
//! `start`, which opens the ports a role needs and wires the rooms.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tracing::Instrument as _;

use super::running::{Addresses, RunningNode};
use super::state::{NodeParts, NodeState};
use crate::config::NodeConfig;
use crate::dispatch::Handlers;
use crate::gateway::accept_loop;
use crate::handler::{AppState, Context, DuplicateEvent, EventTable, NodeApi};
use crate::http::HttpRoutes;
use crate::proto::NodeType;
use crate::reload::{ConfigSource, FileSource};
use crate::routing::{RouteTable, StateTable, TableError};
use crate::session::SessionStats;
use crate::sessions::Sessions;
use crate::shutdown::Shutdown;
use crate::tls::ServerTls;
use crate::topic::TopicStats;
use crate::trace::NodeTracer;
use crate::transport::RpcEndpoint;

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
    /// The `tls` pair cannot be served (missing, unreadable, not PEM, not a pair).
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
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
    pub(super) state: AppState,
    http: HttpRoutes,
    rpc_listener: Option<TcpListener>,
    ws_listener: Option<TcpListener>,
    http_listener: Option<TcpListener>,
    source: Option<Arc<dyn ConfigSource>>,
    watch: Option<bool>,
    watch_interval: Duration,
    span_exporter: Option<crate::trace::AddExporter>,
    /// Job handlers by name, and the jobs declared in code (`jobs.rs`).
    pub(super) job_handlers: crate::jobs::JobHandlers,
    pub(super) jobs: Vec<crate::jobs::JobSpec>,
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
            source: None,
            watch: None,
            watch_interval: crate::reload::WATCH_INTERVAL,
            span_exporter: None,
            job_handlers: crate::jobs::JobHandlers::default(),
            jobs: Vec::new(),
        }
    }

    /// Starts describing a node from its config file, which reloads
    /// (`POST /update_remote_rpc_config`, `watch`) re-read.
    ///
    /// # Errors
    /// The file's [`ConfigError`](crate::ConfigError).
    pub fn from_file(path: impl Into<std::path::PathBuf>) -> Result<NodeBuilder, crate::ConfigError> {
        let source = FileSource::new(path);
        let config = NodeConfig::load(source.path())?;
        Ok(Node::builder(config).config_source(source))
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

    /// Where reloads re-read the config (a [`FileSource`], or another
    /// store). Without one, `/update_remote_rpc_config` answers 409.
    pub fn config_source(mut self, source: impl ConfigSource) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// Applies changes of the config source by itself, overriding the
    /// config's `watch` flag (`espoir up` turns it on).
    pub fn watch(mut self, on: bool) -> Self {
        self.watch = Some(on);
        self
    }

    /// How often a watched source is polled (default 500 ms).
    pub fn watch_interval(mut self, interval: Duration) -> Self {
        self.watch_interval = interval.max(Duration::from_millis(10));
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

    /// Records this node's spans (`docs/operations.md`, "Traces") and hands
    /// each to `exporter` as it ends, in place of `traces.otlp`. For tests
    /// (`opentelemetry_sdk`'s in-memory exporter) and exporters of one's
    /// own; `traces.sample_ratio` still applies when the section is there.
    pub fn span_exporter<E: opentelemetry_sdk::trace::SpanExporter + 'static>(mut self, exporter: E) -> Self {
        self.span_exporter = Some(Box::new(move |b| b.with_simple_exporter(exporter)));
        self
    }

    /// Opens the node's ports, dials its peers and starts serving. Tasks
    /// stop when `shutdown` triggers.
    ///
    /// # Errors
    /// [`NodeError::DuplicateEvent`] or [`NodeError::Bind`].
    pub async fn start(self, shutdown: &Shutdown) -> Result<RunningNode, NodeError> {
        // Every task of the node is spawned from here, inside its span, and
        // keeps it: each line the node logs names it.
        let span = super::node_span(&self.config.name);
        let mut node = self.start_in_span(shutdown).instrument(span.clone()).await?;
        node.span = span;
        Ok(node)
    }

    async fn start_in_span(self, shutdown: &Shutdown) -> Result<RunningNode, NodeError> {
        if let Some(dup) = self.duplicate {
            return Err(dup.into());
        }
        if let Some(err) = self.setup_error {
            return Err(NodeError::Setup(err));
        }
        crate::jobs::effective(&self.job_handlers, &self.jobs, &self.config)
            .map_err(|err| NodeError::Setup(err.into()))?;
        // The node's own scope: draining it stops it alone, while the
        // caller's `finish` still waits for its tasks.
        let shutdown = &shutdown.scope();
        let watch = self.watch.unwrap_or(self.config.watch);
        let config = Arc::new(self.config);
        let (tls, https) = ServerTls::for_node(config.tls.as_ref(), shutdown).await?;
        let http_extras = http_extras(&config, https)?;
        let tracer = NodeTracer::new(&config, self.span_exporter).map_err(|e| NodeError::Setup(e.into()))?;
        if let Some(provider) = tracer.provider() {
            // Spans still queued are exported when the node stops; the
            // exporter blocks, so off the async workers.
            let stop = shutdown.clone();
            shutdown.spawn(async move {
                stop.cancelled().await;
                let _ = tokio::task::spawn_blocking(move || NodeTracer::shutdown_provider(&provider)).await;
            });
        }
        let routes = RouteTable::new(config.role, &config.rpc.route)?;
        let stateless = match &config.websocket {
            Some(ws) => StateTable::new(&ws.no_state)?,
            None => StateTable::empty(),
        };
        let host = config.bind_host();
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

        let addrs = Addresses {
            rpc: rpc_listener.local_addr().ok(),
            websocket: ws_listener.as_ref().and_then(|l| l.local_addr().ok()),
            http: http_listener.as_ref().and_then(|l| l.local_addr().ok()),
        };
        let session_stats = Arc::new(SessionStats::default());
        let topic_stats = Arc::new(TopicStats::default());
        let sessions = config.websocket.as_ref().filter(|_| config.role == NodeType::Proxy).map(|ws| {
            let stats = Arc::clone(&session_stats);
            Arc::new(
                Sessions::new(config.node_id(), ws.send_queue, ws.max_frame, ws.sessions.clone(), stats)
                    .with_send_bytes(ws.limits.send_queue_bytes)
                    .with_topics(config.topics.clone(), Arc::clone(&topic_stats)),
            )
        });
        // The node's links and its metrics read the node back, weakly (a
        // stopped node is not kept alive by its registry or its links):
        // built in one step, so nothing is ever found unset.
        let shared = Arc::new_cyclic(|node| {
            let inbound = Arc::new(crate::dispatch::NodeInbound::new(node.clone()));
            let endpoint = RpcEndpoint::with_handler(config.endpoint_config(), shutdown, inbound);
            let handlers = Handlers::new(&config, self.events, self.state);
            let parts = NodeParts {
                config: Arc::clone(&config),
                endpoint,
                routes,
                stateless,
                handlers,
                sessions,
                session_stats,
                topic_stats,
                shutdown: shutdown.clone(),
                source: self.source,
                tracer,
                jobs: (self.job_handlers, self.jobs),
            };
            NodeState::new(node, parts)
        });
        let endpoint = shared.router.endpoint.clone();
        endpoint.serve(rpc_listener);
        for peer in &config.remote_ports {
            shared.cluster.peers.configure(&endpoint, peer.peer_spec(&config.rpc), peer.node_type);
        }
        if let (Some(listener), Some(ws)) = (ws_listener, &config.websocket) {
            shutdown.spawn(accept_loop(Arc::clone(&shared), listener, ws.max_connections, tls));
        }
        if let Some(listener) = http_listener {
            for path in crate::http::ADMIN_PATHS.into_iter().filter(|p| self.http.contains(p)) {
                tracing::warn!(
                    path,
                    "an application HTTP route is shadowed by the admin endpoint of the same path"
                );
            }
            let routes = self
                .http
                .merge(crate::http::kick_routes(&shared))
                .merge(crate::http::console_routes(&shared))
                .merge(crate::http::jobs_routes(&shared))
                .merge(crate::http::admin_routes(&shared));
            shutdown.spawn(crate::http::serve(listener, routes, http_extras, shutdown.clone()));
        }
        if watch {
            crate::reload::spawn_watcher(&shared, self.watch_interval);
        }
        tracing::info!(name = %config.name, id = %shared.id(), role = ?config.role, rpc = ?addrs.rpc,
            websocket = ?addrs.websocket, http = ?addrs.http, handlers = shared.handlers.events.len(),
            lanes = shared.router.endpoint.lanes(), "node started");
        for warning in config.warnings() {
            tracing::warn!(name = %config.name, "{warning}");
        }
        for hook in self.on_start {
            hook(Context::new(Arc::clone(&shared) as Arc<dyn NodeApi>, None, 0), shutdown.clone());
        }
        shared.jobs.start(&config);
        Ok(RunningNode { shared, addrs, span: tracing::Span::none() })
    }
}

/// Static files, CORS and HTTPS of the HTTP port; a `static_dir` that is
/// not a directory stops the node before it opens a port.
fn http_extras(config: &NodeConfig, tls: Option<ServerTls>) -> Result<crate::http::HttpExtras, NodeError> {
    let Some(http) = &config.http else { return Ok(crate::http::HttpExtras::default()) };
    let static_files =
        match &http.static_dir {
            Some(dir) => Some(crate::http::StaticFiles::open(dir).map_err(|err| {
                NodeError::Setup(format!("http.static_dir {}: {err}", dir.display()).into())
            })?),
            None => None,
        };
    Ok(crate::http::HttpExtras { static_files, cors: crate::http::Cors::new(&http.cors_origins), tls })
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
