//! The span every line a node logs is written in: `node{node=<name>}`.
//!
//! [`NodeBuilder::start`](super::NodeBuilder::start) runs in it, and
//! [`Shutdown::spawn`](crate::Shutdown::spawn) carries the current span into
//! each task, so every task of a node (listeners, links, connections,
//! handlers) logs inside it. Several nodes in one process (`espoir up`,
//! tests) are told apart by it, and the command line's log routes each
//! node's lines by it to that node's level and file.

use tracing::Span;

/// Target of the node span, which a log filter matches with its name.
pub(crate) const NODE_SPAN_TARGET: &str = "espoir::node";
/// Name of the node span, and of its one field (the node's name).
pub(crate) const NODE_SPAN_NAME: &str = "node";

/// A span named after the node, for work done on its behalf.
pub(crate) fn node_span(name: &str) -> Span {
    tracing::info_span!(target: NODE_SPAN_TARGET, NODE_SPAN_NAME, node = %name)
}

/// Whether `meta` is the node span's.
#[cfg(feature = "cli")]
pub(crate) fn is_node_span(meta: &tracing::Metadata<'_>) -> bool {
    meta.is_span() && meta.name() == NODE_SPAN_NAME && meta.target() == NODE_SPAN_TARGET
}
