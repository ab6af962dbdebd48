//! TODO room doc

pub(crate) mod inbound;
pub(crate) mod ledger;
