//! Pure routing decisions: which node type handles a command id
//! ([`RouteTable`]), which commands need no session affinity
//! ([`StateTable`]), and the policy for the next hop.
//!
//! * `table`: the lookup tables, from config.
//! * `lanes`: which of the parallel links to a peer a message takes
//!   ([`Lane`], [`LaneKey`]).
//! * `policy`: the order in which a node tries pins, balanced nodes and
//!   routes (`next_hops`), and which refusals are retried on another node.
//!
//! No I/O and no async: the node turns these decisions into links.

mod lanes;
mod policy;
mod table;

pub use lanes::{Lane, LaneKey};
pub(crate) use policy::{Hop, next_hops, rendezvous, worth_another_node};
pub use table::{RangeRef, RouteTable, StateTable, TableError, Target};
pub(crate) use table::{route_conflicts, state_conflicts};
