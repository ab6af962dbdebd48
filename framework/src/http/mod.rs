//! A node's HTTP port: a small server for the application's routes and the
//! admin endpoints, static files and CORS.
//!
//! * `server`: [`HttpRoutes`], [`HttpRequest`], [`HttpResponse`] and the
//!   hyper server loop.
//! * `admin`: the open probes (`/health`, `/ready`) and the admin endpoints
//!   (`/update_remote_rpc_config`, `/drain`, `/metrics`, `/nodes`, …)
//!   behind the bearer token.
//! * `kick`: `POST /sessions/kick`.
//! * `console`: the operations console page and its JSON snapshot.
//! * `publish`: `POST /publish`, topic messages from outside the cluster.
//! * `jobs`: `GET /jobs`, recurring jobs and the route's claim ledger.
//! * `static_files`: a directory served read-only; `cors`: allowed origins.

mod admin;
mod console;
mod cors;
mod jobs;
mod kick;
mod publish;
mod server;
mod static_files;

pub(crate) use admin::{PATHS as ADMIN_PATHS, routes as admin_routes};
pub(crate) use console::routes as console_routes;
pub(crate) use cors::Cors;
pub(crate) use jobs::routes as jobs_routes;
pub(crate) use kick::routes as kick_routes;
pub(crate) use server::{HttpExtras, serve};
pub use server::{HttpRequest, HttpResponse, HttpRoutes};
pub(crate) use static_files::StaticFiles;
