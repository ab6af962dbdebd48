//! Which lines a sink (stderr, or one node's file) takes: those of the
//! nodes routed to it, each at that node's level, found through the node
//! span (`node{node=…}`) the line was written in.
//!
//! The filter is per layer: one subscriber serves every node of the
//! process, and nothing about the nodes lives outside it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tracing::subscriber::Interest;
use tracing::{Level, Metadata, Subscriber, span};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Context, Filter};
use tracing_subscriber::registry::{LookupSpan, SpanRef};

use crate::node::is_node_span;

/// The node a span belongs to, kept in the node span's extensions.
#[derive(Debug, Clone)]
pub(super) struct NodeName(pub(super) Arc<str>);

/// The node of the innermost node span around `span`, if any.
pub(super) fn node_of<S>(span: Option<SpanRef<'_, S>>) -> Option<Arc<str>>
where
    S: for<'a> LookupSpan<'a>,
{
    span?.scope().find_map(|s| s.extensions().get::<NodeName>().map(|n| Arc::clone(&n.0)))
}

/// Reads the `node` field of a node span.
struct NameVisitor(Option<String>);

impl tracing::field::Visit for NameVisitor {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "node" {
            self.0 = Some(value.to_owned());
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "node" {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

/// The lines of one sink.
#[derive(Debug, Clone)]
pub(super) struct NodeFilter {
    /// The nodes this sink writes, each with its own verbosity.
    own: HashMap<Arc<str>, Targets>,
    /// Every node routed to some sink: their lines never fall to `rest`.
    routed: Arc<HashSet<Arc<str>>>,
    /// Lines of no node (the process's own), or of a node no sink was set
    /// up for; `None`: this sink takes none of them.
    rest: Option<Targets>,
    /// The most verbose level any of the above lets through.
    max: LevelFilter,
}

impl NodeFilter {
    pub(super) fn new(
        own: HashMap<Arc<str>, Targets>,
        routed: Arc<HashSet<Arc<str>>>,
        rest: Option<Targets>,
    ) -> NodeFilter {
        let max = own
            .values()
            .chain(rest.iter())
            .filter_map(Filter::<tracing_subscriber::Registry>::max_level_hint)
            .max()
            .unwrap_or(LevelFilter::OFF);
        NodeFilter { own, routed, rest, max }
    }

    /// What applies to a line of `node` (`None`: the process's own).
    fn targets(&self, node: Option<&str>) -> Option<&Targets> {
        match node {
            Some(node) => match self.own.get(node) {
                Some(targets) => Some(targets),
                None if self.routed.contains(node) => None,
                None => self.rest.as_ref(),
            },
            None => self.rest.as_ref(),
        }
    }

    fn passes(&self, node: Option<&str>, target: &str, level: &Level) -> bool {
        self.targets(node).is_some_and(|t| t.would_enable(target, level))
    }
}

impl<S> Filter<S> for NodeFilter
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn enabled(&self, meta: &Metadata<'_>, cx: &Context<'_, S>) -> bool {
        // Every sink keeps every node span: it is how the lines inside are
        // told apart.
        if is_node_span(meta) {
            return true;
        }
        let node = node_of(cx.lookup_current());
        self.passes(node.as_deref(), meta.target(), meta.level())
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        if is_node_span(meta) {
            Interest::always()
        } else if *meta.level() > self.max {
            // More verbose than anything this sink writes.
            Interest::never()
        } else {
            Interest::sometimes()
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(self.max.max(LevelFilter::INFO))
    }

    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, cx: Context<'_, S>) {
        if !is_node_span(attrs.metadata()) {
            return;
        }
        let Some(span) = cx.span(id) else { return };
        // Every sink sees the span; the first records the name.
        if span.extensions().get::<NodeName>().is_some() {
            return;
        }
        let mut visitor = NameVisitor(None);
        attrs.record(&mut visitor);
        if let Some(name) = visitor.0 {
            span.extensions_mut().insert(NodeName(Arc::from(name)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(l: Level) -> Targets {
        Targets::new().with_default(l)
    }

    #[test]
    fn lines_go_to_their_nodes_sink_at_its_level_and_the_rest_to_the_process_sink() {
        let routed: Arc<HashSet<Arc<str>>> = Arc::new(["a".into(), "b".into()].into_iter().collect());
        let a = NodeFilter::new([("a".into(), level(Level::DEBUG))].into(), Arc::clone(&routed), None);
        let stderr = NodeFilter::new(
            [("b".into(), level(Level::WARN))].into(),
            Arc::clone(&routed),
            Some(level(Level::INFO)),
        );
        assert!(a.passes(Some("a"), "espoir::x", &Level::DEBUG));
        assert!(!a.passes(Some("a"), "espoir::x", &Level::TRACE));
        assert!(!a.passes(Some("b"), "espoir::x", &Level::ERROR), "another node's line");
        assert!(!a.passes(None, "espoir::x", &Level::ERROR), "a file takes no process line");
        assert!(stderr.passes(Some("b"), "espoir::x", &Level::WARN));
        assert!(!stderr.passes(Some("b"), "espoir::x", &Level::INFO), "b is at warn");
        assert!(!stderr.passes(Some("a"), "espoir::x", &Level::ERROR), "a has its own file");
        assert!(stderr.passes(None, "espoir::x", &Level::INFO));
        assert!(stderr.passes(Some("unknown"), "espoir::x", &Level::INFO), "a node set up later");
        assert_eq!(Filter::<tracing_subscriber::Registry>::max_level_hint(&a), Some(LevelFilter::DEBUG));
    }
}
