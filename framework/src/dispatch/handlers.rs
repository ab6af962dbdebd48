//! The handlers a node runs and what bounds their runs.

use std::time::Duration;

use crate::config::NodeConfig;
use crate::handler::{AppState, EventTable, RouteHints};
use crate::limits::Inflight;

/// This node's handlers, the state they share, and their bounds.
pub(crate) struct Handlers {
    pub(crate) events: EventTable,
    pub(crate) state: AppState,
    /// Bounds on concurrent handler runs (`handlers`).
    pub(crate) inflight: Inflight,
    /// `handler_timeout`.
    pub(crate) timeout: Duration,
    /// Commands that went astray here, hinted at in the log.
    pub(crate) hints: RouteHints,
}

impl Handlers {
    pub(crate) fn new(config: &NodeConfig, events: EventTable, state: AppState) -> Handlers {
        let inflight = Inflight::new(&config.handlers, &events);
        Handlers { events, state, inflight, timeout: config.handler_timeout, hints: RouteHints::default() }
    }
}
