//! `traces`: distributed traces of client requests across nodes.
//! *Espoir extension*; absent, the node records no spans (a trace context
//! that arrives in an envelope still travels on unchanged). See
//! `docs/operations.md`, "Traces".

use std::time::Duration;

use serde::Deserialize;

use super::fields;

/// Where and how much a node traces (`traces`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TracesConfig {
    /// Share of the requests a proxy starts a trace for, from 0 to 1.
    /// Nodes further on follow the decision that arrives with the request,
    /// so a trace is whole or absent. Default 1 (every request): lower it
    /// on busy clusters.
    #[serde(default = "defaults::sample_ratio")]
    pub sample_ratio: f64,
    /// The `service.name` spans are exported under. Default: the node's
    /// `name`.
    #[serde(default)]
    pub service_name: Option<String>,
    /// Export spans over OTLP/HTTP (protobuf) to a collector. Needs the
    /// `otlp` cargo feature (on by default). Without it, spans go only to
    /// an exporter given to [`NodeBuilder::span_exporter`](crate::NodeBuilder::span_exporter).
    #[serde(default)]
    pub otlp: Option<OtlpConfig>,
}

/// An OTLP/HTTP collector (`traces.otlp`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpConfig {
    /// The collector's traces URL, e.g.
    /// `http://127.0.0.1:4318/v1/traces`.
    pub endpoint: String,
    /// Longest an export may take, in seconds. Default 10 s.
    #[serde(default = "defaults::timeout", deserialize_with = "fields::seconds")]
    pub timeout: Duration,
}

mod defaults {
    use std::time::Duration;

    pub(super) fn sample_ratio() -> f64 {
        1.0
    }

    pub(super) fn timeout() -> Duration {
        Duration::from_secs(10)
    }
}

impl TracesConfig {
    /// What is wrong with the section, as `(field, reason)`.
    pub(crate) fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if !(0.0..=1.0).contains(&self.sample_ratio) {
            out.push(("traces.sample_ratio", format!("{} is not between 0 and 1", self.sample_ratio)));
        }
        if self.service_name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            out.push(("traces.service_name", "must not be empty when given".to_owned()));
        }
        match &self.otlp {
            // Valid: an exporter given to the node's builder takes the
            // spans (the node warns at start when there is none).
            None => {}
            Some(otlp) => {
                let endpoint = otlp.endpoint.trim();
                let rest = endpoint.strip_prefix("http://").or_else(|| endpoint.strip_prefix("https://"));
                if rest.is_none_or(|r| r.is_empty() || r.starts_with('/')) {
                    out.push((
                        "traces.otlp.endpoint",
                        format!("{endpoint:?} is not an http:// or https:// URL with a host"),
                    ));
                }
                if otlp.timeout.is_zero() {
                    out.push(("traces.otlp.timeout", "must be more than 0 seconds".to_owned()));
                }
                if !cfg!(feature = "otlp") {
                    out.push((
                        "traces.otlp",
                        "this build has no OTLP exporter: build espoir with the `otlp` feature".to_owned(),
                    ));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> TracesConfig {
        serde_json5::from_str(text).unwrap()
    }

    #[test]
    fn defaults_sample_everything() {
        let c = parse(r#"{"otlp": {"endpoint": "http://127.0.0.1:4318/v1/traces"}}"#);
        assert_eq!(c.sample_ratio, 1.0);
        assert_eq!(c.otlp.as_ref().unwrap().timeout, Duration::from_secs(10));
        // Without the exporter compiled in, the endpoint is refused, saying so.
        let fields: Vec<_> = c.problems().into_iter().map(|(f, _)| f).collect();
        let expected: &[&str] = if cfg!(feature = "otlp") { &[] } else { &["traces.otlp"] };
        assert_eq!(fields, expected);
        assert!(parse("{}").problems().is_empty());
    }

    #[test]
    fn bad_ratios_endpoints_and_timeouts_are_named() {
        let c = parse(
            r#"{"sample_ratio": 1.5, "service_name": " ", "otlp": {"endpoint": "udp://x", "timeout": 0}}"#,
        );
        let fields: Vec<_> = c.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields[..4],
            ["traces.sample_ratio", "traces.service_name", "traces.otlp.endpoint", "traces.otlp.timeout"]
        );
        assert!(
            parse(r#"{"otlp": {"endpoint": "http:///v1"}}"#)
                .problems()
                .iter()
                .any(|(f, _)| *f == "traces.otlp.endpoint")
        );
        assert!(serde_json5::from_str::<TracesConfig>(r#"{"ratio": 1}"#).is_err());
    }
}
