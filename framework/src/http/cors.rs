//! Cross-origin calls to the HTTP port (`http.cors_origins`): a page served
//! from one node (the admin page on the proxy) calling another node's
//! endpoints (the betting service's `/gm/*`).
//!
//! Only what such calls need: a preflight answer for `OPTIONS` (methods
//! `GET` and `POST`, headers `authorization` and `content-type`), and the
//! `access-control-allow-origin` header on answers. No credentials mode:
//! endpoints are guarded by bearer tokens the page sends itself, never by
//! cookies, so a foreign page gets nothing it could not ask for anyway.

/// How long browsers may cache a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE: u32 = 600;

/// The allowed origins of one HTTP port.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cors {
    origins: Vec<String>,
}

impl Cors {
    /// From `http.cors_origins` (validated: origins or `*`).
    pub(crate) fn new(origins: &[String]) -> Cors {
        Cors { origins: origins.to_vec() }
    }

    /// The `access-control-allow-origin` value for a request's `Origin`,
    /// when it is allowed.
    pub(crate) fn allow(&self, origin: Option<&str>) -> Option<String> {
        let origin = origin?;
        if self.origins.iter().any(|o| o == "*") {
            return Some("*".into());
        }
        self.origins.iter().any(|o| o.eq_ignore_ascii_case(origin)).then(|| origin.to_owned())
    }

    /// Headers for an answer to a request from `origin`: the allow header
    /// when allowed, and `vary: origin` whenever the answer depends on it.
    pub(crate) fn headers(&self, origin: Option<&str>) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(allowed) = self.allow(origin) {
            if allowed != "*" {
                out.push(("vary", "origin".to_owned()));
            }
            out.push(("access-control-allow-origin", allowed));
        }
        out
    }

    /// The answer to a preflight (`OPTIONS` with `Origin` and
    /// `Access-Control-Request-Method`), or `None` when the request is not
    /// one. A refused origin gets a 204 without allow headers, which the
    /// browser treats as a refusal.
    pub(crate) fn preflight(
        &self,
        method: &str,
        origin: Option<&str>,
        request_method: Option<&str>,
    ) -> Option<Vec<(&'static str, String)>> {
        if method != "OPTIONS" || origin.is_none() || request_method.is_none() || self.origins.is_empty() {
            return None;
        }
        let mut headers = self.headers(origin);
        if headers.iter().any(|(n, _)| *n == "access-control-allow-origin") {
            headers.push(("access-control-allow-methods", "GET, POST".to_owned()));
            headers.push(("access-control-allow-headers", "authorization, content-type".to_owned()));
            headers.push(("access-control-max-age", PREFLIGHT_MAX_AGE.to_string()));
        }
        Some(headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors(origins: &[&str]) -> Cors {
        Cors::new(&origins.iter().map(|o| (*o).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn listed_origins_are_echoed_and_others_get_nothing() {
        let c = cors(&["http://127.0.0.1:30001"]);
        assert_eq!(
            c.headers(Some("http://127.0.0.1:30001")),
            vec![("vary", "origin".into()), ("access-control-allow-origin", "http://127.0.0.1:30001".into())]
        );
        assert!(c.headers(Some("http://evil.example")).is_empty());
        assert!(c.headers(None).is_empty());
        assert_eq!(cors(&["*"]).allow(Some("http://anyone")), Some("*".into()));
        assert_eq!(cors(&[]).allow(Some("http://127.0.0.1:30001")), None);
    }

    #[test]
    fn preflights_allow_the_bearer_header_for_allowed_origins_only() {
        let c = cors(&["http://127.0.0.1:30001"]);
        let ok = c.preflight("OPTIONS", Some("http://127.0.0.1:30001"), Some("POST")).unwrap();
        assert!(ok.contains(&("access-control-allow-headers", "authorization, content-type".into())));
        assert!(ok.contains(&("access-control-allow-methods", "GET, POST".into())));
        let refused = c.preflight("OPTIONS", Some("http://evil.example"), Some("POST")).unwrap();
        assert!(refused.is_empty());
        // Not preflights: handled as ordinary requests.
        assert!(c.preflight("OPTIONS", None, Some("POST")).is_none());
        assert!(c.preflight("POST", Some("http://127.0.0.1:30001"), None).is_none());
        assert!(cors(&[]).preflight("OPTIONS", Some("http://127.0.0.1:30001"), Some("POST")).is_none());
    }
}
