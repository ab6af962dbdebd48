//! In-process clusters: [`Ports`] bound before a config names them, and
//! [`TestNode`], a node started on them with a shutdown the test owns.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use espoir::{EventTable, Node, NodeBuilder, NodeConfig, NodeId, RunningNode, Shutdown};
use tokio::net::TcpListener;

use crate::wait::wait_until;

/// Listeners bound on 127.0.0.1 before the config is written, so it can
/// name real ports and no other process can take them meanwhile.
#[derive(Debug)]
pub struct Ports {
    /// The node-to-node RPC listener.
    pub rpc: TcpListener,
    /// The client websocket listener (used by proxies only).
    pub ws: TcpListener,
    /// The HTTP (admin) listener.
    pub http: TcpListener,
}

impl Ports {
    /// Three fresh ports.
    pub async fn bind() -> Ports {
        Ports { rpc: listener(0).await, ws: listener(0).await, http: listener(0).await }
    }

    /// Fresh websocket and HTTP ports and the given RPC port, to restart a
    /// node at the same address; retried while the OS still holds the port.
    ///
    /// # Panics
    /// When the port is still taken after [`WAIT`](crate::WAIT).
    pub async fn at(rpc: u16) -> Ports {
        let mut bound = None;
        wait_until(&format!("port {rpc} can be bound again"), async || {
            bound = TcpListener::bind(("127.0.0.1", rpc)).await.ok();
            bound.is_some()
        })
        .await;
        Ports { rpc: bound.expect("bound above"), ws: listener(0).await, http: listener(0).await }
    }

    /// The RPC port.
    pub fn rpc_port(&self) -> u16 {
        self.rpc.local_addr().expect("a bound listener").port()
    }

    /// The websocket port.
    pub fn ws_port(&self) -> u16 {
        self.ws.local_addr().expect("a bound listener").port()
    }

    /// The HTTP port.
    pub fn http_port(&self) -> u16 {
        self.http.local_addr().expect("a bound listener").port()
    }
}

async fn listener(port: u16) -> TcpListener {
    TcpListener::bind(("127.0.0.1", port)).await.expect("a loopback listener")
}

/// A node running in the test's process on pre-bound [`Ports`].
#[derive(Debug)]
pub struct TestNode {
    /// The running node.
    pub node: RunningNode,
    /// Its shutdown, owned by the test.
    pub shutdown: Shutdown,
}

impl TestNode {
    /// Starts a node from `config` with `events`.
    ///
    /// # Panics
    /// When the node does not start.
    pub async fn start(config: NodeConfig, ports: Ports, events: EventTable) -> TestNode {
        TestNode::start_with(config, ports, |b| b.events(events)).await
    }

    /// Starts a node from `config`, letting `wire` add events, state, HTTP
    /// routes or hooks to its builder.
    ///
    /// # Panics
    /// When the node does not start.
    pub async fn start_with(
        config: NodeConfig,
        ports: Ports,
        wire: impl FnOnce(NodeBuilder) -> NodeBuilder,
    ) -> TestNode {
        TestNode::start_builder(wire(Node::builder(config)), ports).await
    }

    /// Starts a node from a config file on disk (so it can be reloaded),
    /// letting `wire` complete its builder.
    ///
    /// # Panics
    /// When the file is invalid or the node does not start.
    pub async fn start_file(
        path: &Path,
        ports: Ports,
        wire: impl FnOnce(NodeBuilder) -> NodeBuilder,
    ) -> TestNode {
        TestNode::start_builder(wire(Node::from_file(path).expect("a valid config file")), ports).await
    }

    /// Starts a node from a builder made elsewhere (a config read from
    /// MongoDB, say) on `ports`.
    ///
    /// # Panics
    /// When the node does not start.
    pub async fn start_builder(builder: NodeBuilder, ports: Ports) -> TestNode {
        let shutdown = Shutdown::new();
        let node = builder
            .rpc_listener(ports.rpc)
            .websocket_listener(ports.ws)
            .http_listener(ports.http)
            .start(&shutdown)
            .await
            .expect("node starts");
        TestNode { node, shutdown }
    }

    /// The proxy's websocket URL.
    ///
    /// # Panics
    /// When the node has no websocket listener (it is not a proxy).
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.node.addresses().websocket.expect("a proxy"))
    }

    /// The RPC port.
    pub fn rpc_port(&self) -> u16 {
        self.node.addresses().rpc.expect("an rpc listener").port()
    }

    /// The HTTP (admin) address.
    pub fn http_addr(&self) -> SocketAddr {
        self.node.addresses().http.expect("an http listener")
    }

    /// Stops the node as a crash would look to its peers: links close.
    pub async fn stop(&self) {
        self.shutdown.finish(Duration::from_secs(2)).await;
    }

    /// Whether this node has a live link to `other`.
    pub fn linked(&self, other: &NodeId) -> bool {
        self.node.endpoint().link(other).is_some()
    }

    /// Waits until this node has a live link to `other`.
    ///
    /// # Panics
    /// After [`WAIT`](crate::WAIT).
    pub async fn wait_linked(&self, other: &TestNode) {
        let what = format!("{} links to {}", self.node.id(), other.node.id());
        wait_until(&what, async || self.linked(other.node.id())).await;
    }

    /// One series' value in the node's metrics; `series` includes labels as
    /// the exposition writes them (`espoir_limits_hit_total{limit="x"}`).
    /// 0 when the series does not exist yet.
    pub fn metric(&self, series: &str) -> f64 {
        self.node
            .metrics_text()
            .lines()
            .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
            .map_or(0.0, |v| v.trim().parse().unwrap_or(0.0))
    }

    /// The number of times `limit` acted on the node.
    pub fn limit_hits(&self, limit: &str) -> f64 {
        self.metric(&format!(r#"espoir_limits_hit_total{{limit="{limit}"}}"#))
    }
}
