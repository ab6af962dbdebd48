//! TODO room doc

pub(crate) mod admin;
pub(crate) mod cors;
pub(crate) mod kick;
pub(crate) mod server;
pub(crate) mod static_files;
