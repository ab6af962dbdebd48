//! A betting cluster in-process on 127.0.0.1:0 (proxy, route, betting
//! service, laid out as `configs/local`). Its clients (the websocket
//! `Client`, the admin API's [`Admin`]) come from `espoir_testkit`.

use std::path::Path;

use espoir::{Node, NodeConfig, RunningNode, Shutdown};
use espoir_testkit::{Admin, WAIT, wait_until};
use tokio::net::TcpListener;

pub const TOKEN: &str = "espoir-test-cluster-token-00001";
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

async fn listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.unwrap()
}

fn port(l: &TcpListener) -> u16 {
    l.local_addr().unwrap().port()
}

fn remote(port: u16, node_type: &str) -> String {
    format!(r#"{{"host": "127.0.0.1", "port": {port}, "token": "{TOKEN}", "type": "{node_type}"}}"#)
}

fn load(text: &str) -> NodeConfig {
    NodeConfig::from_json5_str(text, Path::new("test.json5")).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

const ROUTE_RULES: &str =
    r#""route": {"range": {"service": [[100000, 100199]]}, "special": {"service": [999]}}"#;

pub struct Cluster {
    pub shutdown: Shutdown,
    pub proxy: RunningNode,
    pub route: RunningNode,
    pub service: RunningNode,
}

impl Cluster {
    /// Starts the three nodes; the service keeps its data at `data`.
    pub async fn start(data: &Path) -> Cluster {
        let (p_rpc, p_ws, r_rpc, s_rpc, s_http) =
            (listener().await, listener().await, listener().await, listener().await, listener().await);
        let fast = r#""reconnect_time": 0.05, "heartbeat_interval": 0.2, "dead_after": 3"#;
        // The proxy keeps the default `websocket.limits` (50 frames/s, burst
        // 100 per connection): no client here sends 100 frames in all, so
        // none is refused however fast the machine runs.
        let proxy = load(&format!(
            r#"{{"name": "proxy_t", "type": "proxy", "host": "127.0.0.1",
                "remote_ports": [{}, {}],
                "websocket": {{"port": {}, "offline_command": 999}},
                "rpc": {{"port": {}, "token": "{TOKEN}", {fast}, {ROUTE_RULES}}}}}"#,
            remote(port(&s_rpc), "service"),
            remote(port(&r_rpc), "route"),
            port(&p_ws),
            port(&p_rpc),
        ));
        let route = load(&format!(
            r#"{{"name": "route_t", "type": "route", "host": "127.0.0.1",
                "remote_ports": [{}, {}],
                "rpc": {{"port": {}, "token": "{TOKEN}", {fast}, {ROUTE_RULES}}}}}"#,
            remote(port(&p_rpc), "proxy"),
            remote(port(&s_rpc), "service"),
            port(&r_rpc),
        ));
        let service = load(&format!(
            r#"{{"name": "betting_t", "type": "service", "host": "127.0.0.1", "api_path": ["betting.service"],
                "http": {{"port": {}, "token": "{ADMIN_TOKEN}"}},
                "remote_ports": [{}],
                "rpc": {{"port": {}, "token": "{TOKEN}", {fast}, {ROUTE_RULES}}},
                "app": {{"betting": {{"path": {:?}, "worker_id": 2, "signup_bonus": 1000, "payout_batch": 2}}}}}}"#,
            port(&s_http),
            remote(port(&r_rpc), "route"),
            port(&s_rpc),
            data.display().to_string(),
        ));
        let shutdown = Shutdown::new();
        let service = betting::service(Node::builder(service))
            .rpc_listener(s_rpc)
            .http_listener(s_http)
            .start(&shutdown)
            .await
            .expect("the betting service starts");
        let route = Node::builder(route).rpc_listener(r_rpc).start(&shutdown).await.unwrap();
        let proxy =
            Node::builder(proxy).rpc_listener(p_rpc).websocket_listener(p_ws).start(&shutdown).await.unwrap();
        let cluster = Cluster { shutdown, proxy, route, service };
        wait_until("the cluster links up", async || {
            cluster.proxy.endpoint().link(cluster.service.id()).is_some()
                && cluster.route.endpoint().link(cluster.service.id()).is_some()
        })
        .await;
        cluster
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.proxy.addresses().websocket.unwrap())
    }

    pub fn admin(&self) -> Admin {
        Admin::new(self.service.addresses().http.unwrap().to_string(), ADMIN_TOKEN)
    }

    pub async fn stop(self) {
        assert!(self.shutdown.finish(WAIT).await, "the cluster stops within the grace period");
    }
}
