//! TODO room doc

pub(crate) mod drain;
pub(crate) mod membership;
pub(crate) mod peers;
pub(crate) mod rules;
