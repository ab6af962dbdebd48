//! Bounds on concurrent handler executions (`handlers.max_inflight` and
//! `handlers.per_command`).
//!
//! A request that finds its bound reached is refused at once with
//! [`Code::OVERLOADED`] (429, "busy") rather than queued: a queue in front
//! of a saturated handler only turns overload into timeouts for everyone,
//! while a fast refusal lets the client back off or the proxy try another
//! node. The bound holds for the whole run of the handler, deadline
//! included, through a guard the handler task owns.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

use crate::config::HandlerLimits;
use crate::handler::EventTable;
use crate::node::NodeState;
use crate::status::{Code, Status};

/// Which bound refused a request; the `limit` label of
/// `espoir_limit_refusals_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Busy {
    /// `handlers.max_inflight`.
    Node,
    /// `handlers.per_command`.
    Command,
}

/// The node's handler slots.
#[derive(Debug)]
pub(crate) struct Inflight {
    max: usize,
    node: Arc<Semaphore>,
    per_command: HashMap<i32, Arc<Semaphore>>,
}

/// A running handler's slots; dropping it frees them.
#[derive(Debug)]
pub(crate) struct InflightGuard {
    _node: OwnedSemaphorePermit,
    _command: Option<OwnedSemaphorePermit>,
}

impl Inflight {
    /// The config's bounds, and the bounds handlers declare
    /// (`#[register_event(ID, concurrency = N)]`) for the commands the
    /// config leaves unbounded: who runs the node has the last word.
    pub(crate) fn new(limits: &HandlerLimits, events: &EventTable) -> Inflight {
        let declared = events
            .ids()
            .into_iter()
            .filter_map(|id| Some((id, events.get(id)?.concurrency()?)))
            .filter(|(id, _)| !limits.per_command.contains_key(id));
        let configured = limits.per_command.iter().map(|(&id, &bound)| (id, bound));
        Inflight {
            max: limits.max_inflight,
            node: Arc::new(Semaphore::new(limits.max_inflight)),
            per_command: configured
                .chain(declared)
                .map(|(command, bound)| (command, Arc::new(Semaphore::new(bound))))
                .collect(),
        }
    }

    /// Slots for one run of `command`'s handler.
    ///
    /// # Errors
    /// Which bound is reached, when one is.
    pub(crate) fn try_enter(&self, command: i32) -> Result<InflightGuard, Busy> {
        // The narrower bound first, so a hot command refused by its own
        // bound does not even briefly take a node-wide slot.
        let command_permit = match self.per_command.get(&command) {
            Some(sem) => Some(Arc::clone(sem).try_acquire_owned().map_err(|_| Busy::Command)?),
            None => None,
        };
        match Arc::clone(&self.node).try_acquire_owned() {
            Ok(node) => Ok(InflightGuard { _node: node, _command: command_permit }),
            // The semaphore is never closed, so every error means "no
            // permit left".
            Err(TryAcquireError::NoPermits | TryAcquireError::Closed) => Err(Busy::Node),
        }
    }

    /// Handlers running now.
    pub(crate) fn running(&self) -> usize {
        self.max.saturating_sub(self.node.available_permits())
    }
}

/// Slots for one request to `command`'s handler, counting a refusal.
///
/// # Errors
/// The 429 status to answer with when a bound is reached.
pub(crate) fn admit(shared: &NodeState, command: i32) -> Result<InflightGuard, Status> {
    shared.handlers.inflight.try_enter(command).map_err(|busy| {
        shared.metrics.limit_hit(busy.label());
        tracing::debug!(command, limit = busy.label(), "request refused: handler bound reached");
        busy.status(command)
    })
}

impl Busy {
    /// The label of the bound.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Busy::Node => "handlers_max_inflight",
            Busy::Command => "handlers_per_command",
        }
    }

    /// What the caller is told.
    pub(crate) fn status(self, command: i32) -> Status {
        let which = match self {
            Busy::Node => "this node runs as many handlers as handlers.max_inflight allows",
            Busy::Command => {
                "this command runs as many times at once as its bound allows \
                 (handlers.per_command, or the handler's declared concurrency)"
            }
        };
        Status::new(Code::OVERLOADED, format!("busy: command {command} refused: {which}; retry later"))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn the_node_and_command_bounds_hold_and_free_on_drop() {
        let limits = HandlerLimits { max_inflight: 3, per_command: BTreeMap::from([(7, 1)]) };
        let inflight = Inflight::new(&limits, &EventTable::new());
        let seven = inflight.try_enter(7).unwrap();
        assert_eq!(inflight.try_enter(7).unwrap_err(), Busy::Command);
        let a = inflight.try_enter(1).unwrap();
        let _b = inflight.try_enter(2).unwrap();
        assert_eq!(inflight.running(), 3);
        assert_eq!(inflight.try_enter(1).unwrap_err(), Busy::Node);
        drop(seven);
        let c = inflight.try_enter(1).expect("seven's node slot came back");
        assert_eq!(inflight.running(), 3);
        drop((a, c));
        assert_eq!(inflight.running(), 1);
        let _seven = inflight.try_enter(7).expect("seven's own slot came back");
        let status = Busy::Node.status(5);
        assert_eq!(status.code(), Code::OVERLOADED);
        assert!(status.message().starts_with("busy"), "{status}");
    }
}
