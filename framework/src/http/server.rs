//! The node's HTTP port: user endpoints (obespoir's `HttpHandler`).
//!
//! Hyper stays out of the public API: handlers see [`HttpRequest`] and
//! return [`HttpResponse`], so a hyper upgrade never breaks applications.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::cors::Cors;
use super::static_files::{StaticFiles, StaticReply};
use crate::secure::Token;
use crate::shutdown::Shutdown;
use crate::tls::{ServerTls, accept_until};

/// Largest request body accepted: HTTP endpoints take small JSON bodies.
const MAX_BODY: usize = 1024 * 1024;

/// Deadline for reading a request's headers; stops idle or slow-loris peers
/// from holding connections.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// An HTTP request, as a handler sees it.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// Upper-case method (`GET`, `POST`, …).
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body (at most 1 MiB).
    pub body: Bytes,
}

impl HttpRequest {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Whether the request carries `Authorization: Bearer <token>`. The
    /// token is compared in constant time, so response timing does not
    /// reveal how much of a guess was right. The admin endpoints use this;
    /// applications use it to guard their own admin routes with
    /// `http.token`:
    ///
    /// ```
    /// # use espoir::{HttpRequest, HttpResponse, Token};
    /// fn guarded(req: &HttpRequest, token: &Token) -> HttpResponse {
    ///     if !req.bearer_matches(token) {
    ///         return HttpResponse::error(401, "missing or wrong bearer token");
    ///     }
    ///     HttpResponse::text("ok")
    /// }
    /// ```
    pub fn bearer_matches(&self, token: &Token) -> bool {
        use subtle::ConstantTimeEq;
        let Some(value) = self.header("authorization") else { return false };
        // The scheme is case-insensitive (RFC 9110 §11.1).
        let Some((scheme, presented)) = value.split_once(' ') else { return false };
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
            return false;
        }
        presented.trim().as_bytes().ct_eq(token.expose()).into()
    }
}

/// An HTTP response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// `Content-Type` header.
    pub content_type: String,
    /// Body.
    pub body: Bytes,
}

impl HttpResponse {
    /// `200` with a plain-text body (obespoir's handlers answer `text/html`).
    pub fn text(body: impl Into<String>) -> Self {
        HttpResponse {
            status: 200,
            content_type: "text/html; charset=utf-8".into(),
            body: Bytes::from(body.into()),
        }
    }

    /// `200` with a JSON body.
    pub fn json(value: &serde_json::Value) -> Self {
        HttpResponse::json_status(200, value)
    }

    /// A JSON body with any status.
    pub fn json_status(status: u16, value: &serde_json::Value) -> Self {
        HttpResponse {
            status,
            content_type: "application/json".into(),
            body: Bytes::from(serde_json::to_vec(value).unwrap_or_default()),
        }
    }

    /// An error status with a JSON `{"code", "msg"}` body.
    pub fn error(status: u16, msg: &str) -> Self {
        HttpResponse::json_status(status, &serde_json::json!({ "code": status, "msg": msg }))
    }
}

type RouteFn = Arc<dyn Fn(HttpRequest) -> BoxFuture<'static, HttpResponse> + Send + Sync>;

/// User HTTP endpoints by exact path, plus prefix routes for paths that
/// carry parameters (`/gm/matches/{id}/open`). Every method reaches the
/// handler, as in obespoir; a handler that cares checks
/// [`HttpRequest::method`].
#[derive(Clone, Default)]
pub struct HttpRoutes {
    routes: HashMap<String, RouteFn>,
    /// Prefix routes, consulted when no exact path matches; the longest
    /// matching prefix wins.
    prefixes: Vec<(String, RouteFn)>,
}

impl std::fmt::Debug for HttpRoutes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let prefixes = self.prefixes.iter().map(|(p, _)| format!("{p}*"));
        f.debug_set().entries(self.routes.keys().cloned().chain(prefixes)).finish()
    }
}

impl HttpRoutes {
    /// No routes.
    pub fn new() -> Self {
        HttpRoutes::default()
    }

