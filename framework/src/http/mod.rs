//! A node's HTTP port: a small server for the application's routes and the
//! admin endpoints, static files and CORS.
//!
//! * `server`: [`HttpRoutes`], [`HttpRequest`], [`HttpResponse`] and the
//!   hyper server loop.
//! * `admin`: the admin endpoints (`/update_remote_rpc_config`, `/drain`,
//!   `/ready`, `/metrics`, `/members`, …) behind the bearer token.
//! * `kick`: `POST /sessions/kick`.
//! * `static_files`: a directory served read-only; `cors`: allowed origins.

mod admin;
mod cors;
mod kick;
mod server;
mod static_files;

pub(crate) use admin::{PATHS as ADMIN_PATHS, routes as admin_routes};
pub(crate) use cors::Cors;
pub(crate) use kick::routes as kick_routes;
pub(crate) use server::{HttpExtras, serve};
pub use server::{HttpRequest, HttpResponse, HttpRoutes};
pub(crate) use static_files::StaticFiles;
