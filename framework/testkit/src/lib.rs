//! The one test kit of espoir and its examples.
//!
//! Every test suite of the workspace (framework, betting, client, nodes)
//! takes its shared pieces from here, as a dev-dependency; what only one
//! suite needs stays with that suite and builds on these.
//!
//! # Layout
//!
//! - [`wait`]: [`WAIT`], the generous deadline, and [`wait_until`], the one
//!   way to wait for a condition.
//! - [`cluster`]: [`Ports`] bound before a config names them and
//!   [`TestNode`], an in-process node with its own shutdown.
//! - [`config`](mod@config): [`TOKEN`], [`TRAFFIC_LIMITS`], [`remote`]
//!   entries and config text for proxies, routes and services.
//! - [`handlers`]: handlers many cluster tests register (`whoami`,
//!   `push_me`, `slow`, `login`, …).
//! - [`client`]: the websocket test [`Client`], and [`RawWs`] for hostile
//!   clients.
//! - [`http`](mod@http): a minimal HTTP/1.1 client and the admin API ([`Admin`]).
//! - [`logs`]: [`Captured`], what nodes log during a test.
//! - [`mongo`]: [`Mongo`], a real, throwaway `mongod` replica set (feature
//!   `mongodb`, on by default).
//! - `browser` (feature `browser`): headless Chromium over WebDriver for
//!   tests of web pages.
//! - `net`: a multi-host test bed in network namespaces, with faults
//!   (feature `netns`).
//! - [`process`]: free ports for other processes' configs, log tails, and
//!   test dependencies provisioned by `.ci/run`.
//! - [`tls`]: [`TestCa`], certificates for `wss://` and HTTPS tests.
//!
//! # Waiting
//!
//! Tests never sleep a fixed time to let something happen, and never
//! assert that something did *not* happen within a fixed time: they poll
//! the event itself with [`wait_until`] (or read it with a [`Client`],
//! which waits at most [`WAIT`]), so a slow machine only makes them slower.

#[cfg(feature = "browser")]
pub mod browser;
pub mod client;
pub mod cluster;
pub mod config;
pub mod handlers;
pub mod http;
pub mod logs;
#[cfg(feature = "mongodb")]
pub mod mongo;
#[cfg(feature = "netns")]
pub mod net;
pub mod process;
pub mod tls;
pub mod wait;

pub use client::{Client, Ending, RawWs, code_of, header, json_of};
pub use cluster::{Ports, TestNode};
pub use config::{
    ROUTE_RULES, SERVICE_RULES, TOKEN, TRAFFIC_LIMITS, config, config_idle, config_text, local_proxy_config,
    local_proxy_config_ids, remote, temp_dir, write_config,
};
pub use http::{Admin, admin, http, http_json};
pub use logs::Captured;
#[cfg(feature = "mongodb")]
pub use mongo::{Mongo, Placement};
#[cfg(feature = "mongodb")]
pub use mongodb;
pub use process::{free_port, free_ports, test_dependency};
pub use tls::{Issued, TestCa};
pub use wait::{WAIT, wait_until};