    /// Serves `path` with `handler`, replacing an earlier handler of the path.
    pub fn route<F, Fut>(mut self, path: impl Into<String>, handler: F) -> Self
    where
        F: Fn(HttpRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HttpResponse> + Send + 'static,
    {
        self.routes.insert(path.into(), Arc::new(move |req| Box::pin(handler(req))));
        self
    }

    /// Serves every path that starts with `prefix` and has no exact route
    /// with `handler`, which reads the rest of [`HttpRequest::path`] itself.
    /// The longest matching prefix wins; a prefix added twice is replaced.
    pub fn prefix<F, Fut>(mut self, prefix: impl Into<String>, handler: F) -> Self
    where
        F: Fn(HttpRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HttpResponse> + Send + 'static,
    {
        let prefix = prefix.into();
        self.prefixes.retain(|(p, _)| *p != prefix);
        self.prefixes.push((prefix, Arc::new(move |req| Box::pin(handler(req)))));
        self
    }

    /// Adds every route of `other`.
    pub fn merge(mut self, other: HttpRoutes) -> Self {
        self.routes.extend(other.routes);
        for (prefix, route) in other.prefixes {
            self.prefixes.retain(|(p, _)| *p != prefix);
            self.prefixes.push((prefix, route));
        }
        self
    }

    /// Whether `path` has a handler.
    pub(crate) fn contains(&self, path: &str) -> bool {
        self.routes.contains_key(path)
    }

    /// True when there are no routes.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty() && self.prefixes.is_empty()
    }

    fn find(&self, path: &str) -> Option<&RouteFn> {
        self.routes.get(path).or_else(|| {
            self.prefixes
                .iter()
                .filter(|(p, _)| path.starts_with(p.as_str()))
                .max_by_key(|(p, _)| p.len())
                .map(|(_, r)| r)
        })
    }

    fn has_route(&self, path: &str) -> bool {
        self.find(path).is_some()
    }

    async fn handle(&self, req: HttpRequest) -> HttpResponse {
        match self.find(&req.path) {
            Some(route) => route(req).await,
            None => HttpResponse::error(404, "not found"),
        }
    }
}

/// What the HTTP port serves besides its routes.
#[derive(Debug, Clone, Default)]
pub(crate) struct HttpExtras {
    /// `http.static_dir`: files for paths no route claims.
    pub(crate) static_files: Option<StaticFiles>,
    /// `http.cors_origins`.
    pub(crate) cors: Cors,
    /// `tls` with `tls.http`: HTTPS.
    pub(crate) tls: Option<ServerTls>,
}

struct Served {
    routes: HttpRoutes,
    extras: HttpExtras,
}

/// Serves `routes` (then static files) on `listener` until shutdown.
pub(crate) async fn serve(listener: TcpListener, routes: HttpRoutes, extras: HttpExtras, shutdown: Shutdown) {
    let tls = extras.tls.clone();
    let routes = Arc::new(Served { routes, extras });
    loop {
        let (stream, addr) = tokio::select! {
            () = shutdown.cancelled() => return,
            r = listener.accept() => match r {
                Ok(conn) => conn,
                Err(err) => {
                    tracing::error!(error = %err, "http accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let routes = Arc::clone(&routes);
        let conn_shutdown = shutdown.clone();
        let tls = tls.clone();
        shutdown.spawn(async move {
            // The TLS handshake shares the header deadline: a peer that
            // opens a connection and sends nothing is dropped either way.
            let until = tokio::time::Instant::now() + HEADER_TIMEOUT;
            let stream = match accept_until(tls.as_ref().map(ServerTls::acceptor), stream, until).await {
                Ok(stream) => stream,
                Err(err) => return tracing::debug!(%addr, error = %err, "https connection refused"),
            };
            let service = service_fn(move |req| {
                let routes = Arc::clone(&routes);
                async move { Ok::<_, Infallible>(respond(&routes, req).await) }
            });
            let mut builder = http1::Builder::new();
            builder.timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT);
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => if let Err(err) = r {
                    tracing::debug!(%addr, error = %err, "http connection ended with an error");
                },
                () = conn_shutdown.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
}

async fn respond(served: &Served, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let header = |name: hyper::header::HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let origin = header(hyper::header::ORIGIN);
    let cors = &served.extras.cors;
    if let Some(headers) =
        cors.preflight(parts.method.as_str(), origin, header(hyper::header::ACCESS_CONTROL_REQUEST_METHOD))
    {
        return with_headers(
            into_hyper(HttpResponse::json_status(204, &serde_json::Value::Null)),
            headers,
            true,
        );
    }
    let path = parts.uri.path();
    if let Some(files) = &served.extras.static_files
        && !served.routes.has_route(path)
    {
        let reply = files.serve(parts.method.as_str(), path, header(hyper::header::IF_NONE_MATCH)).await;
        return static_reply(reply);
    }
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return into_hyper(HttpResponse::error(413, "request body too large or unreadable")),
    };
    let headers = parts
        .headers
        .iter()
        .filter_map(|(n, v)| v.to_str().ok().map(|v| (n.as_str().to_owned(), v.to_owned())))
        .collect();
    let request = HttpRequest {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers,
        body,
    };
    let cors_headers = cors.headers(origin);
    with_headers(into_hyper(served.routes.handle(request).await), cors_headers, false)
}

fn with_headers(
    mut resp: hyper::Response<Full<Bytes>>,
    headers: Vec<(&'static str, String)>,
    empty: bool,
) -> hyper::Response<Full<Bytes>> {
    if empty {
        *resp.body_mut() = Full::new(Bytes::new());
        resp.headers_mut().remove(hyper::header::CONTENT_TYPE);
    }
    for (name, value) in headers {
        if let Ok(value) = hyper::header::HeaderValue::from_str(&value) {
            resp.headers_mut().append(name, value);
        }
    }
    resp
}

fn static_reply(reply: StaticReply) -> hyper::Response<Full<Bytes>> {
    let mut out = hyper::Response::new(Full::new(reply.body));
    *out.status_mut() =
        hyper::StatusCode::from_u16(reply.status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    with_headers(out, reply.headers, false)
}

fn into_hyper(resp: HttpResponse) -> hyper::Response<Full<Bytes>> {
    let mut out = hyper::Response::new(Full::new(resp.body));
    *out.status_mut() =
        hyper::StatusCode::from_u16(resp.status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(value) = hyper::header::HeaderValue::from_str(&resp.content_type) {
        out.headers_mut().insert(hyper::header::CONTENT_TYPE, value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str) -> HttpRequest {
        HttpRequest {
            method: "GET".into(),
            path: path.into(),
            query: None,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    async fn body(routes: &HttpRoutes, path: &str) -> (u16, String) {
        let resp = routes.handle(request(path)).await;
        (resp.status, String::from_utf8_lossy(&resp.body).into_owned())
    }

    #[tokio::test]
    async fn exact_routes_beat_prefixes_and_the_longest_prefix_wins() {
        let routes = HttpRoutes::new()
            .route("/gm/matches", |_| async { HttpResponse::text("list") })
            .prefix("/gm/", |_| async { HttpResponse::text("gm") })
            .prefix("/gm/matches/", |req| async move { HttpResponse::text(req.path) });
        assert_eq!(body(&routes, "/gm/matches").await, (200, "list".into()));
        assert_eq!(body(&routes, "/gm/matches/7/open").await, (200, "/gm/matches/7/open".into()));
        assert_eq!(body(&routes, "/gm/users/a/credit").await, (200, "gm".into()));
        assert_eq!(body(&routes, "/other").await.0, 404);
    }

    #[tokio::test]
    async fn merging_keeps_prefix_routes() {
        let a = HttpRoutes::new().prefix("/a/", |_| async { HttpResponse::text("a") });
        let b = HttpRoutes::new().prefix("/a/", |_| async { HttpResponse::text("b") });
        let merged = a.merge(b);
        assert!(!merged.is_empty());
        assert_eq!(body(&merged, "/a/x").await, (200, "b".into()));
    }
}
