//! TODO room doc

pub(crate) mod fanout;
pub(crate) mod groups;
pub(crate) mod login;
pub(crate) mod ops;
pub(crate) mod resume;
pub(crate) mod table;
