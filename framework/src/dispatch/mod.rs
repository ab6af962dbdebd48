//! Envelopes between nodes: what a node does with one that reaches it
//! (run the local handler, relay it, answer it) and the ledger of the
//! requests it relayed.
//!
//! * `inbound`: the transport's [`InboundHandler`](crate::InboundHandler)
//!   for a node: control frames, relays, pushes, local handler runs
//!   ([`run_handler`]).
//! * `ledger`: requests relayed here and not answered yet, failed at once
//!   when their next hop is lost.

mod inbound;
mod ledger;

pub(crate) use inbound::{NodeInbound, run_handler};
pub(crate) use ledger::RelayLedger;
