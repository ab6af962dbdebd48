//! TODO room doc

pub(crate) mod inflight;
pub(crate) mod per_ip;
pub(crate) mod rates;
pub(crate) mod send_budget;
