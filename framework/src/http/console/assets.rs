//! The console's page, script and style sheet, compiled into the binary.

use bytes::Bytes;

use crate::http::server::{HttpRequest, HttpResponse, HttpRoutes};

/// Path, content type and body of each file.
const FILES: [(&str, &str, &str); 4] = [
    ("/console", "text/html; charset=utf-8", include_str!("assets/index.html")),
    ("/console/", "text/html; charset=utf-8", include_str!("assets/index.html")),
    ("/console/console.js", "text/javascript; charset=utf-8", include_str!("assets/console.js")),
    ("/console/console.css", "text/css; charset=utf-8", include_str!("assets/console.css")),
];

/// Routes serving [`FILES`]; open, as they carry no data.
pub(super) fn routes() -> HttpRoutes {
    let mut routes = HttpRoutes::new();
    for (path, content_type, body) in FILES {
        routes = routes.route(path, move |req: HttpRequest| async move { file(&req, content_type, body) });
    }
    routes
}

fn file(req: &HttpRequest, content_type: &str, body: &'static str) -> HttpResponse {
    if req.method != "GET" && req.method != "HEAD" {
        return HttpResponse::error(405, "use GET");
    }
    HttpResponse {
        status: 200,
        content_type: content_type.to_owned(),
        body: Bytes::from_static(body.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_only_its_own_files() {
        let page = FILES[0].2;
        // Everything the page loads is served here: no CDN, no inline script.
        for needed in ["/console/console.js", "/console/console.css"] {
            assert!(page.contains(needed), "{needed}");
            assert!(FILES.iter().any(|(path, _, _)| *path == needed));
        }
        assert!(!page.contains("http://") && !page.contains("https://") && !page.contains("<script>"));
        // The token travels in a header, never in a URL.
        let script = FILES[2].2;
        assert!(script.contains("Authorization: `Bearer ${token()}`"));
        assert!(!script.contains("token=") && !script.contains("?token"));
    }
}
