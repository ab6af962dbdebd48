//! What one client or one request may cost a node (`docs/config.md#limits`).
//!
//! * `rates`: per-connection message and byte rates, as pure state
//!   ([`ConnLimiter`], [`Admit`]).
//! * `per_ip`: client connections per source address.
//! * `send_budget`: bytes of pushes queued per client and per proxy.
//! * `inflight`: concurrent handler runs (`handlers.max_inflight`,
//!   `handlers.per_command`), on every role.

mod inflight;
mod per_ip;
mod rates;
mod send_budget;

pub(crate) use inflight::{Inflight, admit};
pub(crate) use per_ip::{IpGuard, IpLimiter};
pub(crate) use rates::{Admit, ConnLimiter};
pub(crate) use send_budget::SendBudget;
