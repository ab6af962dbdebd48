//! Pure routing decisions: which node type handles a command id
//! ([`RouteTable`]), which commands need no session affinity
//! ([`StateTable`]), and the policy for the next hop.
//!
//! * `table`: the lookup tables, from config.
//! * `policy`: the order in which a node tries pins, balanced nodes and
//!   routes (`next_hops`), and which refusals are retried on another node.
//!
//! No I/O and no async: the node turns these decisions into links.

mod policy;
mod table;

pub(crate) use policy::{Hop, next_hops, rendezvous, worth_another_node};
pub use table::{RangeRef, RouteTable, StateTable, TableError, Target};
pub(crate) use table::{route_conflicts, state_conflicts};
