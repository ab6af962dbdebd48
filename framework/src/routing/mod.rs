//! Pure routing decisions, from config: which node type handles a command
//! id ([`RouteTable`]) and which commands need no session affinity
//! ([`StateTable`]).
//!
//! No I/O and no async. Explicit destinations (`to`), hop limits, session
//! stickiness and picking an instance belong to the router that uses these
//! tables.

mod table;

pub use table::{RangeRef, RouteTable, StateTable, TableError, Target};
pub(crate) use table::{route_conflicts, state_conflicts};
