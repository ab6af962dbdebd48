//! The two text formats `/metrics` speaks, chosen from the scraper's
//! `Accept` header, and the rewrite of one into the other. Pure: no I/O.
//!
//! The registry writes OpenMetrics 1.0: a counter family is typed under its
//! bare name (`# TYPE espoir_client_connections counter`) while its sample
//! is `espoir_client_connections_total`, an info family's sample ends in
//! `_info`, and the text ends with `# EOF`. Prometheus text 0.0.4 names a
//! family by its samples' name, has no `info` type (a gauge of 1) and no
//! `# EOF` or `# UNIT` lines; a 0.0.4 parser given OpenMetrics text loses
//! the counters' types. So the format follows the content type announced.

/// A text format of the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exposition {
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
    /// `text/plain; version=0.0.4`, the classic Prometheus text.
    Prometheus,
}

impl Exposition {
    /// The format an `Accept` header prefers: OpenMetrics when it asks for
    /// it at least as strongly as for anything else (Prometheus 2.5+
    /// does), else Prometheus text, which is also the answer to no header.
    pub(crate) fn negotiate(accept: Option<&str>) -> Exposition {
        let (mut openmetrics, mut other) = (0.0_f32, 0.0_f32);
        for range in accept.unwrap_or("").split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or("").to_ascii_lowercase();
            let mut q = 1.0_f32;
            let mut version_ok = true;
            for param in parts {
                let Some((key, value)) = param.split_once('=') else { continue };
                match key.trim().to_ascii_lowercase().as_str() {
                    "q" => q = value.trim().parse().unwrap_or(0.0),
                    // 0.0.1 is the draft 1.0.0 became; both parse our text.
                    "version" => version_ok = matches!(value.trim(), "1.0.0" | "0.0.1"),
                    _ => {}
                }
            }
            match media.as_str() {
                "application/openmetrics-text" if version_ok => openmetrics = openmetrics.max(q),
                "text/plain" | "text/*" | "*/*" => other = other.max(q),
                _ => {}
            }
        }
        if openmetrics > 0.0 && openmetrics >= other {
            Exposition::OpenMetrics
        } else {
            Exposition::Prometheus
        }
    }

    /// The `Content-Type` of the format.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Exposition::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Exposition::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
        }
    }
}

/// Rewrites OpenMetrics text as Prometheus text 0.0.4: counter families
/// renamed to their `_total` samples, `info` families to gauges named
/// `…_info`, `unknown` to `untyped`, `# UNIT`, `# EOF` and `_created`
/// samples dropped. Helps carry no escapes (the registry writes them
/// as given, and ours have none).
pub(crate) fn to_prometheus_text(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    // The HELP line comes before the TYPE that says how to rename it.
    let mut help: Option<(&str, &str)> = None;
    // Sample names that belong to no 0.0.4 family: `{family}_created`.
    let mut created: Option<String> = None;
    for line in openmetrics.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            help = Some(rest.split_once(' ').unwrap_or((rest, "")));
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "untyped"));
            let (renamed, kind) = match kind {
                "counter" => (format!("{name}_total"), "counter"),
                "info" => (format!("{name}_info"), "gauge"),
                "unknown" => (name.to_owned(), "untyped"),
                other => (name.to_owned(), other),
            };
            if let Some((help_name, text)) = help.take()
                && help_name == name
            {
                out.push_str(&format!("# HELP {renamed} {text}\n"));
            }
            out.push_str(&format!("# TYPE {renamed} {kind}\n"));
            created = Some(format!("{name}_created"));
            continue;
        }
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let sample_name = line.split(['{', ' ']).next().unwrap_or("");
        if created.as_deref() == Some(sample_name) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers_choose_the_format() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Exposition::negotiate(Some(prometheus)), Exposition::OpenMetrics);
        assert_eq!(Exposition::negotiate(Some("application/openmetrics-text")), Exposition::OpenMetrics);
        assert_eq!(Exposition::negotiate(None), Exposition::Prometheus);
        assert_eq!(Exposition::negotiate(Some("*/*")), Exposition::Prometheus);
        assert_eq!(Exposition::negotiate(Some("text/plain;version=0.0.4")), Exposition::Prometheus);
        let prefers_text = "text/plain;q=1,application/openmetrics-text;q=0.5";
        assert_eq!(Exposition::negotiate(Some(prefers_text)), Exposition::Prometheus);
        let future = "application/openmetrics-text;version=2.0.0";
        assert_eq!(Exposition::negotiate(Some(future)), Exposition::Prometheus);
        assert_eq!(Exposition::negotiate(Some("application/openmetrics-text;q=0")), Exposition::Prometheus);
    }

    #[test]
    fn openmetrics_becomes_prometheus_text() {
        let om = "# HELP espoir_client_connections Client sessions opened.\n\
                  # TYPE espoir_client_connections counter\n\
                  espoir_client_connections_total 3\n\
                  espoir_client_connections_created 1700000000.0\n\
                  # HELP espoir_build Build.\n\
                  # TYPE espoir_build info\n\
                  espoir_build_info{version=\"0.1.0\"} 1\n\
                  # HELP espoir_x_seconds Time.\n\
                  # TYPE espoir_x_seconds histogram\n\
                  # UNIT espoir_x_seconds seconds\n\
                  espoir_x_seconds_sum 0.5\n\
                  espoir_x_seconds_count 1\n\
                  espoir_x_seconds_bucket{le=\"+Inf\"} 1\n\
                  # EOF\n";
        let text = to_prometheus_text(om);
        assert_eq!(
            text,
            "# HELP espoir_client_connections_total Client sessions opened.\n\
             # TYPE espoir_client_connections_total counter\n\
             espoir_client_connections_total 3\n\
             # HELP espoir_build_info Build.\n\
             # TYPE espoir_build_info gauge\n\
             espoir_build_info{version=\"0.1.0\"} 1\n\
             # HELP espoir_x_seconds Time.\n\
             # TYPE espoir_x_seconds histogram\n\
             espoir_x_seconds_sum 0.5\n\
             espoir_x_seconds_count 1\n\
             espoir_x_seconds_bucket{le=\"+Inf\"} 1\n"
        );
    }
}
