//! TODO room doc

pub(crate) mod apply;
pub(crate) mod diff;
pub(crate) mod watch;
