//! Envelopes between nodes: what a node does with one that reaches it
//! (run the local handler, relay it, answer it) and the ledger of the
//! requests it relayed.
//!
//! * `inbound`: the transport's [`InboundHandler`](crate::wire::InboundHandler)
//!   for a node: control frames, relays, pushes, local handler runs
//!   ([`run_handler`]).
//! * `ledger`: requests relayed here and not answered yet, failed at once
//!   when their next hop is lost.
//! * `router`: [`Router`], the routing tables a reload swaps, the links to
//!   use, and the envelopes this node originates.
//! * `handlers`: the handlers a node runs and their bounds.
//! * `reply`: the one home of how an outcome travels in a response
//!   envelope, and of how a failed send reads as a status.

mod handlers;
mod inbound;
mod ledger;
mod reply;
mod router;

pub(crate) use handlers::Handlers;
pub(crate) use inbound::{NodeInbound, run_handler};
pub(crate) use reply::{NO_REPLY, decode as decode_reply};
pub(crate) use router::{AppliedConfig, Router};
