//! TODO room doc

pub(crate) mod cipher;
pub(crate) mod conn;
pub(crate) mod forward;
pub(crate) mod rates;
pub(crate) mod resume;
