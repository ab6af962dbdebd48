//! JSON log lines for log shippers: tracing-subscriber's JSON object with
//! the line's node as a top-level `node` key, so a shipper can index it
//! without digging into the span list.
//!
//! ```json
//! {"node":"proxy_1","timestamp":"2026-12-04T19:51:14.123456Z","level":"INFO",
//!  "fields":{"message":"node started","id":"5d1c…"},"target":"espoir::node::builder",
//!  "spans":[{"name":"node","node":"proxy_1"}]}
//! ```

use std::fmt;

use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{Format, Json, JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use super::filter::node_of;

/// Formats an event as one JSON object, `node` first.
pub(super) struct NodeJson {
    inner: Format<Json>,
}

impl NodeJson {
    pub(super) fn new() -> NodeJson {
        // The span list names the node too; the current span alone would
        // repeat its innermost entry.
        NodeJson {
            inner: tracing_subscriber::fmt::format().json().with_current_span(false).with_span_list(true),
        }
    }

    /// The field formatter the span list needs (spans' fields as JSON).
    pub(super) fn fields() -> JsonFields {
        JsonFields::new()
    }
}

impl<S, N> FormatEvent<S, N> for NodeJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = String::new();
        self.inner.format_event(ctx, Writer::new(&mut line), event)?;
        let node = node_of(ctx.parent_span());
        match (node, line.strip_prefix('{')) {
            (Some(node), Some(rest)) => {
                let name = serde_json::to_string(&*node).map_err(|_| fmt::Error)?;
                write!(writer, "{{\"node\":{name},{rest}")
            }
            _ => writer.write_str(&line),
        }
    }
}
